"""The batch check's limits: the largest allowed request answers, correctly and streamed; a larger one is refused."""

from __future__ import annotations

import json

import pytest

from lisens.service.users import MAX_CHECK_PAIRS, MAX_EXPLAINED_PAIRS, BatchTooLarge, require_batch_size
from tests.api.conftest import Api

# A mix of what a check meets: held by alice's plan, held by no one, a system license, unknown names.
SAMPLE = ["superoffice.quote-cal", "SALE", "mktg-auto-cal", "superoffice.ej-client", "nosuch.module", "no-such"]
PEOPLE = ["alice", "bob", "nobody"]


def _licenses(count: int) -> list[str]:
    return SAMPLE + [f"superoffice.filler{n}" for n in range(count - len(SAMPLE))]


def _expected(api: Api, licenses: list[str], *, explain: bool = False) -> dict[tuple[str, str], dict[str, object]]:
    """What one small check says for each (person, license): the large one must say the same."""
    small = api.client.post(
        "/v1/tenants/acme/check",
        headers=api.headers("acme-app"),
        json={"users": PEOPLE, "licenses": licenses, "explain": explain},
    ).json()["results"]
    return {(r["user"], r["license"]): r for r in small}


def test_the_largest_allowed_check_answers_every_pair_correctly(api: Api) -> None:
    licenses = _licenses(1000)
    users = [PEOPLE[n % 3] for n in range(MAX_CHECK_PAIRS // len(licenses))]
    assert len(users) * len(licenses) == MAX_CHECK_PAIRS
    expected = _expected(api, licenses)
    response = api.client.post(
        "/v1/tenants/acme/check", headers=api.headers("acme-app"), json={"users": users, "licenses": licenses}
    )
    assert response.status_code == 200, response.text[:500]
    assert "content-length" not in response.headers  # streamed in chunks, not built whole in memory
    results = json.loads(response.content)["results"]
    assert len(results) == MAX_CHECK_PAIRS
    keys = [expected_key(name) for name in licenses]
    width = len(licenses)
    for n, row in enumerate(results):  # in the order asked, each the same as the small check's
        assert row == expected[(users[n // width], keys[n % width])]
    held = {(r["user"], r["license"]) for r in results if r["held"]}
    assert held == {k for k, r in expected.items() if r["held"]}
    assert expected[("alice", "superoffice.quote-cal")]["reason"] == "HELD"
    assert expected[("bob", "superoffice.quote-cal")]["reason"] == "NOT_ASSIGNED"
    assert expected[("nobody", "superoffice.sale")]["reason"] == "UNKNOWN_USER"


def expected_key(name: str) -> str:
    lowered = name.lower()
    return lowered if "." in lowered else "superoffice." + lowered


def test_the_largest_allowed_explained_check_answers_every_pair_with_its_grants(api: Api) -> None:
    licenses = _licenses(1000)
    users = [PEOPLE[n % 3] for n in range(MAX_EXPLAINED_PAIRS // len(licenses))]
    expected = _expected(api, licenses, explain=True)
    response = api.client.post(
        "/v1/tenants/acme/check",
        headers=api.headers("acme-app"),
        json={"users": users, "licenses": licenses, "explain": True},
    )
    assert response.status_code == 200, response.text[:500]
    results = json.loads(response.content)["results"]
    assert len(results) == MAX_EXPLAINED_PAIRS
    assert all(row == expected[(row["user"], row["license"])] for row in results)
    quote = expected[("alice", "superoffice.quote-cal")]
    assert quote["granted_by"] == [{"kind": "plan", "source": "sales-premium", "text": "plan sales-premium"}]
    assert expected[("bob", "superoffice.quote-cal")]["would_grant"]


@pytest.mark.parametrize(
    ("users", "licenses", "explain"),
    [
        (MAX_CHECK_PAIRS // 1000 + 1, 1000, False),
        (10_000, 1000, False),  # within the size of each list, far over the pairs
        (MAX_EXPLAINED_PAIRS // 1000 + 1, 1000, True),
    ],
)
def test_a_check_of_one_pair_too_many_is_refused_up_front_with_the_numbers(
    api: Api, users: int, licenses: int, explain: bool
) -> None:
    cache = api.client.app.state.cache  # type: ignore[attr-defined]
    before = (cache.hits, cache.misses)
    response = api.client.post(
        "/v1/tenants/acme/check",
        headers=api.headers("acme-app"),
        json={"users": [PEOPLE[n % 3] for n in range(users)], "licenses": _licenses(licenses), "explain": explain},
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    limit = MAX_EXPLAINED_PAIRS if explain else MAX_CHECK_PAIRS
    assert problem["code"] == "BATCH_TOO_LARGE"
    assert (problem["users"], problem["licenses"], problem["pairs"], problem["limit"]) == (
        users,
        licenses,
        users * licenses,
        limit,
    )
    assert str(limit) in problem["detail"]
    assert (cache.hits, cache.misses) == before  # refused before any user was looked up


def test_a_check_refuses_names_longer_than_any_user_or_license_can_be(api: Api) -> None:
    response = api.client.post(
        "/v1/tenants/acme/check", headers=api.headers("acme-app"), json={"users": ["a" * 255], "licenses": ["x"]}
    )
    assert response.status_code == 422
    assert response.json()["code"] == "INVALID_REQUEST"
    assert response.json()["errors"][0]["location"] == "body.users.0"


def test_the_batch_limit_counts_pairs_not_lists() -> None:
    require_batch_size(1000, 1000, explain=False)
    require_batch_size(100, 1000, explain=True)
    with pytest.raises(BatchTooLarge) as refused:
        require_batch_size(1001, 1000, explain=False)
    assert refused.value.code == "BATCH_TOO_LARGE"
    assert refused.value.details["pairs"] == 1_001_000
    with pytest.raises(BatchTooLarge):
        require_batch_size(101, 1000, explain=True)
