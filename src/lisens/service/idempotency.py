"""Idempotent writes: the first answer to a request sent with an `Idempotency-Key` is kept 24 hours.

A retry with the same key and the same request (method, path, query and body) gets that answer again
and changes nothing; the same key with another request is refused (IDEMPOTENCY_KEY_REUSED). The key is
claimed in its own transaction before the request runs, so of many concurrent requests with one key
exactly one runs; the others wait for its answer.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from lisens.db.repositories import IdempotencyRepository
from lisens.domain.errors import Code, Conflict, InvalidInput
from lisens.service.context import Context

KEEP = timedelta(hours=24)
MAX_KEY = 255


@dataclass(frozen=True)
class Stored:
    status: int
    media_type: str
    body: bytes


def fingerprint(method: str, path: str, query: bytes, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query, body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def scope_of(authorization: str) -> str:
    """Keys are per caller: the SHA-256 of the credentials sent (another token's key is another key)."""
    return hashlib.sha256(authorization.encode()).hexdigest()


def require_key(key: str) -> str:
    if not key or len(key) > MAX_KEY or not key.isprintable():
        raise InvalidInput(
            f"an Idempotency-Key is 1 to {MAX_KEY} printable characters",
            code=Code.INVALID_INPUT,
            header="Idempotency-Key",
        )
    return key


def begin(ctx: Context, scope: str, key: str, print_: str) -> Stored | None:
    """None: this request holds the key and runs. A Stored answer: replay it. Raises when the key belongs
    to another request (IDEMPOTENCY_KEY_REUSED) or its request is still running (IDEMPOTENCY_KEY_IN_USE)."""
    repo = IdempotencyRepository(ctx.session)
    now = ctx.now()
    if repo.claim(scope, key, fingerprint=print_, now=now, expires=now + KEEP):
        return None
    row = repo.get(scope, key)
    if row is not None and row.fingerprint != print_:
        raise InvalidInput(
            "this Idempotency-Key was used for another request in the last 24 hours; use a new key",
            code=Code.IDEMPOTENCY_KEY_REUSED,
        )
    if row is not None and row.state == "done" and row.status is not None:
        return Stored(row.status, row.media_type, row.body or b"")
    raise Conflict("a request with this Idempotency-Key is still running", code=Code.IDEMPOTENCY_KEY_IN_USE)


def finish(ctx: Context, scope: str, key: str, answer: Stored) -> None:
    IdempotencyRepository(ctx.session).finish(
        scope, key, status=answer.status, media_type=answer.media_type, body=answer.body
    )


def release(ctx: Context, scope: str, key: str) -> None:
    """Give the key back when the request ended without an answer (the client went away)."""
    IdempotencyRepository(ctx.session).release(scope, key)
