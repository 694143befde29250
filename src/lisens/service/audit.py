"""The audit log: what changed, and which licenses a user held at any time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from lisens.db.models import AuditRow
from lisens.db.repositories import AuditRepository, UserRepository
from lisens.domain.engine import require_plan, resolve, tenant_licenses
from lisens.domain.errors import NotFound
from lisens.domain.model import Catalog
from lisens.service.context import Context, utc
from lisens.service.state import load_state, require_tenant_row, require_user


def entry_view(row: AuditRow, user_names: dict[int, str]) -> dict[str, Any]:
    return {
        "id": row.id,
        "at": utc(row.at).isoformat(),
        "actor": row.actor,
        "action": row.action,
        "user": user_names.get(row.user_id) if row.user_id is not None else None,
        "subject": row.subject,
        "before": row.before,
        "after": row.after,
    }


def audit_log(
    ctx: Context, tenant: str, *, user: str | None = None, until: datetime | None = None
) -> list[dict[str, Any]]:
    state = load_state(ctx, tenant)
    user_id = require_user(ctx, state, user).id if user else None
    rows = AuditRepository(ctx.session).entries(state.id, user_id=user_id, until=utc(until) if until else None)
    names = {row.id: row.name for row in UserRepository(ctx.session).all(state.id)}
    return [entry_view(row, names) for row in rows]


def holdings_at(ctx: Context, tenant: str, user: str, at: datetime) -> dict[str, Any]:
    """Which licenses `user` held at `at`, rebuilt from the audit log alone."""
    row = require_tenant_row(ctx, tenant)
    state = load_state(ctx, tenant)
    user_row = require_user(ctx, state, user)
    audit = AuditRepository(ctx.session)
    moment = utc(at)
    tenant_entry = audit.last_tenant_state(row.id, until=moment)
    user_entry = audit.last_user_state(row.id, user_row.id, until=moment)
    if tenant_entry is None or user_entry is None or user_entry.after is None or tenant_entry.after is None:
        raise NotFound(f"user {user!r} of tenant {tenant!r} did not exist at {moment.isoformat()}", code="NO_HISTORY")
    purchases = tenant_entry.after
    held = user_entry.after
    catalog = ctx.catalog(purchases["generation"])
    plans = [require_plan(catalog, item) for item, n in purchases["seats"].items() if n > 0 and _is_plan(catalog, item)]
    tenant_held = tenant_licenses(catalog, plans=plans, addons=purchases["addons"], system=purchases["system"])
    if held.get("retired"):
        licenses: list[str] = []
    else:
        plan = require_plan(catalog, held["plan"]) if held.get("plan") else None
        licenses = list(resolve(catalog, tenant_held, plan=plan, direct=held["licenses"]).licenses)
    return {
        "tenant": tenant,
        "user": user,
        "at": moment.isoformat(),
        "plan": held.get("plan"),
        "direct": held.get("licenses", []),
        "retired": bool(held.get("retired")),
        "licenses": licenses,
        "as_of_entries": [tenant_entry.id, user_entry.id],
    }


def _is_plan(catalog: Catalog, item: str) -> bool:
    return "+" in item or item in catalog.plans
