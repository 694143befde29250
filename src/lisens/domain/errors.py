"""The one error registry: every code Lisens answers with, each with its HTTP status, and the one error tree.

`Code` lists every error code (a `StrEnum`: a member equals its string, so `error.code == "UNKNOWN_USER"`
holds); `Code.X.status` is the HTTP status the edge answers it with. `Reason` lists the reason codes of
a decision ("does U hold L, and why"). A raise names its code from here (`code=Code.X`, or a class's
`default_code`); tests/domain/test_errors.py refuses a code written as a bare string, and checks that
docs/api.md lists every code with its status.

The tree (every class here; the modules that raise them re-export them under their old names):

    LisensError                      LISENS_ERROR; a code given at the raise decides the status
    +-- NotFound                     NOT_FOUND
    |   +-- UnknownGeneration        UNKNOWN_GENERATION
    |   +-- UnknownLicense           UNKNOWN_LICENSE
    |   +-- UnknownPlan              UNKNOWN_PLAN
    |   +-- UnknownAddon             UNKNOWN_ADDON
    |   +-- UnknownTenant            UNKNOWN_TENANT
    |   +-- UnknownUser              UNKNOWN_USER
    |   +-- NotAssigned              NOT_ASSIGNED
    +-- InvalidInput                 INVALID_INPUT
    |   +-- InvalidLicenseName       INVALID_LICENSE_NAME
    |   +-- InvalidCombination       INVALID_COMBINATION
    |   +-- ExtraInfoError           EXTRAINFO_INVALID, EXTRAINFO_*
    |   +-- CatalogError             CATALOG_INVALID, CATALOG_*
    |   +-- NotAssignable            NOT_ASSIGNABLE, LICENSE_HIDDEN, USER_TYPE_NOT_ALLOWED, ...
    |   +-- InvalidText              INVALID_TEXT        (request bodies and queries)
    |   +-- InvalidNumber            INVALID_NUMBER
    |   +-- JsonTooDeep              JSON_TOO_DEEP
    |   +-- BatchTooLarge            BATCH_TOO_LARGE     (service/users.py: batch checks)
    +-- Conflict                     CONFLICT
    |   +-- AlreadyExists            ALREADY_EXISTS, TENANT_EXISTS, USER_EXISTS, ...
    |   +-- SeatLimitReached         SEAT_LIMIT_REACHED
    |   +-- SeatsBelowInUse          SEATS_BELOW_IN_USE
    |   +-- PrerequisiteMissing      PREREQUISITE_MISSING
    |   +-- UserRetired              USER_RETIRED
    |   +-- ChangeBeforeHistory      CHANGE_BEFORE_HISTORY
    |   +-- AuditLogTampered         AUDIT_LOG_TAMPERED
    |   +-- PlanLimitReached         PLAN_LIMIT_REACHED  (service/fencing.py: CRM Suite plan limits)
    |   +-- VersionNotReached        VERSION_NOT_REACHED (a read's `min_version` is ahead of the tenant)
    +-- TimeNotAllowed               TIME_NOT_ALLOWED
    +-- Busy                         DATABASE_BUSY, TENANT_BUSY
    +-- DatabaseUnavailable          DATABASE_UNAVAILABLE, DATABASE_ERROR, DATABASE_MISSING, SCHEMA_OUT_OF_DATE
    +-- BulkFailed                   BULK_ASSIGN_FAILED  (service/bulk.py)
    +-- ApiError                     UNAUTHENTICATED, FORBIDDEN, ...  (api/problems.py: the HTTP edge itself)
    +-- TooManyFailedAuthentications TOO_MANY_FAILED_AUTHENTICATIONS  (api/security.py)
    +-- SignatureError               SIGNATURE_INVALID, SIGNATURE_*, KEY_MISMATCH  (signing.py)
    |   +-- PackageError             PACKAGE_INVALID, PACKAGE_*  (packages.py)
    +-- SnapshotError                SNAPSHOT_INVALID, SNAPSHOT_*  (offline.py)
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, ClassVar, cast


class Code(StrEnum):
    """Every error code, with the HTTP status it is answered with (`Code.SEAT_LIMIT_REACHED.status == 409`)."""

    status: int

    def __new__(cls, value: str, status: int) -> Code:
        member = str.__new__(cls, value)
        member._value_ = value
        member.status = status
        return member

    @classmethod
    def of(cls, text: str) -> Code | None:
        """The member spelled `text`, or None."""
        return cast("Code | None", cls._value2member_map_.get(text))

    ADDON_NOT_PRESENT = "ADDON_NOT_PRESENT", 404
    ADDON_REQUIRED = "ADDON_REQUIRED", 409
    ADDON_REQUIRES = "ADDON_REQUIRES", 409
    ALREADY_EXISTS = "ALREADY_EXISTS", 409
    AUDIT_LOG_TAMPERED = "AUDIT_LOG_TAMPERED", 409
    BATCH_TOO_LARGE = "BATCH_TOO_LARGE", 413
    BULK_ASSIGN_FAILED = "BULK_ASSIGN_FAILED", 409
    CATALOG_FILE_TOO_LARGE = "CATALOG_FILE_TOO_LARGE", 422
    CATALOG_INVALID = "CATALOG_INVALID", 422
    CATALOG_TOO_DEEP = "CATALOG_TOO_DEEP", 422
    CATALOG_VALUE_TOO_LONG = "CATALOG_VALUE_TOO_LONG", 422
    CHANGE_BEFORE_HISTORY = "CHANGE_BEFORE_HISTORY", 409
    CHANGE_IN_FUTURE = "CHANGE_IN_FUTURE", 422
    CONFLICT = "CONFLICT", 409
    DATABASE_BUSY = "DATABASE_BUSY", 503
    DATABASE_ERROR = "DATABASE_ERROR", 503
    DATABASE_MISSING = "DATABASE_MISSING", 503
    DATABASE_UNAVAILABLE = "DATABASE_UNAVAILABLE", 503
    EXTRAINFO_BAD_CHARACTER = "EXTRAINFO_BAD_CHARACTER", 422
    EXTRAINFO_DUPLICATE = "EXTRAINFO_DUPLICATE", 422
    EXTRAINFO_EMPTY = "EXTRAINFO_EMPTY", 422
    EXTRAINFO_EMPTY_ITEM = "EXTRAINFO_EMPTY_ITEM", 422
    EXTRAINFO_INVALID = "EXTRAINFO_INVALID", 422
    EXTRAINFO_MISSING_SET = "EXTRAINFO_MISSING_SET", 422
    EXTRAINFO_UNKNOWN_KEY = "EXTRAINFO_UNKNOWN_KEY", 422
    EXTRAINFO_UNKNOWN_LICENSE = "EXTRAINFO_UNKNOWN_LICENSE", 422
    FORBIDDEN = "FORBIDDEN", 403
    HTTP_ERROR = "HTTP_ERROR", 400
    IDEMPOTENCY_KEY_IN_USE = "IDEMPOTENCY_KEY_IN_USE", 409
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED", 422
    INTERNAL_ERROR = "INTERNAL_ERROR", 500
    INVALID_BILLING_PERIOD = "INVALID_BILLING_PERIOD", 422
    INVALID_COMBINATION = "INVALID_COMBINATION", 422
    INVALID_CSV = "INVALID_CSV", 422
    INVALID_DATABASE_URL = "INVALID_DATABASE_URL", 422
    INVALID_FILE = "INVALID_FILE", 422
    INVALID_INPUT = "INVALID_INPUT", 422
    INVALID_KEY = "INVALID_KEY", 422
    INVALID_LICENSE_NAME = "INVALID_LICENSE_NAME", 422
    INVALID_LICENSE_TYPE = "INVALID_LICENSE_TYPE", 422
    INVALID_NAME = "INVALID_NAME", 422
    INVALID_NUMBER = "INVALID_NUMBER", 422
    INVALID_OWNER = "INVALID_OWNER", 422
    INVALID_REQUEST = "INVALID_REQUEST", 422
    INVALID_ROLE = "INVALID_ROLE", 422
    INVALID_TAG = "INVALID_TAG", 422
    INVALID_TEXT = "INVALID_TEXT", 422
    INVALID_TIME = "INVALID_TIME", 422
    INVALID_TTL = "INVALID_TTL", 422
    INVALID_UPGRADE = "INVALID_UPGRADE", 422
    INVALID_USER_TYPE = "INVALID_USER_TYPE", 422
    INVALID_VALUE = "INVALID_VALUE", 422
    INVALID_WEBHOOK = "INVALID_WEBHOOK", 422
    JSON_TOO_DEEP = "JSON_TOO_DEEP", 422
    KEY_EXISTS = "KEY_EXISTS", 422
    KEY_MISMATCH = "KEY_MISMATCH", 422
    LICENSE_EXISTS = "LICENSE_EXISTS", 409
    LICENSE_HIDDEN = "LICENSE_HIDDEN", 422
    LICENSE_NOT_IN_TENANT = "LICENSE_NOT_IN_TENANT", 404
    LISENS_ERROR = "LISENS_ERROR", 400
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED", 405
    NOTHING_TO_ASSIGN = "NOTHING_TO_ASSIGN", 422
    NOT_ASSIGNABLE = "NOT_ASSIGNABLE", 422
    NOT_ASSIGNED = "NOT_ASSIGNED", 404
    NOT_A_SYSTEM_LICENSE = "NOT_A_SYSTEM_LICENSE", 422
    NOT_FOUND = "NOT_FOUND", 404
    NOT_IN_WAVE = "NOT_IN_WAVE", 404
    NOT_PENDING = "NOT_PENDING", 409
    NOT_SCHEDULABLE = "NOT_SCHEDULABLE", 422
    NOT_TENANT_PLAN = "NOT_TENANT_PLAN", 422
    NO_HISTORY = "NO_HISTORY", 404
    NO_MOVE = "NO_MOVE", 404
    NO_MOVE_MAPPING = "NO_MOVE_MAPPING", 422
    NO_TAG = "NO_TAG", 404
    NO_PRICE = "NO_PRICE", 422
    NO_PRICE_LIST = "NO_PRICE_LIST", 422
    NO_PUBLIC_KEY = "NO_PUBLIC_KEY", 503
    NO_RENEWAL = "NO_RENEWAL", 409
    NO_SIGNING_KEY = "NO_SIGNING_KEY", 503
    NO_SUBSCRIPTION = "NO_SUBSCRIPTION", 404
    NO_TENANT = "NO_TENANT", 403
    NO_TENANT_PLAN = "NO_TENANT_PLAN", 422
    NO_USER = "NO_USER", 403
    OWNER_EXISTS = "OWNER_EXISTS", 409
    PACKAGE_EXPIRED = "PACKAGE_EXPIRED", 422
    PACKAGE_INVALID = "PACKAGE_INVALID", 400
    PACKAGE_MALFORMED = "PACKAGE_MALFORMED", 422
    PACKAGE_NOT_YET_VALID = "PACKAGE_NOT_YET_VALID", 422
    PACKAGE_SUPERSEDED = "PACKAGE_SUPERSEDED", 409
    PACKAGE_WRONG_TENANT = "PACKAGE_WRONG_TENANT", 422
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE", 413
    PLAN_LICENSE_NOT_ASSIGNABLE = "PLAN_LICENSE_NOT_ASSIGNABLE", 422
    PLAN_LIMIT_REACHED = "PLAN_LIMIT_REACHED", 409
    PREREQUISITE_MISSING = "PREREQUISITE_MISSING", 409
    PRICES_NOT_FOR_TARGET = "PRICES_NOT_FOR_TARGET", 422
    SAME_GENERATION = "SAME_GENERATION", 422
    SCHEMA_OUT_OF_DATE = "SCHEMA_OUT_OF_DATE", 503
    SEATS_BELOW_IN_USE = "SEATS_BELOW_IN_USE", 409
    SEAT_LIMIT_REACHED = "SEAT_LIMIT_REACHED", 409
    SIGNATURE_ALGORITHM = "SIGNATURE_ALGORITHM", 422
    SIGNATURE_INVALID = "SIGNATURE_INVALID", 422
    SIGNATURE_MISSING = "SIGNATURE_MISSING", 422
    SNAPSHOT_EXPIRED = "SNAPSHOT_EXPIRED", 400
    SNAPSHOT_INVALID = "SNAPSHOT_INVALID", 400
    SNAPSHOT_MALFORMED = "SNAPSHOT_MALFORMED", 400
    SNAPSHOT_NOT_YET_VALID = "SNAPSHOT_NOT_YET_VALID", 400
    SNAPSHOT_SUPERSEDED = "SNAPSHOT_SUPERSEDED", 400
    SNAPSHOT_WRONG_TENANT = "SNAPSHOT_WRONG_TENANT", 400
    SUBSCRIPTION_ENDED = "SUBSCRIPTION_ENDED", 409
    SUBSCRIPTION_EXISTS = "SUBSCRIPTION_EXISTS", 409
    SUPERFLUOUS_LICENSES = "SUPERFLUOUS_LICENSES", 409
    SYSTEM_LICENSE_NOT_ASSIGNABLE = "SYSTEM_LICENSE_NOT_ASSIGNABLE", 422
    SYSTEM_LICENSE_NOT_PRESENT = "SYSTEM_LICENSE_NOT_PRESENT", 404
    TENANT_BUSY = "TENANT_BUSY", 409
    TENANT_EXISTS = "TENANT_EXISTS", 409
    TIME_NOT_ALLOWED = "TIME_NOT_ALLOWED", 403
    TOO_MANY_FAILED_AUTHENTICATIONS = "TOO_MANY_FAILED_AUTHENTICATIONS", 429
    UNAUTHENTICATED = "UNAUTHENTICATED", 401
    UNKNOWN_ADDON = "UNKNOWN_ADDON", 422
    UNKNOWN_GENERATION = "UNKNOWN_GENERATION", 422
    UNKNOWN_LICENSE = "UNKNOWN_LICENSE", 422
    UNKNOWN_METRIC = "UNKNOWN_METRIC", 422
    UNKNOWN_MOVE_PLAN = "UNKNOWN_MOVE_PLAN", 404
    UNKNOWN_OWNER = "UNKNOWN_OWNER", 404
    UNKNOWN_PLAN = "UNKNOWN_PLAN", 422
    UNKNOWN_PLAN_OR_LICENSE = "UNKNOWN_PLAN_OR_LICENSE", 422
    UNKNOWN_SCHEDULED_CHANGE = "UNKNOWN_SCHEDULED_CHANGE", 404
    UNKNOWN_TENANT = "UNKNOWN_TENANT", 404
    UNKNOWN_TOKEN = "UNKNOWN_TOKEN", 404
    UNKNOWN_USER = "UNKNOWN_USER", 404
    UNKNOWN_WAVE = "UNKNOWN_WAVE", 404
    UNKNOWN_WEBHOOK = "UNKNOWN_WEBHOOK", 404
    USER_EXISTS = "USER_EXISTS", 409
    USER_RETIRED = "USER_RETIRED", 409
    USER_TYPE_NOT_ALLOWED = "USER_TYPE_NOT_ALLOWED", 422
    VERSION_NOT_REACHED = "VERSION_NOT_REACHED", 409
    WAVE_CANCELLED = "WAVE_CANCELLED", 409
    WAVE_DATE_PASSED = "WAVE_DATE_PASSED", 422
    WAVE_EMPTY = "WAVE_EMPTY", 422
    WAVE_MOVE_SUPERSEDED = "WAVE_MOVE_SUPERSEDED", 409
    WAVE_NOT_PAUSED = "WAVE_NOT_PAUSED", 409
    WAVE_PAUSED = "WAVE_PAUSED", 409
    WAVE_TENANT_NOT_MOVED = "WAVE_TENANT_NOT_MOVED", 409


class Reason(StrEnum):
    """The reason code of a decision: why a user holds a license, or does not."""

    HELD = "HELD"  # the user holds it; `granted_by` says through what
    NOT_ASSIGNED = "NOT_ASSIGNED"  # a user license the user does not hold
    NOT_IN_TENANT = "NOT_IN_TENANT"  # a system or site license the tenant does not have
    UNKNOWN_LICENSE = "UNKNOWN_LICENSE"  # no such module license in the catalog
    UNKNOWN_USER = "UNKNOWN_USER"  # no such user in the tenant
    USER_RETIRED = "USER_RETIRED"  # the user is retired and holds nothing
    LICENSE_EXPIRED = "LICENSE_EXPIRED"  # after the grace date: nothing is held
    LICENSE_IN_GRACE = "LICENSE_IN_GRACE"  # after expiry, before grace: held, with this warning
    LICENSE_NOT_STARTED = "LICENSE_NOT_STARTED"  # before the subscription starts: nothing is held


class LisensError(Exception):
    """Base of every expected error. `code` is stable; `message` names the bad value."""

    default_code: ClassVar[Code] = Code.LISENS_ERROR

    def __init__(self, message: str, *, code: Code | None = None, **details: Any) -> None:
        super().__init__(message)
        self.code: Code = code or self.default_code
        self.message = message
        self.details: Mapping[str, Any] = details

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, **self.details}

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class NotFound(LisensError):
    """A name that should exist does not."""

    default_code = Code.NOT_FOUND


class UnknownGeneration(NotFound):
    default_code = Code.UNKNOWN_GENERATION


class UnknownLicense(NotFound):
    default_code = Code.UNKNOWN_LICENSE


class UnknownPlan(NotFound):
    default_code = Code.UNKNOWN_PLAN


class UnknownAddon(NotFound):
    default_code = Code.UNKNOWN_ADDON


class InvalidInput(LisensError):
    """Well-formed request, ill-formed value."""

    default_code = Code.INVALID_INPUT


class InvalidLicenseName(InvalidInput):
    default_code = Code.INVALID_LICENSE_NAME


class InvalidCombination(InvalidInput):
    default_code = Code.INVALID_COMBINATION


class ExtraInfoError(InvalidInput):
    """Malformed ExtraInfo text; the code says which rule it breaks."""

    default_code = Code.EXTRAINFO_INVALID


class CatalogError(InvalidInput):
    """A catalog file that breaks the schema or a cross-reference."""

    default_code = Code.CATALOG_INVALID


class UnknownTenant(NotFound):
    default_code = Code.UNKNOWN_TENANT


class UnknownUser(NotFound):
    default_code = Code.UNKNOWN_USER


class NotAssigned(NotFound):
    """Unassigning something the user does not hold directly."""

    default_code = Code.NOT_ASSIGNED


class Conflict(LisensError):
    """The request clashes with the current state; nothing was changed."""

    default_code = Code.CONFLICT


class AlreadyExists(Conflict):
    default_code = Code.ALREADY_EXISTS


class SeatLimitReached(Conflict):
    default_code = Code.SEAT_LIMIT_REACHED


class SeatsBelowInUse(Conflict):
    default_code = Code.SEATS_BELOW_IN_USE


class PrerequisiteMissing(Conflict):
    default_code = Code.PREREQUISITE_MISSING


class UserRetired(Conflict):
    default_code = Code.USER_RETIRED


class NotAssignable(InvalidInput):
    """A license that cannot be assigned by hand: hidden, a system license, a plan license, wrong user type."""

    default_code = Code.NOT_ASSIGNABLE


class ChangeBeforeHistory(Conflict):
    """A change dated before what the log already holds: it cannot be recorded exactly, so it is refused."""

    default_code = Code.CHANGE_BEFORE_HISTORY


class AuditLogTampered(Conflict):
    """The log no longer chains: an entry was edited, deleted or reordered outside Lisens."""

    default_code = Code.AUDIT_LOG_TAMPERED


class VersionNotReached(Conflict):
    """A read asked for a state at least `min_version` new, and the database read has not reached it.

    On a replica this means "not replayed yet" (the read is tried again, then on the primary); on the
    primary the tenant has no such version yet, and the read is refused.
    """

    default_code = Code.VERSION_NOT_REACHED

    def __init__(self, tenant: str, version: int, min_version: int) -> None:
        super().__init__(
            f"tenant {tenant!r} is at version {version}, not yet at min_version {min_version}",
            tenant=tenant,
            version=version,
            min_version=min_version,
        )
        self.version = version
        self.min_version = min_version


def require_version(tenant: str, version: int, min_version: int | None) -> None:
    """A read answers from a state at least `min_version` new, or not at all."""
    if min_version is not None and version < min_version:
        raise VersionNotReached(tenant, version, min_version)


class TimeNotAllowed(LisensError):
    """Only the vendor may give the time of a change (an audited correction); the server's clock decides."""

    default_code = Code.TIME_NOT_ALLOWED


