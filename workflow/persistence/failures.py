"""What a database error means for the message in hand: wait, check for a concurrent twin, or try again.

The consumers' policy (`consumers.policy.classify`) asks this module, so that SQLAlchemy's exception
classes stay in the persistence layer. No database error is permanent by itself: a message that keeps
failing on one is retried, then parked once its attempts are spent.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError


class DatabaseFailure(StrEnum):
    UNREACHABLE = "unreachable"  # connection refused, cut, or the server going away: wait for it
    CONFLICT = "conflict"  # a constraint refused the write: another replica may have handled the same message
    TRANSIENT = "transient"  # a lost optimistic lock, a deadlock, any other driver error: try again


@dataclass(frozen=True)
class DatabaseTrouble:
    kind: DatabaseFailure
    reason: str  # for the retry header and the logs: "database: ...", "integrity: ...", "concurrent update: ..."
    detail: str  # the driver's first line, for a log line while waiting


def database_failure(error: BaseException) -> DatabaseTrouble | None:
    """The kind of database failure `error` is, or None when it is not one."""
    if isinstance(error, OperationalError):  # before DBAPIError: it is one
        detail = (str(error.orig).splitlines() or [""])[0] if error.orig else str(error)
        return DatabaseTrouble(DatabaseFailure.UNREACHABLE, f"database: {error.orig}", detail)
    if isinstance(error, IntegrityError):
        return DatabaseTrouble(DatabaseFailure.CONFLICT, f"integrity: {error.orig}", str(error.orig))
    if isinstance(error, StaleDataError):
        return DatabaseTrouble(DatabaseFailure.TRANSIENT, f"concurrent update: {error}", str(error))
    if isinstance(error, DBAPIError):
        return DatabaseTrouble(DatabaseFailure.TRANSIENT, f"database: {error.orig}", str(error.orig))
    return None
