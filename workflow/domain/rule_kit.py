"""What every form rule is made of: the context it may read, its shape, and the violation it yields.

A rule is a function (form, context) -> the violations it finds; `workflow.domain.form_rules.RULES` lists them
in the order a rejection reports them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date

from schemas.form import RegistrationForm
from schemas.messages import RuleViolation
from workflow.domain.catalogue import Catalogue


@dataclass(frozen=True)
class Context:
    """What a rule may know besides the form: the catalogue, the date (no clock call in a rule), and the
    seats the session's other registrations hold (no query in a rule)."""

    catalogue: Catalogue
    today: date
    seats_taken: Mapping[str, int] = field(default_factory=dict)


Rule = Callable[[RegistrationForm, Context], Iterator[RuleViolation]]


def violation(rule: str, field: str, fr: str, en: str) -> RuleViolation:
    return RuleViolation(rule=rule, field=field, message_fr=fr, message_en=en)


def blank(value: object) -> bool:
    """Missing, or only white space: a blank string counts as missing."""
    return value is None or (isinstance(value, str) and not value.strip())
