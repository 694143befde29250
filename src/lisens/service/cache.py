"""A cache of users' effective licenses, invalidated by every change to their tenant (read-your-writes).

Every change bumps the tenant's `version` in the change's own transaction. A cached resolution is
served only while the tenant's version in the database is still the one it was computed at, so a
check made right after a change sees it, in this process or any other sharing the database. A hit
costs one primary-key read of the version instead of loading the tenant and the user.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from lisens.db.repositories import TenantRepository
from lisens.domain.engine import Resolution
from lisens.service.context import Context
from lisens.service.state import load_state, require_user
from lisens.service.users import resolution_for


@dataclass(frozen=True)
class _Entry:
    tenant_id: int
    version: int
    resolution: Resolution


class EffectiveLicenseCache:
    def __init__(self, maxsize: int = 100_000) -> None:
        self.maxsize = maxsize
        self._entries: OrderedDict[tuple[str, str], _Entry] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def resolution(self, ctx: Context, tenant: str, user: str) -> Resolution:
        key = (tenant, user)
        with self._lock:
            entry = self._entries.get(key)
        if entry is not None and TenantRepository(ctx.session).version(entry.tenant_id) == entry.version:
            with self._lock:
                self._entries.move_to_end(key)
                self.hits += 1
            return entry.resolution
        # The version is read with the state, before the user's rows: the data is at least that new.
        state = load_state(ctx, tenant)
        resolution = resolution_for(ctx, state, require_user(ctx, state, user))
        with self._lock:
            self.misses += 1
            self._entries[key] = _Entry(state.id, state.row.version, resolution)
            self._entries.move_to_end(key)
            while len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)
        return resolution

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
