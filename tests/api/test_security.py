"""Failed authentications over the API: beyond the limit, 429 with Retry-After; a valid token is never held back."""

from __future__ import annotations

from fastapi.testclient import TestClient

from lisens.api.app import create_app
from lisens.api.security import FailedAuthLimiter
from lisens.settings import Settings
from tests.api.conftest import Api


def _client(api: Api, *, limit: int = 5, window: int = 60) -> TestClient:
    settings = Settings(database_url=api.database.url, auth_failure_limit=limit, auth_failure_window=window)
    return TestClient(create_app(settings, engine=api.database.engine))


def test_bad_tokens_beyond_the_limit_get_429_with_retry_after_and_the_code(api: Api) -> None:
    client = _client(api, limit=5)
    bad = {"Authorization": "Bearer lsn_guess"}
    statuses = [client.get("/v1/tenants", headers=bad).status_code for _ in range(8)]
    assert statuses == [401] * 5 + [429] * 3
    refused = client.get("/v1/tenants", headers=bad)
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    problem = refused.json()
    assert problem["code"] == "TOO_MANY_FAILED_AUTHENTICATIONS"
    assert (problem["limit"], problem["window"], problem["client"]) == (5, 60, "testclient")
    assert problem["retry_after"] == int(refused.headers["retry-after"])


def test_a_valid_token_is_answered_even_from_an_address_over_the_limit(api: Api) -> None:
    client = _client(api, limit=2)
    for _ in range(4):
        client.get("/v1/tenants", headers={"Authorization": "Bearer lsn_guess"})
    assert client.get("/v1/tenants", headers={"Authorization": "Bearer lsn_guess"}).status_code == 429
    for _ in range(50):
        assert client.get("/v1/tenants/acme", headers=api.headers("acme-app")).status_code == 200
    # SuperOffice-shaped routes share the same authentication:
    assert client.get("/api/v1/User/currentPrincipal", headers=api.headers("acme-app")).status_code == 200


def test_many_successful_authentications_never_count(api: Api) -> None:
    client = _client(api, limit=1)
    for _ in range(30):
        assert client.get("/v1/tenants/acme", headers=api.headers("acme-admin")).status_code == 200
    assert client.get("/v1/tenants", headers={"Authorization": "Bearer lsn_guess"}).status_code == 401


def test_requests_without_credentials_are_not_failed_authentications(api: Api) -> None:
    client = _client(api, limit=1)
    for _ in range(5):
        assert client.get("/v1/tenants").status_code == 401
    assert client.get("/v1/tenants", headers={"Authorization": "Bearer lsn_guess"}).status_code == 401
    assert client.get("/v1/tenants", headers={"Authorization": "Basic abc"}).status_code == 429


def test_the_limit_is_counted_per_client_and_a_window_ends() -> None:
    now = [1000.0]
    limiter = FailedAuthLimiter(limit=2, window=60, clock=lambda: now[0])
    assert [limiter.failed("10.0.0.1") for _ in range(3)] == [None, None, 60]
    assert limiter.failed("10.0.0.2") is None  # another address has its own count
    now[0] += 45
    assert limiter.failed("10.0.0.1") == 15
    now[0] += 16  # the window of the first failure has ended
    assert limiter.failed("10.0.0.1") is None


def test_the_limiter_remembers_a_bounded_number_of_clients() -> None:
    limiter = FailedAuthLimiter(limit=1, window=3600, max_clients=100)
    for n in range(10_000):
        limiter.failed(f"10.0.{n // 256}.{n % 256}")
    assert len(limiter._failures) <= 100
