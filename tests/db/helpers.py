"""Small builders for database tests."""

from __future__ import annotations

from datetime import timedelta

from lisens.service import tenants, users
from lisens.service.context import Context
from tests.db.conftest import T0

MINUTE = timedelta(minutes=1)


def make_tenant(
    ctx: Context,
    name: str = "acme",
    *,
    generation: str = "11",
    seats: dict[str, int] | None = None,
    people: tuple[str, ...] = ("alice", "bob", "carol"),
) -> str:
    # Recorded just before T0, so that a test's own changes from T0 on follow them in the log.
    tenants.create_tenant(ctx, name=name, generation=generation, company="Acme AS", serial="4711", at=T0 - 3 * MINUTE)
    for item, number in (seats or {}).items():
        tenants.set_seats(ctx, name, item, number, at=T0 - 2 * MINUTE)
    for person in people:
        users.add_user(ctx, name, person, at=T0 - MINUTE)
    return name