class Busy(LisensError):
    """A bounded wait ran out (a lock held by a long change, no free database connection): retry later.

    `retry_after` (seconds) is sent as the `Retry-After` header at the HTTP edge.
    """

    default_code = Code.DATABASE_BUSY


class DatabaseUnavailable(LisensError):
    """The database cannot be reached, or failed in a way that is not the request's fault."""

    default_code = Code.DATABASE_UNAVAILABLE


class BulkFailed(LisensError):
    """Some rows failed and nothing was applied (the default, all-or-nothing)."""

    default_code = Code.BULK_ASSIGN_FAILED


class ApiError(LisensError):
    """An error raised by the HTTP edge itself (authentication, authorisation)."""


class TooManyFailedAuthentications(LisensError):
    default_code = Code.TOO_MANY_FAILED_AUTHENTICATIONS


class SignatureError(LisensError):
    """A signed document that does not verify; the code says why."""

    default_code = Code.SIGNATURE_INVALID


class PackageError(SignatureError):
    default_code = Code.PACKAGE_INVALID


class SnapshotError(LisensError):
    default_code = Code.SNAPSHOT_INVALID


class InvalidText(InvalidInput):
    default_code = Code.INVALID_TEXT


class InvalidNumber(InvalidInput):
    default_code = Code.INVALID_NUMBER


class JsonTooDeep(InvalidInput):
    default_code = Code.JSON_TOO_DEEP


class BatchTooLarge(InvalidInput):
    default_code = Code.BATCH_TOO_LARGE


class PlanLimitReached(Conflict):
    default_code = Code.PLAN_LIMIT_REACHED
