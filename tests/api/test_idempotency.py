"""Idempotency-Key on /v1 writes: a retry gets the first answer and changes nothing; on both databases."""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any

import pytest

from lisens.db.repositories import IdempotencyRepository
from lisens.service import idempotency
from lisens.service.context import Context
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


def test_when_storing_the_answer_fails_the_effect_is_not_committed_and_a_retry_runs_once(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = {**api.headers("acme-admin"), "Idempotency-Key": "k-crash"}
    real_finish = IdempotencyRepository.finish

    def dies(*args: Any, **kwargs: Any) -> bool:
        raise RuntimeError("the server stops while storing the answer")

    monkeypatch.setattr(IdempotencyRepository, "finish", dies)
    failed = api.client.post("/v1/tenants/acme/users", json={"name": "frank"}, headers=headers)
    assert failed.status_code == 500
    assert "frank" not in _users(api)
    monkeypatch.setattr(IdempotencyRepository, "finish", real_finish)
    again = api.client.post("/v1/tenants/acme/users", json={"name": "frank"}, headers=headers)
    assert again.status_code == 201
    assert "idempotent-replayed" not in again.headers
    assert _users(api).count("frank") == 1
    replayed = api.client.post("/v1/tenants/acme/users", json={"name": "frank"}, headers=headers)
    assert replayed.headers["idempotent-replayed"] == "true"


def test_a_retry_while_the_first_request_is_running_gets_409_with_retry_after(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = {**api.headers("acme-admin"), "Idempotency-Key": "k-running"}
    body = json.dumps({"name": "gus"}).encode()
    print_ = idempotency.fingerprint("POST", "/v1/tenants/acme/users", b"", body)
    with api.session() as session:
        ctx = Context(session=session, actor="test")
        assert isinstance(
            idempotency.begin(ctx, idempotency.scope_of(headers["Authorization"]), "k-running", print_),
            idempotency.Reservation,
        )
        session.commit()
    monkeypatch.setattr("lisens.api.idempotency.WAIT", 0.1)
    answer = api.client.post(
        "/v1/tenants/acme/users", content=body, headers={**headers, "content-type": "application/json"}
    )
    assert answer.status_code == 409
    assert answer.json()["code"] == "IDEMPOTENCY_KEY_IN_USE"
    assert answer.headers["retry-after"] == str(idempotency.RETRY_AFTER)
    assert "gus" not in _users(api)
