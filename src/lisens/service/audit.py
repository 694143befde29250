"""The audit log: what changed, and which licenses a user held at any time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lisens.db.models import AuditRow
from lisens.db.repositories import AuditRepository, UserRepository
from lisens.domain.auditchain import ChainBreak, verify_chain
from lisens.domain.decide import Holder, term_at
from lisens.domain.decide import held as held_at
from lisens.domain.engine import require_plan, resolve, tenant_licenses
from lisens.domain.errors import AuditLogTampered, Code, NotFound
from lisens.domain.model import Catalog
from lisens.domain.names import is_combined
from lisens.domain.times import utc
from lisens.service.context import Context
from lisens.service.contracts import contract_of
from lisens.service.results import AuditEntryRead, HoldingsRead
from lisens.service.state import load_state, require_tenant_row, require_user


def entry_view(row: AuditRow, user_names: dict[int, str]) -> AuditEntryRead:
    return AuditEntryRead(
        id=row.id,
        seq=row.seq,
        correction=row.correction,
        at=utc(row.at).isoformat(),
        actor=row.actor,
        action=row.action,
        user=user_names.get(row.user_id) if row.user_id is not None else None,
        subject=row.subject,
        before=row.before,
        after=row.after,
    )


def audit_log(
    ctx: Context,
    tenant: str,
    *,
    user: str | None = None,
    until: datetime | None = None,
    after: int = 0,
    limit: int | None = None,
) -> list[AuditEntryRead]:
    """The tenant's log in commit order; a page of it with `after` (a sequence number) and `limit`."""
    state = load_state(ctx, tenant)
    user_id = require_user(ctx, state, user).id if user else None
    rows = AuditRepository(ctx.session).entries(
        state.id, user_id=user_id, until=utc(until) if until else None, after_seq=after, limit=limit
    )
    wanted = sorted({row.user_id for row in rows if row.user_id is not None})
    repo = UserRepository(ctx.session)
    # A page names few users; a whole log may name more than one query may list.
    named = repo.by_ids(state.id, wanted) if len(wanted) <= 1000 else repo.all(state.id)
    names = {row.id: row.name for row in named}
    return [entry_view(row, names) for row in rows]


@dataclass(frozen=True)
class LogVerification:
    """`lisens audit verify`: whether a log still chains, and where it first does not."""

    log: str
    ok: bool
    entries: int
    head: int
    broken: ChainBreak | None

    def view(self) -> dict[str, Any]:
        broken = None
        if self.broken is not None:
            broken = {"seq": self.broken.seq, "problem": self.broken.problem, "message": self.broken.message}
        return {"log": self.log, "ok": self.ok, "entries": self.entries, "head": self.head, "broken": broken}


def verify_log(ctx: Context, tenant: str | None) -> LogVerification:
    """Recompute the hash chain of a tenant's log (the vendor's own log for None), in bounded memory."""
    tenant_id = load_state(ctx, tenant).id if tenant is not None else None
    audit = AuditRepository(ctx.session)
    head_seq, head_hash = audit.head(tenant_id)
    report = verify_chain(audit.chain(tenant_id), head_seq=head_seq, head_hash=head_hash)
    return LogVerification(tenant or "vendor", report.ok, report.entries, head_seq, report.broken)


def require_intact(ctx: Context, tenant: str) -> None:
    """Refuse to bill from a log that no longer chains (AUDIT_LOG_TAMPERED, naming the first bad entry)."""
    verified = verify_log(ctx, tenant)
    if verified.broken is not None:
        raise AuditLogTampered(
            f"the audit log of tenant {tenant!r} was changed outside Lisens: {verified.broken.message} "
            f"({verified.broken.problem}); run `lisens audit verify {tenant}`",
            tenant=tenant,
            seq=verified.broken.seq,
            problem=verified.broken.problem,
        )


def holdings_at(ctx: Context, tenant: str, user: str, at: datetime) -> HoldingsRead:
    """Which licenses `user` held at `at`, rebuilt from the audit log alone."""
    row = require_tenant_row(ctx, tenant)
    state = load_state(ctx, tenant)
    user_row = require_user(ctx, state, user)
    audit = AuditRepository(ctx.session)
    moment = utc(at)
    tenant_entry = audit.last_tenant_state(row.id, until=moment)
    user_entry = audit.last_user_state(row.id, user_row.id, until=moment)
    if tenant_entry is None or user_entry is None or user_entry.after is None or tenant_entry.after is None:
        raise NotFound(
            f"user {user!r} of tenant {tenant!r} did not exist at {moment.isoformat()}", code=Code.NO_HISTORY
        )
    purchases = tenant_entry.after
    held = user_entry.after
    catalog = ctx.catalog(purchases["generation"])
    plans = [require_plan(catalog, item) for item, n in purchases["seats"].items() if n > 0 and _is_plan(catalog, item)]
    tenant_held = tenant_licenses(catalog, plans=plans, addons=purchases["addons"], system=purchases["system"])
    plan = require_plan(catalog, held["plan"]) if held.get("plan") and not held.get("retired") else None
    resolution = resolve(catalog, tenant_held, plan=plan, direct=[] if held.get("retired") else held["licenses"])
    holder = Holder(user, bool(held.get("retired")), resolution)
    licenses = list(held_at(holder, term_at(contract_of(ctx, row.id), moment.date())))
    return HoldingsRead(
        tenant=tenant,
        user=user,
        at=moment.isoformat(),
        plan=held.get("plan"),
        direct=held.get("licenses", []),
        retired=bool(held.get("retired")),
        licenses=licenses,
        as_of_entries=[tenant_entry.id, user_entry.id],
    )


def _is_plan(catalog: Catalog, item: str) -> bool:
    return is_combined(item) or item in catalog.plans
