"""Offline license checks for app servers: load a signed snapshot, answer `has_license(user, name)` locally.

No database: only the snapshot and the vendor's public key. A tampered, wrongly signed or expired
snapshot is refused. Refresh it before it expires (see docs/security.md), or let a `Follower` keep it
fresh from the server's event feed (the only network use here).

    from lisens.offline import OfflineLicenses
    licenses = OfflineLicenses.load("acme.snapshot.json", Path("lisens.pub").read_bytes(), tenant="acme")
    licenses.has_license("alice", "superoffice.quote-cal")
    licenses = licenses.refreshed(new_snapshot_bytes, public_pem)  # never an older one

The tenant is required: a snapshot is signed by the same key for every tenant, so without it an
app server of one tenant would accept another tenant's snapshot (SNAPSHOT_WRONG_TENANT).
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from lisens.domain.errors import Code, LisensError
from lisens.domain.errors import SnapshotError as SnapshotError
from lisens.domain.names import canonical
from lisens.signing import load_public_key, verify

SNAPSHOT_FORMAT = "lisens-snapshot/1"


def _timestamp(text: Any, field: str) -> float:
    try:
        return datetime.fromisoformat(str(text)).timestamp()
    except ValueError:
        raise SnapshotError(f"snapshot field {field} is not an ISO date-time: {text!r}") from None


class OfflineLicenses:
    """A verified snapshot of who holds which module licenses in one tenant, valid until `expires_at`."""

    def __init__(self, document: Mapping[str, Any], *, clock: Any = time.time) -> None:
        """From a verified snapshot body; `load` verifies and checks the tenant first."""
        missing = [f for f in ("tenant", "issued_at", "expires_at", "users") if f not in document]
        if missing:
            raise SnapshotError(f"snapshot lacks {', '.join(missing)}", code=Code.SNAPSHOT_MALFORMED)
        self.tenant: str = str(document["tenant"])
        self.issued_at = _timestamp(document["issued_at"], "issued_at")
        self.expires_at = _timestamp(document["expires_at"], "expires_at")
        users = document["users"]
        if not isinstance(users, dict) or not all(isinstance(v, list) for v in users.values()):
            raise SnapshotError("snapshot field users is not an object of lists", code=Code.SNAPSHOT_MALFORMED)
        self._held: dict[str, frozenset[str]] = {
            str(u): frozenset(canonical(str(n)) for n in v) for u, v in users.items()
        }
        self._clock = clock

    @classmethod
    def load(
        cls, source: str | Path | bytes, public_key: bytes | str, *, tenant: str, now: float | None = None
    ) -> OfflineLicenses:
        """Read (a path or the bytes), verify the signature with `public_key` (PEM), refuse a snapshot of
        another tenant than `tenant` (SNAPSHOT_WRONG_TENANT) and an expired one (SNAPSHOT_EXPIRED)."""
        raw = Path(source).read_bytes() if isinstance(source, str | Path) else source
        try:
            document = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise SnapshotError(f"snapshot is not JSON: {exc}", code=Code.SNAPSHOT_MALFORMED) from None
        if not isinstance(document, dict) or document.get("format") != SNAPSHOT_FORMAT:
            raise SnapshotError(f"not a {SNAPSHOT_FORMAT} document", code=Code.SNAPSHOT_MALFORMED)
        body = verify(document, load_public_key(public_key))
        if body.get("tenant") != tenant:
            raise SnapshotError(
                f"snapshot is of tenant {body.get('tenant')!r}, not of {tenant!r}",
                code=Code.SNAPSHOT_WRONG_TENANT,
                expected=tenant,
                found=body.get("tenant"),
            )
        licenses = cls(body, clock=(lambda: now) if now is not None else time.time)
        licenses.require_fresh()
        return licenses

    def refreshed(
        self, source: str | Path | bytes, public_key: bytes | str, *, now: float | None = None
    ) -> OfflineLicenses:
        """The newer snapshot of the same tenant, verified as `load` does; one issued before this one is
        refused (SNAPSHOT_SUPERSEDED): signed things only move forward, so a replayed old snapshot
        cannot bring back a license revoked since. Swap it in with one assignment."""
        newer = OfflineLicenses.load(source, public_key, tenant=self.tenant, now=now)
        if newer.issued_at < self.issued_at:
            raise SnapshotError(
                f"snapshot of tenant {self.tenant!r} issued {datetime.fromtimestamp(newer.issued_at).isoformat()} "
                f"is older than the one in use ({datetime.fromtimestamp(self.issued_at).isoformat()})",
                code=Code.SNAPSHOT_SUPERSEDED,
            )
        return newer

    def require_fresh(self) -> None:
        now = self._clock()
        if now >= self.expires_at:
            raise SnapshotError(
                f"snapshot of tenant {self.tenant!r} expired at {datetime.fromtimestamp(self.expires_at).isoformat()}",
                code=Code.SNAPSHOT_EXPIRED,
            )
        if now < self.issued_at - 300:  # five minutes of clock skew
            raise SnapshotError("snapshot is issued in the future: check the clocks", code=Code.SNAPSHOT_NOT_YET_VALID)

    def has_license(self, user: str, name: str) -> bool:
        """`owner.module` or bare `module`, case-insensitive; raises SNAPSHOT_EXPIRED once past its TTL."""
        if self._clock() >= self.expires_at:
            self.require_fresh()
        held = self._held.get(user)
        return held is not None and canonical(name) in held

    @property
    def users(self) -> list[str]:
        return sorted(self._held)


class Follower:
    """Keeps a tenant's signed licenses fresh from a Lisens server: follows the tenant's events
    (`GET /v1/tenants/{t}/events`) and fetches a new signed snapshot after each change.

    The only part of this module that uses the network. When the server cannot be reached, answers
    keep coming from the last verified snapshot until its TTL, and `last_error` says why it is not
    fresher; an older snapshot is never taken (`refreshed`). Run `follow()` on a thread, or call
    `poll()` yourself.

        follower = Follower("https://lisens.example", token, "acme", public_pem)
        threading.Thread(target=follower.follow, daemon=True).start()
        follower.has_license("alice", "superoffice.quote-cal")
    """

    PAGE = 1000

    def __init__(
        self,
        base_url: str,
        token: str,
        tenant: str,
        public_key: bytes | str,
        *,
        interval: float = 1.0,
        timeout: float = 10.0,
        clock: Any = time.time,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.tenant = tenant
        self.public_key = public_key
        self.interval = interval
        self.timeout = timeout
        self._clock = clock
        self._headers = {"Authorization": f"Bearer {token}"}
        self.licenses: OfflineLicenses | None = None
        self.cursor = 0  # the sequence number of the last event seen
        self.last_error: str | None = None
        self.stopped = threading.Event()

    def _get(self, path: str) -> bytes:
        request = urllib.request.Request(f"{self.base_url}{path}", headers=self._headers)
        with urllib.request.urlopen(request, timeout=self.timeout) as answer:
            body: bytes = answer.read()
            return body

    def refresh(self) -> OfflineLicenses:
        """Fetch and verify the tenant's snapshot now."""
        raw = self._get(f"/v1/tenants/{urllib.parse.quote(self.tenant)}/snapshot")
        now = self._clock()
        if self.licenses is None:
            self.licenses = OfflineLicenses.load(raw, self.public_key, tenant=self.tenant, now=now)
        else:
            self.licenses = self.licenses.refreshed(raw, self.public_key, now=now)
        return self.licenses

    def poll(self) -> int:
        """Read the events after the last one seen; if there are any (or no snapshot yet, or the one held is
        past half its life), fetch a new snapshot. Returns how many events were new."""
        new = 0
        while True:
            query = urllib.parse.urlencode({"after": self.cursor, "limit": self.PAGE})
            page = json.loads(self._get(f"/v1/tenants/{urllib.parse.quote(self.tenant)}/events?{query}"))
            if page:
                self.cursor = int(page[-1]["cursor"])
                new += len(page)
            if len(page) < self.PAGE:
                break
        held = self.licenses
        aging = held is not None and self._clock() >= held.issued_at + (held.expires_at - held.issued_at) / 2
        if new or held is None or aging:
            self.refresh()
        self.last_error = None
        return new

    def follow(self) -> None:
        """Poll every `interval` seconds until `stopped` is set; a failure is kept in `last_error` and
        retried, waiting longer each time (at most 30 s)."""
        failures = 0
        while not self.stopped.is_set():
            try:
                self.poll()
                failures = 0
            except (OSError, ValueError, LisensError) as exc:
                failures += 1
                self.last_error = f"{exc.__class__.__name__}: {exc}"
            self.stopped.wait(self.interval if failures == 0 else min(self.interval * 2**failures, 30.0))

    def has_license(self, user: str, name: str) -> bool:
        """From the last verified snapshot (SNAPSHOT_EXPIRED once it is past its TTL)."""
        if self.licenses is None:
            raise SnapshotError(
                f"no snapshot of tenant {self.tenant!r} yet: {self.last_error}", code=Code.SNAPSHOT_EXPIRED
            )
        return self.licenses.has_license(user, name)
