"""Bulk assignment from CSV: all or nothing by default, every failing row reported with its reason."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lisens.db.repositories import UserRepository
from lisens.domain.errors import InvalidInput, LisensError
from lisens.service.context import Context
from lisens.service.state import load_state
from lisens.service.users import add_user, assign

REQUIRED_COLUMNS = ("user",)
KNOWN_COLUMNS = ("user", "plans", "licenses", "type")


@dataclass(frozen=True)
class BulkRow:
    line: int
    user: str
    plans: tuple[str, ...]
    licenses: tuple[str, ...]
    user_type: str


class BulkFailed(LisensError):
    """Some rows failed and nothing was applied (the default, all-or-nothing)."""

    default_code = "BULK_ASSIGN_FAILED"


def parse_bulk_csv(text: str) -> list[BulkRow]:
    """Columns: user, plans (joined with '+' for a multi-plan user), licenses (';' or space separated), type."""
    try:
        return _parse(text)
    except csv.Error as exc:
        raise InvalidInput(f"CSV is malformed: {exc}", code="INVALID_CSV") from None


def _parse(text: str) -> list[BulkRow]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    columns = [c.strip() for c in reader.fieldnames or []]
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise InvalidInput(
            f"CSV header {columns!r} lacks column(s) {missing!r}; expected {', '.join(KNOWN_COLUMNS)}",
            code="INVALID_CSV",
        )
    unknown = [c for c in columns if c not in KNOWN_COLUMNS]
    if unknown:
        raise InvalidInput(
            f"CSV has unknown column(s) {unknown!r}; known: {', '.join(KNOWN_COLUMNS)}", code="INVALID_CSV"
        )
    rows = []
    for raw in reader:
        cells = {key.strip(): (value or "").strip() for key, value in raw.items() if key is not None}
        plans = tuple(p.strip() for p in cells.get("plans", "").split("+") if p.strip())
        licenses = tuple(n for n in cells.get("licenses", "").replace(";", " ").split() if n)
        rows.append(
            BulkRow(
                line=reader.line_num,
                user=cells.get("user", ""),
                plans=plans,
                licenses=licenses,
                user_type=cells.get("type") or "internal",
            )
        )
    return rows


def bulk_assign(
    ctx: Context,
    tenant: str,
    rows: Sequence[BulkRow],
    *,
    partial: bool = False,
    create_users: bool = False,
    at: datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Apply each row in its own savepoint; without `partial`, any failure raises BULK_ASSIGN_FAILED.

    The caller's transaction holds the applied rows; on BULK_ASSIGN_FAILED the caller rolls it back.
    """
    load_state(ctx, tenant)  # UNKNOWN_TENANT before any row
    users = UserRepository(ctx.session)
    applied: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    for row in rows:
        try:
            with ctx.session.begin_nested():
                state = load_state(ctx, tenant)
                if create_users and users.get(state.id, row.user) is None:
                    add_user(ctx, tenant, row.user, user_type=row.user_type, at=at)
                result = assign(ctx, tenant, row.user, plans=row.plans, licenses=row.licenses, at=at)
            applied.append({"line": row.line, "user": row.user, "changed": result["changed"]})
        except LisensError as error:
            failed.append({"line": row.line, "user": row.user, "code": error.code, "message": error.message})
        if progress is not None:
            progress(1)
    report = {"rows": len(rows), "applied": len(applied), "failed": failed, "partial": partial}
    if failed and not partial:
        raise BulkFailed(
            f"{len(failed)} of {len(rows)} rows failed; nothing was applied (use --partial to apply the valid rows)",
            rows=len(rows),
            failed=failed,
        )
    return report
