"""Consistency tokens: a write answers with the tenant's version; a check given it as `min_version`
answers from a state at least that new; checks answered from memory equal those read from the database."""

from __future__ import annotations

from tests.api.conftest import Api

CHECK = "/v1/tenants/acme/check"


def check(api: Api, body: dict[str, object], who: str = "acme-app") -> dict[str, object]:
    answer = api.client.post(CHECK, json=body, headers=api.headers(who))
    assert answer.status_code == 200, answer.text
    found: dict[str, object] = answer.json()
    assert answer.headers["Lisens-Version"] == str(found["version"])
    return found


def held(found: dict[str, object]) -> list[bool]:
    results = found["results"]
    assert isinstance(results, list)
    return [row["held"] for row in results]


def test_a_write_answers_with_the_tenants_new_version_and_a_check_given_it_includes_the_write(api: Api) -> None:
    before = check(api, {"users": ["bob"], "licenses": ["quote-cal"]})
    assert held(before) == [False]
    written = api.client.post(
        "/v1/tenants/acme/users/bob/assignments", json={"plans": ["sales-premium"]}, headers=api.headers("acme-admin")
    )
    assert written.status_code == 200, written.text
    version = int(written.headers["Lisens-Version"])
    assert isinstance(before["version"], int)
    assert version > before["version"]
    after = check(api, {"users": ["bob"], "licenses": ["quote-cal"], "min_version": version})
    assert held(after) == [True]
    assert after["version"] == version


def test_every_write_to_one_tenant_moves_its_version(api: Api) -> None:
    first = api.client.post("/v1/tenants/acme/users", json={"name": "dora"}, headers=api.headers("acme-admin"))
    second = api.client.post("/v1/tenants/acme/users", json={"name": "erik"}, headers=api.headers("acme-admin"))
    assert first.status_code == second.status_code == 201
    assert int(second.headers["Lisens-Version"]) == int(first.headers["Lisens-Version"]) + 1


def test_a_read_and_a_refused_write_answer_without_a_version(api: Api) -> None:
    read = api.client.get("/v1/tenants/acme/users", headers=api.headers("acme-admin"))
    refused = api.client.post("/v1/tenants/acme/users", json={"name": "alice"}, headers=api.headers("acme-admin"))
    assert read.status_code == 200
    assert refused.status_code == 409
    assert "Lisens-Version" not in read.headers
    assert "Lisens-Version" not in refused.headers


def test_a_min_version_the_tenant_has_not_reached_is_refused_with_its_code(api: Api) -> None:
    now = check(api, {"users": ["alice"], "licenses": ["quote-cal"]})
    assert isinstance(now["version"], int)
    ahead = now["version"] + 1
    answer = api.client.post(
        CHECK,
        json={"users": ["alice"], "licenses": ["quote-cal"], "min_version": ahead},
        headers=api.headers("acme-app"),
    )
    assert answer.status_code == 409
    problem = answer.json()
    assert problem["code"] == "VERSION_NOT_REACHED"
    assert problem["min_version"] == ahead
    assert problem["version"] == now["version"]


def test_a_min_version_out_of_range_is_bad_input(api: Api) -> None:
    for bad in (-1, 2**63, 1.5, "seven"):
        answer = api.client.post(
            CHECK,
            json={"users": ["alice"], "licenses": ["quote-cal"], "min_version": bad},
            headers=api.headers("acme-app"),
        )
        assert answer.status_code == 422, (bad, answer.text)


def test_a_check_answered_from_memory_is_the_one_read_from_the_database(api: Api) -> None:
    body = {
        "users": ["alice", "bob", "nobody"],
        "licenses": ["quote-cal", "sale-cal", "no-such-thing"],
        "explain": True,
    }
    first = check(api, body)  # read from the database (and kept)
    second = check(api, body)
    third = check(api, body)  # from memory
    assert first == second == third
    hits = api.client.app.state.cache.hits  # type: ignore[attr-defined]
    assert hits > 0


def test_a_change_made_by_this_server_is_seen_by_its_next_check_without_min_version(api: Api) -> None:
    body = {"users": ["bob"], "licenses": ["quote-cal"]}
    assert held(check(api, body)) == [False]
    assert held(check(api, body)) == [False]  # now answered from memory
    answer = api.client.post(
        "/v1/tenants/acme/users/bob/assignments", json={"plans": ["sales-premium"]}, headers=api.headers("acme-admin")
    )
    assert answer.status_code == 200
    assert held(check(api, body)) == [True]
    answer = api.client.post("/v1/tenants/acme/users/bob/retire", json={}, headers=api.headers("acme-admin"))
    assert answer.status_code == 200, answer.text
    assert check(api, body)["results"] == [
        {"user": "bob", "license": "superoffice.quote-cal", "held": False, "reason": "USER_RETIRED"}
    ]


def test_a_revoked_token_is_refused_at_once_though_it_was_answered_from_memory(api: Api) -> None:
    body = {"users": ["alice"], "licenses": ["quote-cal"]}
    check(api, body)
    check(api, body)
    revoked = api.client.delete(f"/v1/tokens/{api.token_ids['acme-app']}", headers=api.headers("vendor"))
    assert revoked.status_code == 200
    answer = api.client.post(CHECK, json=body, headers=api.headers("acme-app"))
    assert answer.status_code == 401


def test_a_write_sent_with_an_idempotency_key_answers_with_its_version_too(api: Api) -> None:
    headers = {**api.headers("acme-admin"), "Idempotency-Key": "add-dora-once"}
    answer = api.client.post("/v1/tenants/acme/users", json={"name": "dora"}, headers=headers)
    assert answer.status_code == 201, answer.text
    version = int(answer.headers["Lisens-Version"])
    assert check(api, {"users": ["dora"], "licenses": ["quote-cal"], "min_version": version})["version"] == version


def test_a_change_answers_with_its_version_in_the_body_too_and_a_read_without(api: Api) -> None:
    written = api.client.post(
        "/v1/tenants/acme/users/bob/assignments", json={"plans": ["sales-premium"]}, headers=api.headers("acme-admin")
    )
    assert written.status_code == 200, written.text
    assert written.json()["version"] == int(written.headers["Lisens-Version"])
    seats = api.client.put("/v1/tenants/acme/seats/sales-premium", json={"number": 4}, headers=api.headers("vendor"))
    assert seats.status_code == 200, seats.text
    assert seats.json()["version"] == int(seats.headers["Lisens-Version"]) == written.json()["version"] + 1
    read = api.client.get("/v1/tenants/acme", headers=api.headers("acme-admin"))
    assert read.status_code == 200
    assert "version" not in read.json()
