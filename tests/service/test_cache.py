"""The effective-license cache answers from memory until the tenant changes, and never serves a stale answer."""

from __future__ import annotations

from datetime import timedelta

from lisens.db.engine import make_session_factory
from lisens.service import tenants, users
from lisens.service.cache import EffectiveLicenseCache
from lisens.service.context import Context
from tests.db.conftest import T0, Database
from tests.db.helpers import make_tenant

AT = T0 + timedelta(hours=1)


def test_a_repeated_lookup_is_a_hit(ctx: Context) -> None:
    make_tenant(ctx, seats={"sales-premium": 1})
    users.assign(ctx, "acme", "alice", plans=["sales-premium"], at=AT)
    cache = EffectiveLicenseCache()
    first = cache.holder(ctx, "acme", "alice")
    second = cache.holder(ctx, "acme", "alice")
    assert first is second
    assert (cache.hits, cache.misses) == (1, 1)
    assert second.resolution.has_license("quote-cal")


def test_a_check_right_after_an_assignment_sees_it(ctx: Context) -> None:
    make_tenant(ctx, seats={"sales-premium": 1, "sales-essential": 1})
    users.assign(ctx, "acme", "alice", plans=["sales-premium"], at=AT)
    cache = EffectiveLicenseCache()
    assert cache.holder(ctx, "acme", "alice").resolution.has_license("quote-cal")
    users.assign(ctx, "acme", "alice", plans=["sales-essential"], at=AT)
    assert not cache.holder(ctx, "acme", "alice").resolution.has_license("quote-cal")
    tenants.add_addon(ctx, "acme", "cep", at=AT)  # a tenant-level change invalidates too
    assert cache.holder(ctx, "acme", "alice").resolution.has_license("cep")
    users.retire_user(ctx, "acme", "alice", at=AT)
    assert not cache.holder(ctx, "acme", "alice").resolution.has_license("sale-cal")


def test_a_change_committed_by_another_process_invalidates_this_cache(fresh_database: Database) -> None:
    factory = make_session_factory(fresh_database.engine)
    with factory() as setup:
        vendor = Context(setup, "setup", may_correct=True)
        make_tenant(vendor, seats={"sales-premium": 1, "sales-essential": 1})
        users.assign(vendor, "acme", "alice", plans=["sales-premium"], at=AT)
        setup.commit()
    cache = EffectiveLicenseCache()
    with factory() as reader:
        assert cache.holder(Context(reader, "reader"), "acme", "alice").resolution.has_license("quote-cal")
        reader.commit()
    with factory() as writer:  # as another worker would, through the database only
        users.assign(Context(writer, "writer"), "acme", "alice", plans=["sales-essential"])
        writer.commit()
    with factory() as reader:
        assert not cache.holder(Context(reader, "reader"), "acme", "alice").resolution.has_license("quote-cal")
    assert cache.misses == 2


def test_the_cache_keeps_at_most_maxsize_entries(ctx: Context) -> None:
    make_tenant(ctx)
    cache = EffectiveLicenseCache(maxsize=2)
    for name in ("alice", "bob", "carol"):
        cache.holder(ctx, "acme", name)
    cache.holder(ctx, "acme", "alice")
    assert cache.misses == 4
