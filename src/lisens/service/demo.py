"""A demo tenant to try Lisens with: generation 11, a few plans and users, and tokens to call the API."""

from __future__ import annotations

from lisens.db.repositories import TenantRepository
from lisens.service import tenants, tokens, users
from lisens.service.context import Context
from lisens.service.results import Demo

DEMO = "demo"
SEATS = {
    "sales-essential": 5,
    "sales-premium": 5,
    "service-premium": 3,
    "sales-premium+service-premium+marketing-premium": 2,
}
PEOPLE = {
    "alice": ["sales-premium"],
    "bob": ["sales-essential"],
    "carol": ["service-premium"],
    "dave": ["sales-premium", "service-premium", "marketing-premium"],
}


def ensure_demo(ctx: Context) -> Demo:
    """Create the demo tenant unless it exists; always issue fresh tokens (shown once)."""
    created = TenantRepository(ctx.session).get_by_name(DEMO) is None
    if created:
        tenants.create_tenant(ctx, name=DEMO, generation="11", company="Demo AS", serial="1000001")
        for item, number in SEATS.items():
            tenants.set_seats(ctx, DEMO, item, number)
        tenants.add_addon(ctx, DEMO, "cep")
        for name, plans in PEOPLE.items():
            users.add_user(ctx, DEMO, name)
            users.assign(ctx, DEMO, name, plans=plans)
    vendor, _ = tokens.create_token(ctx, role="vendor", description="demo vendor")
    admin, _ = tokens.create_token(ctx, role="admin", tenant=DEMO, description="demo admin")
    app, _ = tokens.create_token(ctx, role="app", tenant=DEMO, user="alice", description="demo app (alice)")
    return Demo(tenant=DEMO, created=created, tokens={"vendor": vendor, "admin": admin, "app (user alice)": app})
