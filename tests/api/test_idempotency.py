"""Idempotency-Key on /v1 writes: a retry gets the first answer and changes nothing; on both databases."""

from __future__ import annotations

import threading
import uuid

from tests.api.conftest import Api


def _users(api: Api) -> list[str]:
    answer = api.client.get("/v1/tenants/acme/users?limit=1000", headers=api.headers("vendor"))
    return [u["user"] for u in answer.json()]


def test_a_retry_with_the_same_key_gets_the_first_answer_and_changes_nothing(api: Api) -> None:
    headers = {**api.headers("acme-admin"), "Idempotency-Key": "k-1"}
    first = api.client.post("/v1/tenants/acme/users", json={"name": "carol"}, headers=headers)
    assert first.status_code == 201
    log = api.client.get("/v1/tenants/acme/audit?limit=1000", headers=api.headers("vendor")).json()
    again = api.client.post("/v1/tenants/acme/users", json={"name": "carol"}, headers=headers)
    assert again.status_code == 201
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    assert api.client.get("/v1/tenants/acme/audit?limit=1000", headers=api.headers("vendor")).json() == log


def test_an_error_answer_is_kept_too(api: Api) -> None:
    headers = {**api.headers("acme-admin"), "Idempotency-Key": "k-2"}
    first = api.client.post("/v1/tenants/acme/users", json={"name": "alice"}, headers=headers)
    assert first.status_code == 409
    assert api.client.post("/v1/tenants/acme/users", json={"name": "alice"}, headers=headers).content == first.content


def test_the_same_key_with_another_body_is_refused(api: Api) -> None:
    headers = {**api.headers("acme-admin"), "Idempotency-Key": "k-3"}
    assert api.client.post("/v1/tenants/acme/users", json={"name": "dave"}, headers=headers).status_code == 201
    other = api.client.post("/v1/tenants/acme/users", json={"name": "erin"}, headers=headers)
    assert other.status_code == 422
    assert other.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert "erin" not in _users(api)


def test_sixteen_concurrent_requests_with_one_key_have_one_effect(committed_api: Api) -> None:
    api = committed_api
    name = f"u{uuid.uuid4().hex[:8]}"
    headers = {**api.headers("acme-admin"), "Idempotency-Key": f"k-{name}"}
    answers: list[tuple[int, bytes]] = []
    start = threading.Barrier(16)

    def send() -> None:
        start.wait()
        answer = api.client.post("/v1/tenants/acme/users", json={"name": name}, headers=headers)
        answers.append((answer.status_code, answer.content))

    threads = [threading.Thread(target=send) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(answers) == 16
    assert {status for status, _ in answers} == {201}
    assert len({body for _, body in answers}) == 1
    assert _users(api).count(name) == 1
    log = api.client.get("/v1/tenants/acme/audit?limit=1000", headers=api.headers("vendor")).json()
    assert [e["subject"] for e in log if e["action"] == "user.add"].count(name) == 1
