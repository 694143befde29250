"""Caches: users' effective licenses, and signed snapshots, both keyed by the tenant's version.

A cache of users' effective licenses, invalidated by every change to their tenant (read-your-writes).

Every change bumps the tenant's `version` in the change's own transaction. A cached resolution is
served only while the tenant's version in the database is still the one it was computed at, so a
check made right after a change sees it, in this process or any other sharing the database. A hit
costs one primary-key read of the version instead of loading the tenant and the user.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, Protocol, TypeVar

from lisens.domain.billing import Contract
from lisens.domain.decide import Holder
from lisens.domain.errors import UnknownUser, require_version
from lisens.service.context import Context
from lisens.service.contracts import contract_of
from lisens.service.decisions import holders
from lisens.service.state import load_state, require_tenant_row
from lisens.service.tokens import Principal

T = TypeVar("T")
PRINCIPALS_MAX = 10_000


@dataclass(frozen=True)
class CachedUser:
    tenant_id: int
    version: int
    holder: Holder


@dataclass(frozen=True)
class SnapshotKey:
    """What a signed snapshot depends on: a change to the tenant bumps its version; the license
    dates (expiry, grace, status) move with the clock; the TTL and the signing key are the caller's."""

    tenant_id: int
    version: int
    ttl_s: int
    key_id: str
    license_dates: tuple[tuple[str, str], ...]


SNAPSHOT_REUSE_MAX = timedelta(minutes=5)


class SnapshotCache:
    """Signed snapshots, each served again for a tenth of its TTL (at most 5 minutes) after it was
    issued, while nothing it depends on changed. Then it still has at least 90% of its TTL to run."""

    def __init__(self, maxsize: int = 8) -> None:
        self.maxsize = maxsize  # snapshots of big tenants are large: keep a few
        self._entries: OrderedDict[SnapshotKey, tuple[datetime, dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: SnapshotKey, moment: datetime) -> dict[str, Any] | None:
        with self._lock:
            entry = self._entries.get(key)
            reuse = min(timedelta(seconds=key.ttl_s) / 10, SNAPSHOT_REUSE_MAX)
            if entry is None or not timedelta(0) <= moment - entry[0] < reuse:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry[1]

    def put(self, key: SnapshotKey, moment: datetime, document: dict[str, Any]) -> None:
        with self._lock:
            self._entries[key] = (moment, document)
            self._entries.move_to_end(key)
            while len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)


class Stamps(Protocol):
    """Which changes were committed since (`lisens.db.changes.ChangeWatch`): None when it cannot tell."""

    def tenant_stamp(self, tenant_id: int, *, looked: bool = False) -> tuple[int, int] | None: ...

    def token_stamp(self) -> tuple[int, int] | None: ...

    def latest(self, tenant_id: int) -> int: ...


@dataclass(frozen=True)
class TenantView:
    """What a check needs of a tenant besides its users: its version and its contract (the term on any
    day follows from the contract, so a cached view is right on every day)."""

    id: int
    name: str
    version: int
    contract: Contract | None


@dataclass(frozen=True)
class _Stamped(Generic[T]):
    stamp: tuple[int, int]
    value: T


