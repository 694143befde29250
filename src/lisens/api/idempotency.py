"""ASGI middleware: `Idempotency-Key` on every POST, PUT, PATCH and DELETE under /v1 (service/idempotency.py)."""

from __future__ import annotations

import time
from typing import Any

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lisens.api.inputs import Disconnected, read_body, replayed
from lisens.api.problems import problem, status_of
from lisens.domain.errors import Code, LisensError
from lisens.service import idempotency
from lisens.service.uow import unit_of_work
from lisens.web.units import IDEMPOTENCY, answer_version

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
WAIT = 30.0  # seconds a retry waits for the first request with its key to answer


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


class Idempotency:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = _header(scope, b"idempotency-key") if scope["type"] == "http" else None
        if key is None or scope.get("method") not in WRITES or not str(scope.get("path", "")).startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        instance = str(scope.get("path", ""))
        try:
            body = await read_body(receive)
        except Disconnected:
            return  # nobody is waiting for an answer
        app_state = scope["app"].state
        who = idempotency.scope_of(_header(scope, b"authorization") or "")
        print_ = idempotency.fingerprint(scope["method"], instance, scope.get("query_string", b""), body)

        def unit() -> Any:
            return unit_of_work(app_state.sessions, actor="idempotency", catalog_dir=None, clock=app_state.clock)

        def begin() -> idempotency.Stored | idempotency.Reservation:
            idempotency.require_key(key)
            with unit() as ctx:
                return idempotency.begin(ctx, who, key, print_)

        deadline = time.monotonic() + WAIT
        while True:
            try:
                began = await anyio.to_thread.run_sync(begin)
                break
            except LisensError as error:
                if error.code == Code.IDEMPOTENCY_KEY_IN_USE and time.monotonic() < deadline:
                    await anyio.sleep(0.05)
                    continue
                await _refuse(error, instance, scope, receive, send)
                return
        if isinstance(began, idempotency.Stored):
            await _answer(began, send)
            return
        reservation = began
        scope.setdefault("state", {})[IDEMPOTENCY] = reservation
        # The answer is held back until it is stored: with the effect, in the request's own transaction.
        status, media_type, chunks = 0, "", []

        async def capture(message: Message) -> None:
            nonlocal status, media_type
            if message["type"] == "http.response.start":
                status = int(message["status"])
                media_type = next(
                    (bytes(v).decode("latin-1") for k, v in message.get("headers", []) if k.lower() == b"content-type"),
                    "",
                )
                headers[:] = [(bytes(k), bytes(v)) for k, v in message.get("headers", [])]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        headers: list[tuple[bytes, bytes]] = []

        def settle() -> None:
            """Store the answer: in the kept transaction, committing the effect with it; else on its own."""
            answer = idempotency.Stored(status, media_type, b"".join(chunks))
            if reservation.kept is not None:
                kept = reservation.kept
                try:
                    idempotency.commit_with_answer(reservation, answer)
                    answer_version(scope.setdefault("state", {}), kept)  # as an answer without a key has it
                except BaseException as error:
                    # Nothing was committed. Unless another request took the key over, a retry may run again.
                    if not (isinstance(error, LisensError) and error.code == Code.IDEMPOTENCY_KEY_IN_USE):
                        with unit() as ctx:
                            idempotency.release(ctx, reservation)
                    raise
                return
            with unit() as ctx:
                if status >= 500:  # nothing was committed and the fault was the server's: a retry runs again
                    idempotency.release(ctx, reservation)
                else:
                    idempotency.finish(ctx, reservation, answer)

        def abandon() -> None:
            """The request ended without an answer: nothing of it is committed and the key is given back."""
            try:
                idempotency.discard(reservation)
            finally:
                with unit() as ctx:
                    idempotency.release(ctx, reservation)

        try:
            await self.app(scope, replayed(body, receive), capture)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(abandon)
            raise
        if not status:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(abandon)
            return
        try:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(settle)
        except LisensError as error:
            await _refuse(error, instance, scope, receive, send)
            return
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"".join(chunks)})


async def _refuse(error: LisensError, instance: str, scope: Scope, receive: Receive, send: Send) -> None:
    response = problem(status_of(error), error.code, error.message, instance=instance)
    if "retry_after" in error.details:
        response.headers["Retry-After"] = str(error.details["retry_after"])
    await response(scope, receive, send)


async def _answer(stored: idempotency.Stored, send: Send) -> None:
    headers = [(b"idempotent-replayed", b"true")]
    if stored.media_type:
        headers.append((b"content-type", stored.media_type.encode("latin-1")))
    headers.append((b"content-length", str(len(stored.body)).encode()))
    await send({"type": "http.response.start", "status": stored.status, "headers": headers})
    await send({"type": "http.response.body", "body": stored.body})
