"""The API fixture rolls back after each test: no test sees what another one changed."""

from __future__ import annotations

from tests.api.conftest import Api


def test_a_test_may_change_the_seeded_tenants(api: Api) -> None:
    answer = api.client.post("/v1/tenants", json={"name": "probe", "generation": "11"}, headers=api.headers("vendor"))
    assert answer.status_code == 201
    assert api.client.get("/v1/tenants/probe", headers=api.headers("vendor")).status_code == 200


def test_the_next_test_starts_from_the_seed_again(api: Api) -> None:
    assert api.client.get("/v1/tenants/probe", headers=api.headers("vendor")).status_code == 404
    assert api.client.get("/v1/tenants/acme", headers=api.headers("vendor")).status_code == 200
