"""Who may reach what: the access rules of a principal on a tenant, one place for the API and the panel."""

from __future__ import annotations

from lisens.service.tokens import Principal


def may_read(principal: Principal, tenant: str) -> bool:
    """Any role may read its own tenant; the vendor reads every tenant."""
    return principal.role == "vendor" or principal.tenant == tenant


def may_manage(principal: Principal, tenant: str) -> bool:
    """Users and assignments: the tenant's admin, or the vendor (an app token only reads and checks)."""
    return may_read(principal, tenant) and principal.role != "app"


def is_vendor(principal: Principal) -> bool:
    """Purchases (tenants, seats, add-ons, system licenses, owners): the vendor only."""
    return principal.role == "vendor"
