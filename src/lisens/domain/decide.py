"""The one decision: does user U hold license L at a moment, and why.

Every surface that answers the question (`lisens check`, the /v1 checks and user licenses, the
SuperOffice routes and agent methods, signed snapshots and what `lisens.offline` reads from them,
the panel's user card) asks `decide` or a `Decider`; none of them applies a rule of its own.

The rules, in the order they apply to each (user, license) pair:

1. an unknown user holds nothing: UNKNOWN_USER;
2. a retired user holds nothing: USER_RETIRED;
3. a name the catalog does not know is not held: UNKNOWN_LICENSE;
4. before the tenant's subscription starts nothing is held: LICENSE_NOT_STARTED;
   after its grace date nothing is held: LICENSE_EXPIRED;
5. otherwise the user's resolution decides: HELD, NOT_ASSIGNED or NOT_IN_TENANT, with what grants
   the license or would; between expiry and grace every such answer carries the warning
   LICENSE_IN_GRACE.

A tenant without a subscription has no term: rule 4 never applies and nothing warns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date

from lisens.domain.billing import Contract, LicenseDates, LicenseStatus, license_dates
from lisens.domain.engine import HELD, UNKNOWN_LICENSE, Decision, Resolution
from lisens.domain.errors import Reason
from lisens.domain.names import canonical

UNKNOWN_USER = Reason.UNKNOWN_USER
USER_RETIRED = Reason.USER_RETIRED
LICENSE_NOT_STARTED = Reason.LICENSE_NOT_STARTED
LICENSE_EXPIRED = Reason.LICENSE_EXPIRED
LICENSE_IN_GRACE = Reason.LICENSE_IN_GRACE

_BLOCKING = {LicenseStatus.NOT_STARTED: LICENSE_NOT_STARTED, LicenseStatus.EXPIRED: LICENSE_EXPIRED}


@dataclass(frozen=True, slots=True)
class Holder:
    """A user as the decision sees them: whether they are retired, and what they hold by assignment."""

    name: str
    retired: bool
    resolution: Resolution

    @property
    def kind(self) -> tuple[bool, str | None, frozenset[str]]:
        """Users of one kind (retired or not, plan, direct licenses) get the same decisions."""
        plan = self.resolution.plan
        return (self.retired, plan.key if plan else None, self.resolution.direct)


@dataclass(frozen=True, slots=True)
class Term:
    """The tenant's license dates at the moment asked about; `dates` is None without a subscription."""

    day: date
    dates: LicenseDates | None = None

    @property
    def blocking(self) -> str | None:
        """LICENSE_NOT_STARTED or LICENSE_EXPIRED when nothing is held at this moment, else None."""
        return _BLOCKING.get(self.dates.status) if self.dates else None

    @property
    def warning(self) -> str | None:
        """LICENSE_IN_GRACE between expiry and grace, else None."""
        return LICENSE_IN_GRACE if self.dates and self.dates.status is LicenseStatus.IN_GRACE else None


def term_at(contract: Contract | None, day: date) -> Term:
    """The term of a tenant with this subscription (or none) on `day`."""
    return Term(day, license_dates(contract, day) if contract is not None else None)


class Decider:
    """Decisions over one list of licenses at one moment, for any number of users.

    Users of the same kind share one tuple of decisions, and a license a user lacks is lacked for
    the same reason by everyone in the tenant, so the work grows with the kinds of user, not with
    users x licenses. With `explain` False a held license does not list what grants it.
    """

    def __init__(self, names: Sequence[str], term: Term, *, explain: bool = True) -> None:
        self.licenses: tuple[str, ...] = tuple(canonical(name) for name in names)
        self.term = term
        self.explain = explain
        self._by_kind: dict[tuple[bool, str | None, frozenset[str]], tuple[Decision, ...]] = {}
        self._lacking: dict[str, Decision] = {}
        self._held_plain = {key: Decision(key, True, HELD) for key in self.licenses}
        self._unknown: tuple[Decision, ...] | None = None

    def decide(self, holder: Holder | None) -> tuple[Decision, ...]:
        """One decision per license asked, in order, for this user (None: an unknown user)."""
        if holder is None:
            if self._unknown is None:
                self._unknown = tuple(Decision(key, False, UNKNOWN_USER) for key in self.licenses)
            return self._unknown
        kind = holder.kind
        found = self._by_kind.get(kind)
        if found is None:
            found = self._by_kind[kind] = self._decide(holder)
        return found

    def _decide(self, holder: Holder) -> tuple[Decision, ...]:
        if holder.retired:
            return tuple(Decision(key, False, USER_RETIRED) for key in self.licenses)
        resolution = holder.resolution
        held = resolution.held
        made: list[Decision] = []
        for key in self.licenses:
            if key in held:
                made.append(resolution.explain(key) if self.explain else self._held_plain[key])
            else:
                decision = self._lacking.get(key)
                if decision is None:
                    decision = self._lacking[key] = resolution.explain(key)
                made.append(decision)
        blocking, warning = self.term.blocking, self.term.warning
        if blocking is not None:
            return tuple(d if d.reason == UNKNOWN_LICENSE else replace(d, held=False, reason=blocking) for d in made)
        if warning is not None:
            return tuple(d if d.reason == UNKNOWN_LICENSE else replace(d, warning=warning) for d in made)
        return tuple(made)

    def held(self, holder: Holder | None) -> tuple[str, ...]:
        """Every license the user holds at this moment (whatever was asked), sorted."""
        if holder is None or holder.retired or self.term.blocking is not None:
            return ()
        return holder.resolution.licenses


def decide(holder: Holder | None, names: Sequence[str], term: Term, *, explain: bool = True) -> tuple[Decision, ...]:
    """For one user: held or not, the reason, the warning, and what grants each license or would."""
    return Decider(names, term, explain=explain).decide(holder)


def held(holder: Holder | None, term: Term) -> tuple[str, ...]:
    """Every license the user holds at this moment, sorted: what lists of a user's licenses show."""
    return Decider((), term).held(holder)
