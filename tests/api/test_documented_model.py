"""What a user holds, over HTTP: the own /v1 API and SuperOffice's currentPrincipal agree with seed 004."""

from __future__ import annotations

from lisens.service import tenants, tokens, users
from lisens.service.context import Context
from tests.api.conftest import AT, Api
from tests.seed004 import SEED_004_SALES_ESSENTIAL


def _solo_tenant(api: Api) -> str:
    """A fresh generation 11 tenant that bought only Sales-Essential, and an app token for its user."""
    session = api.session()
    ctx = Context(session=session, actor="seed", may_correct=True)
    tenants.create_tenant(ctx, name="solo", generation="11", company="Solo AS", serial="2", at=AT)
    tenants.set_seats(ctx, "solo", "sales-essential", 1, at=AT)
    users.add_user(ctx, "solo", "sam", at=AT)
    users.assign(ctx, "solo", "sam", plans=["sales-essential"], at=AT)
    plain, _ = tokens.create_token(ctx, role="app", tenant="solo", user="sam", at=AT)
    session.commit()
    session.close()
    return plain


def test_a_sales_essential_user_holds_exactly_seed_004s_fifteen_through_the_v1_api(api: Api) -> None:
    _solo_tenant(api)
    response = api.client.get("/v1/tenants/solo/users/sam/licenses", headers=api.headers("vendor"))
    assert response.status_code == 200
    held = {row["license"].removeprefix("superoffice.") for row in response.json()["effective"]}
    assert held == SEED_004_SALES_ESSENTIAL


def test_a_sales_essential_user_holds_exactly_seed_004s_fifteen_through_current_principal(api: Api) -> None:
    token = _solo_tenant(api)
    carrier = api.client.get("/api/v1/User/currentPrincipal", headers={"Authorization": f"Bearer {token}"}).json()
    assert {granted["Name"] for granted in carrier["Licenses"]} == SEED_004_SALES_ESSENTIAL


def test_the_same_state_answers_byte_identical_json(api: Api) -> None:
    _solo_tenant(api)
    first = api.client.get("/v1/tenants/solo/users/sam/licenses", headers=api.headers("vendor")).content
    second = api.client.get("/v1/tenants/solo/users/sam/licenses", headers=api.headers("vendor")).content
    assert first == second
