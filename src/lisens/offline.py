"""Offline license checks for app servers: load a signed snapshot, answer `has_license(user, name)` locally.

No database and no network: only the snapshot file and the vendor's public key. A tampered, wrongly
signed or expired snapshot is refused. Refresh it before it expires (see docs/security.md).

    from lisens.offline import OfflineLicenses
    licenses = OfflineLicenses.load("acme.snapshot.json", Path("lisens.pub").read_bytes(), tenant="acme")
    licenses.has_license("alice", "superoffice.quote-cal")
    licenses = licenses.refreshed(new_snapshot_bytes, public_pem)  # never an older one

The tenant is required: a snapshot is signed by the same key for every tenant, so without it an
app server of one tenant would accept another tenant's snapshot (SNAPSHOT_WRONG_TENANT).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from lisens.domain.errors import Code
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
