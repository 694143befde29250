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
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from lisens.db.repositories import TenantRepository
from lisens.domain.decide import Holder
from lisens.service.context import Context
from lisens.service.decisions import holder_of, holders
from lisens.service.state import load_state, require_tenant_row, require_user


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


class EffectiveLicenseCache:
    def __init__(self, maxsize: int = 100_000) -> None:
        self.maxsize = maxsize
        self.snapshots = SnapshotCache()
        self._entries: OrderedDict[tuple[str, str], CachedUser] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def holder(self, ctx: Context, tenant: str, user: str) -> Holder:
        """One user as the decision sees them; UNKNOWN_USER if the tenant has no such user."""
        key = (tenant, user)
        with self._lock:
            entry = self._entries.get(key)
        if entry is not None and TenantRepository(ctx.session).version(entry.tenant_id) == entry.version:
            with self._lock:
                self._entries.move_to_end(key)
                self.hits += 1
            return entry.holder
        # The version is read with the state, before the user's rows: the data is at least that new.
        state = load_state(ctx, tenant)
        found = holder_of(ctx, state, require_user(ctx, state, user))
        self._store({key: CachedUser(state.id, state.row.version, found)})
        return found

    def users(self, ctx: Context, tenant: str, names: Sequence[str]) -> dict[str, Holder | None]:
        """Many users of one tenant at once: one version read, three queries for all the misses.

        Unknown users map to None.
        """
        # One read of the tenant row (with its version) answers a request whose users are all cached.
        tenant_row = require_tenant_row(ctx, tenant)
        version = tenant_row.version
        found: dict[str, Holder | None] = {}
        missing: list[str] = []
        with self._lock:
            for name in dict.fromkeys(names):
                entry = self._entries.get((tenant, name))
                if entry is not None and entry.version == version and entry.tenant_id == tenant_row.id:
                    found[name] = entry.holder
                    self.hits += 1
                else:
                    missing.append(name)
        if not missing:
            return found
        state = load_state(ctx, tenant)
        fresh = holders(ctx, state, missing)
        self._store({(tenant, name): CachedUser(state.id, state.row.version, h) for name, h in fresh.items()})
        for name in missing:
            found[name] = fresh.get(name)
        return found

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
        self.snapshots = SnapshotCache(self.snapshots.maxsize)