class EffectiveLicenseCache:
    """Tenants, users' effective licenses and token principals, for checks.

    Users are kept by the tenant version they were resolved at. With `stamps` (a process's change
    watch), tenants and principals are served from memory until a committed change moves their stamp:
    a check that hits asks the database nothing. Without it, each check reads the tenant's row."""

    def __init__(self, maxsize: int = 100_000, *, stamps: Stamps | None = None) -> None:
        self.maxsize = maxsize
        self.stamps = stamps
        self.snapshots = SnapshotCache()
        self._entries: OrderedDict[tuple[str, str], CachedUser] = OrderedDict()
        self._tenant_ids: dict[str, int] = {}  # a tenant's id never changes
        self._tenants: dict[str, _Stamped[TenantView]] = {}
        self._principals: OrderedDict[str, _Stamped[Principal]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def cached_tenant(self, name: str, *, min_version: int | None = None, looked: bool = False) -> TenantView | None:
        """The tenant from memory, if nothing it depends on changed since it was read; else None.

        `looked`: the request asked the stamps already (for its token's principal), so they are not
        looked at again (on SQLite a look is a statement)."""
        tenant_id = self._tenant_ids.get(name)
        if self.stamps is None or tenant_id is None:
            return None
        entry = self._tenants.get(name)
        if entry is None or entry.stamp != self.stamps.tenant_stamp(tenant_id, looked=looked):
            return None
        return entry.value if min_version is None or entry.value.version >= min_version else None

    def tenant(self, ctx: Context, name: str, *, min_version: int | None = None) -> TenantView:
        """The tenant as a check sees it, at least at `min_version` (VERSION_NOT_REACHED if the database
        has not reached it); UNKNOWN_TENANT if there is none."""
        found = self.cached_tenant(name, min_version=min_version)
        if found is not None:
            return found
        tenant_id = self._tenant_ids.get(name)
        stamp = self.stamps.tenant_stamp(tenant_id) if self.stamps and tenant_id is not None else None
        row = require_tenant_row(ctx, name)
        # A tenant seen for the first time has no stamp taken before its read: it is kept from the next.
        self._tenant_ids.setdefault(name, row.id)
        view = TenantView(row.id, row.name, row.version, contract_of(ctx, row.id))
        require_version(name, view.version, min_version)
        if self.stamps is not None and view.version < self.stamps.latest(row.id):
            # Read where a change already heard of is not yet replayed (a replica): not kept.
            return view
        if stamp is not None:
            with self._lock:
                self._tenants[name] = _Stamped(stamp, view)
        return view

    def cached_principal(self, token_hash: str) -> Principal | None:
        """The principal of a token from memory, if no token changed since it was loaded; else None."""
        entry = self._principals.get(token_hash)
        if entry is None or self.stamps is None or entry.stamp != self.stamps.token_stamp():
            return None
        return entry.value

    def principal(self, token_hash: str, load: Callable[[], Principal | None]) -> Principal | None:
        """The principal of a token, from memory while no token changed since it was loaded."""
        found = self.cached_principal(token_hash)
        if found is not None:
            return found
        stamp = self.stamps.token_stamp() if self.stamps else None
        found = load()
        if found is not None and stamp is not None:
            with self._lock:
                self._principals[token_hash] = _Stamped(stamp, found)
                while len(self._principals) > PRINCIPALS_MAX:
                    self._principals.popitem(last=False)
        return found

    def holder(self, ctx: Context, tenant: str, user: str) -> Holder:
        """One user as the decision sees them; UNKNOWN_USER if the tenant has no such user."""
        found = self.users(ctx, self.tenant(ctx, tenant), [user])[user]
        if found is None:
            raise UnknownUser(f"tenant {tenant!r} has no user {user!r}", tenant=tenant, user=user)
        return found

    def cached_users(self, tenant: TenantView, names: Sequence[str]) -> dict[str, Holder | None] | None:
        """Users of the tenant from memory, if every one is there at the tenant's version; else None."""
        found, missing = self._lookup(tenant, names)
        return None if missing else found

    def users(self, ctx: Context, tenant: TenantView, names: Sequence[str]) -> dict[str, Holder | None]:
        """Many users of one tenant at once; three queries for all the misses. Unknown users map to None."""
        found, missing = self._lookup(tenant, names)
        if not missing:
            return found
        # The version is read with the state, before the users' rows: the data is at least that new.
        state = load_state(ctx, tenant.name)
        fresh = holders(ctx, state, missing)
        self._store({(tenant.name, name): CachedUser(state.id, state.row.version, h) for name, h in fresh.items()})
        for name in missing:
            found[name] = fresh.get(name)
        return found

    def _lookup(self, tenant: TenantView, names: Sequence[str]) -> tuple[dict[str, Holder | None], list[str]]:
        found: dict[str, Holder | None] = {}
        missing: list[str] = []
        with self._lock:
            for name in dict.fromkeys(names):
                entry = self._entries.get((tenant.name, name))
                if entry is not None and entry.version == tenant.version and entry.tenant_id == tenant.id:
                    found[name] = entry.holder
                    self.hits += 1
                else:
                    missing.append(name)
        return found, missing

    def _store(self, entries: dict[tuple[str, str], CachedUser]) -> None:
        with self._lock:
            for key, entry in entries.items():
                self.misses += 1
                self._entries[key] = entry
                self._entries.move_to_end(key)
            while len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._tenants.clear()
            self._tenant_ids.clear()
            self._principals.clear()
        self.snapshots = SnapshotCache(self.snapshots.maxsize)
