"""Every error the workflow raises on purpose, and whether trying again can help."""

from __future__ import annotations


class RegflowError(Exception):
    """Base of the project's errors. `permanent` errors are parked at once; the others are retried."""

    permanent = True


class MalformedMessageError(RegflowError):
    """Not JSON, unknown type or version, or a payload that breaks its schema."""


class IllegalTransitionError(RegflowError):
    """The registration's current state does not allow this trigger."""

    def __init__(self, registration_id: str, state: str, trigger: str) -> None:
        super().__init__(f"registration {registration_id}: '{trigger}' is not allowed in state '{state}'")
        self.registration_id = registration_id
        self.state = state
        self.trigger = trigger


class GuardRefusedError(RegflowError):
    """The transition exists but a domain rule forbids it now (the reason says which)."""

    def __init__(self, registration_id: str, trigger: str, reason: str) -> None:
        super().__init__(f"registration {registration_id}: '{trigger}' refused: {reason}")
        self.registration_id = registration_id
        self.trigger = trigger
        self.reason = reason


class UnknownRegistrationError(RegflowError):
    """A command names a registration that does not exist (yet): it may be in flight, so retry."""

    permanent = False


class DependencyNotReadyError(RegflowError):
    """An event arrived before the one it depends on (e.g. an invoice for a registration in flight)."""

    permanent = False


class ConcurrentUpdateError(RegflowError):
    """Another process changed the same registration first (optimistic versioning): retry."""

    permanent = False
