"""Every error the workflow raises on purpose, and whether trying again can help."""

from __future__ import annotations


class RegflowError(Exception):
    """Base of the project's errors. `permanent` errors are parked at once; the others are retried.
    `reason_fr` is what a person who sent a command reads when it is refused."""

    permanent = True
    reason_fr: str | None = None


class MalformedMessageError(RegflowError):
    """Not JSON, unknown type or version, or a payload that breaks its schema. `envelope` is set when the
    envelope itself was readable (a command with a bad payload still gets its decision)."""

    def __init__(self, message: str, *, envelope: object | None = None) -> None:
        super().__init__(message)
        self.envelope = envelope


class MessageConflictError(RegflowError):
    """A message id already handled, with another body: a different message reusing an id. Parked for a
    person to look at, never dropped as a duplicate."""


class InconsistentMessageError(RegflowError):
    """An event that the database does not confirm (not in the outbox, or naming what was never recorded):
    parked; a consumer acts on what the database says, not on what a message claims."""


class IllegalTransitionError(RegflowError):
    """The registration's current state does not allow this trigger."""

    def __init__(self, registration_id: str, state: str, trigger: str) -> None:
        super().__init__(f"registration {registration_id}: '{trigger}' is not allowed in state '{state}'")
        self.reason_fr = (f"L'inscription {registration_id} est dans l'état « {state} » : « {trigger} » n'y est "
                          "pas permis.")
        self.registration_id = registration_id
        self.state = state
        self.trigger = trigger


class GuardRefusedError(RegflowError):
    """The transition exists but a domain rule forbids it now (the reason says which)."""

    def __init__(self, registration_id: str, trigger: str, reason: str, *, fr: str | None = None) -> None:
        super().__init__(f"registration {registration_id}: '{trigger}' refused: {reason}")
        self.registration_id = registration_id
        self.trigger = trigger
        self.reason = reason
        self.reason_fr = fr or f"Demande refusée ({trigger}) : {reason}"


class SessionRefusedError(GuardRefusedError):
    """A session command a rule forbids (unknown session, already held, not yet started...)."""

    def __init__(self, session_id: str, trigger: str, reason: str, *, fr: str | None = None) -> None:
        super().__init__(session_id, trigger, reason, fr=fr or f"Session {session_id} : demande refusée ({trigger}) : "
                                                                 f"{reason}")
        self.args = (f"session {session_id}: '{trigger}' refused: {reason}",)


class UnknownRegistrationError(RegflowError):
    """A command names a registration that does not exist (yet): it may be in flight, so retry; on its last
    attempt it is refused (a decision, not a dead letter)."""

    permanent = False

    def __init__(self, registration_id: str, trigger: str) -> None:
        super().__init__(f"registration {registration_id}: '{trigger}' refused: no such registration")
        self.reason_fr = f"Aucune inscription {registration_id} : demande « {trigger} » refusée."
        self.registration_id = registration_id
        self.trigger = trigger


class DependencyNotReadyError(RegflowError):
    """An event arrived before the one it depends on (e.g. an invoice for a registration in flight)."""

    permanent = False


class ConcurrentUpdateError(RegflowError):
    """Another process changed the same registration first (optimistic versioning): retry."""

    permanent = False


class InvoiceRulesError(RegflowError):
    """An invoice or credit note built breaks an EN 16931 business rule (`workflow.adapters.en16931`): it is not
    issued, the message is parked, and the rules broken are named for the developer who fixes the builder."""

    def __init__(self, number: str, rules: list[str]) -> None:
        super().__init__(f"document {number} breaks the EN 16931 rules {', '.join(rules)}: not issued")
        self.reason_fr = (f"Le document {number} enfreint les règles EN 16931 {', '.join(rules)} : il n'est pas "
                          "émis.")
        self.number = number
        self.rules = rules


class InterestClaimError(RegflowError, ValueError):
    """Finance asked for something a late-interest claim does not allow (unknown, closed, a reason missing):
    told in French then English (the command line prints it, exit 2; the back office flashes it)."""

    def __init__(self, message: str, *, fr: str) -> None:
        super().__init__(f"{fr} / {message}")
        self.reason_fr, self.reason_en = fr, message


class StatementFileError(RegflowError):
    """A bank statement refused as a whole (not XML, a DTD, another namespace, the schema broken, too large, no
    column of a mandatory field): nothing of it is recorded. `problems` lists the first details (with line
    numbers) for a person, in French and English like the reason."""

    def __init__(self, fr: str, en: str, problems: list[str] | None = None) -> None:
        super().__init__(en)
        self.reason_fr = fr
        self.fr = fr
        self.en = en
        self.problems = problems or []

    def bilingual(self) -> str:
        return "\n".join([f"{self.fr} / {self.en}", *(f"  {p}" for p in self.problems)])


class PlatformUnavailableError(RegflowError):
    """The e-invoicing platform did not answer in time, or answered 5xx / 429: retried, then parked. Nothing was
    recorded as sent."""

    permanent = False


class PlatformRefusedError(RegflowError):
    """The e-invoicing platform refused a request on its merits (its `codeRetour` and `libelle`): trying again
    sends the same thing and gets the same answer, so it is parked with the platform's words kept."""

    def __init__(self, operation: str, code: str, label: str) -> None:
        super().__init__(f"the platform refused {operation}: {code} {label}"[:500])
        self.reason_fr = f"La plateforme a refusé « {operation} » : {code} {label}"[:500]
        self.operation = operation
        self.code = code
        self.label = label
