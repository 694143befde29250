"""The one error tree: every error Lisens raises carries a stable code and names the bad value."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar


class LisensError(Exception):
    """Base of every expected error. `code` is stable; `message` names the bad value."""

    default_code: ClassVar[str] = "LISENS_ERROR"

    def __init__(self, message: str, *, code: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.code: str = code or self.default_code
        self.message = message
        self.details: Mapping[str, Any] = details

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, **self.details}

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class NotFound(LisensError):
    """A name that should exist does not."""

    default_code = "NOT_FOUND"


class UnknownGeneration(NotFound):
    default_code = "UNKNOWN_GENERATION"


class UnknownLicense(NotFound):
    default_code = "UNKNOWN_LICENSE"


class UnknownPlan(NotFound):
    default_code = "UNKNOWN_PLAN"


class UnknownAddon(NotFound):
    default_code = "UNKNOWN_ADDON"


class InvalidInput(LisensError):
    """Well-formed request, ill-formed value."""

    default_code = "INVALID_INPUT"


class InvalidLicenseName(InvalidInput):
    default_code = "INVALID_LICENSE_NAME"


class InvalidCombination(InvalidInput):
    default_code = "INVALID_COMBINATION"


class ExtraInfoError(InvalidInput):
    """Malformed ExtraInfo text; the code says which rule it breaks."""

    default_code = "EXTRAINFO_INVALID"


class CatalogError(InvalidInput):
    """A catalog file that breaks the schema or a cross-reference."""

    default_code = "CATALOG_INVALID"


class UnknownTenant(NotFound):
    default_code = "UNKNOWN_TENANT"


class UnknownUser(NotFound):
    default_code = "UNKNOWN_USER"


class NotAssigned(NotFound):
    """Unassigning something the user does not hold directly."""

    default_code = "NOT_ASSIGNED"


class Conflict(LisensError):
    """The request clashes with the current state; nothing was changed."""

    default_code = "CONFLICT"


class AlreadyExists(Conflict):
    default_code = "ALREADY_EXISTS"


class SeatLimitReached(Conflict):
    default_code = "SEAT_LIMIT_REACHED"


class SeatsBelowInUse(Conflict):
    default_code = "SEATS_BELOW_IN_USE"


class PrerequisiteMissing(Conflict):
    default_code = "PREREQUISITE_MISSING"


class UserRetired(Conflict):
    default_code = "USER_RETIRED"


class NotAssignable(InvalidInput):
    """A license that cannot be assigned by hand: hidden, a system license, a plan license, wrong user type."""

    default_code = "NOT_ASSIGNABLE"


class ChangeBeforeHistory(Conflict):
    """A change dated before what the log already holds: it cannot be recorded exactly, so it is refused."""

    default_code = "CHANGE_BEFORE_HISTORY"


class AuditLogTampered(Conflict):
    """The log no longer chains: an entry was edited, deleted or reordered outside Lisens."""

    default_code = "AUDIT_LOG_TAMPERED"


class TimeNotAllowed(LisensError):
    """Only the vendor may give the time of a change (an audited correction); the server's clock decides."""

    default_code = "TIME_NOT_ALLOWED"


class Busy(LisensError):
    """A bounded wait ran out (a lock held by a long change, no free database connection): retry later.

    `retry_after` (seconds) is sent as the `Retry-After` header at the HTTP edge.
    """

    default_code = "DATABASE_BUSY"
