"""The unit of work turns what the database refuses into the error tree: conflicts and bad values, never a 5xx."""

from __future__ import annotations

import pytest

from lisens.db.engine import make_session_factory
from lisens.db.models import TenantRow, UserRow
from lisens.db.repositories import PurchaseRepository, TenantRepository, UserRepository
from lisens.domain.errors import AlreadyExists, Conflict, InvalidInput
from lisens.service import tenants
from lisens.service.uow import unit_of_work
from tests.db.conftest import T0, Database


def tenant_names(database: Database) -> list[str]:
    with unit_of_work(make_session_factory(database.engine), actor="test", catalog_dir=None) as ctx:
        return [row.name for row in TenantRepository(ctx.session).all()]


def test_a_tenant_inserted_by_a_racer_that_read_absent_is_a_conflict_with_the_services_own_code(
    fresh_database: Database,
) -> None:
    factory = make_session_factory(fresh_database.engine)
    with unit_of_work(factory, actor="first", catalog_dir=None) as ctx:
        tenants.create_tenant(ctx, name="acme", generation="11")
    with pytest.raises(AlreadyExists) as caught, unit_of_work(factory, actor="second", catalog_dir=None) as ctx:
        # What the second of two concurrent creates does after both read "no tenant acme".
        TenantRepository(ctx.session).add(TenantRow(name="acme", generation="11", created_at=T0, version=0))
    assert caught.value.code == "TENANT_EXISTS"
    assert "nothing was changed" in caught.value.message
    assert tenant_names(fresh_database) == ["acme"]


def test_a_duplicate_without_a_code_of_its_own_is_already_exists_naming_its_table(fresh_database: Database) -> None:
    factory = make_session_factory(fresh_database.engine)
    with unit_of_work(factory, actor="first", catalog_dir=None) as ctx:
        tenants.create_tenant(ctx, name="acme", generation="11")

    def add_the_same_addon_twice() -> None:
        with unit_of_work(factory, actor="second", catalog_dir=None) as ctx:
            tenant_id = TenantRepository(ctx.session).add(TenantRow(name="other", generation="11", created_at=T0)).id
            PurchaseRepository(ctx.session).add_addon(tenant_id, "cep")
            PurchaseRepository(ctx.session).add_addon(tenant_id, "cep")

    with pytest.raises(AlreadyExists) as caught:
        add_the_same_addon_twice()
    assert caught.value.code == "ALREADY_EXISTS"
    assert caught.value.details["table"] == "addon"
    assert tenant_names(fresh_database) == ["acme"]


def test_a_row_referring_to_a_tenant_that_is_gone_is_a_conflict(fresh_database: Database) -> None:
    factory = make_session_factory(fresh_database.engine)
    with pytest.raises(Conflict) as caught, unit_of_work(factory, actor="test", catalog_dir=None) as ctx:
        UserRepository(ctx.session).add(987654, UserRow(name="ghost", type="internal", created_at=T0))
    assert caught.value.code == "CONFLICT"


def test_a_value_postgresql_cannot_store_is_invalid_value_not_a_database_failure(fresh_database: Database) -> None:
    if fresh_database.backend != "postgresql":
        pytest.skip("SQLite stores any text; only PostgreSQL refuses a NUL")
    factory = make_session_factory(fresh_database.engine)
    with pytest.raises(InvalidInput) as caught, unit_of_work(factory, actor="test", catalog_dir=None) as ctx:
        tenants.create_tenant(ctx, name="acme", generation="11", company="Acme\x00AS")
    assert caught.value.code == "INVALID_VALUE"
    assert "NUL" in caught.value.message
    assert tenant_names(fresh_database) == []
