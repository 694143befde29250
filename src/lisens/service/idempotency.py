"""Idempotent writes: the first answer to a request sent with an `Idempotency-Key` is kept 24 hours.

A retry with the same key and the same request (method, path, query and body) gets that answer again
and changes nothing; the same key with another request is refused (IDEMPOTENCY_KEY_REUSED).

The key is reserved in its own transaction before the request runs (state "running"), so of many
concurrent requests with one key exactly one runs; the others wait for its answer. The request's
first write keeps its transaction open (`Reservation.keep`); its answer is stored in that same
transaction, which then commits: the effect and the stored answer are written together or not at all.
A reservation whose request died before committing is taken over after `LEASE`; the request that held
it, should it still be running, finds its reservation gone when it stores its answer and is rolled back.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from lisens.db.repositories import IdempotencyRepository
from lisens.db.transaction import commit_kept, rollback_kept
from lisens.domain.errors import Code, Conflict, InvalidInput
from lisens.service.context import Context

if TYPE_CHECKING:
    from lisens.db.sessions import Session

KEEP = timedelta(hours=24)
LEASE = timedelta(minutes=2)  # a reservation whose request wrote no answer in this time is taken over
RETRY_AFTER = 2  # seconds, the hint sent with IDEMPOTENCY_KEY_IN_USE
MAX_KEY = 255


@dataclass(frozen=True)
class Stored:
    status: int
    media_type: str
    body: bytes


@dataclass
class Reservation:
    """A key reserved for the running request: its row and the time it was taken (together they tell
    this reservation from a later one of the same key), and the request's open transaction once it
    has written (`keep`)."""

    row_id: int
    taken_at: datetime
    kept: Session | None = None

    def keep(self, session: Session) -> None:
        self.kept = session


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


def _in_use() -> Conflict:
    return Conflict(
        "a request with this Idempotency-Key is still running; retry shortly",
        code=Code.IDEMPOTENCY_KEY_IN_USE,
        retry_after=RETRY_AFTER,
    )


def begin(ctx: Context, scope: str, key: str, print_: str) -> Stored | Reservation:
    """A Reservation: this request holds the key and runs. A Stored answer: replay it. Raises when the key
    belongs to another request (IDEMPOTENCY_KEY_REUSED) or its request is still running
    (IDEMPOTENCY_KEY_IN_USE, with a retry hint)."""
    repo = IdempotencyRepository(ctx.session)
    now = ctx.now()
    row = repo.claim(scope, key, fingerprint=print_, now=now, expires=now + KEEP, stale_before=now - LEASE)
    if row is not None:
        return Reservation(row.id, row.created_at)
    row = repo.get(scope, key)
    if row is not None and row.fingerprint != print_:
        raise InvalidInput(
            "this Idempotency-Key was used for another request in the last 24 hours; use a new key",
            code=Code.IDEMPOTENCY_KEY_REUSED,
        )
    if row is not None and row.state == "done" and row.status is not None:
        return Stored(row.status, row.media_type, row.body or b"")
    raise _in_use()


def commit_with_answer(reservation: Reservation, answer: Stored) -> None:
    """Store the answer in the request's kept transaction and commit both: the effect and its answer
    together. If the reservation was taken over meanwhile, nothing is written (IDEMPOTENCY_KEY_IN_USE)."""
    session, reservation.kept = reservation.kept, None
    assert session is not None
    try:
        stored = _store(IdempotencyRepository(session), reservation, answer)
    except BaseException:
        rollback_kept(session)
        raise
    if not stored:
        rollback_kept(session)
        raise _in_use()
    commit_kept(session)


def discard(reservation: Reservation) -> None:
    """Roll back the request's kept transaction (it ended without an answer to keep)."""
    session, reservation.kept = reservation.kept, None
    if session is not None:
        rollback_kept(session)


def finish(ctx: Context, reservation: Reservation, answer: Stored) -> bool:
    """Store the answer of a request that kept no transaction (it failed, or wrote nothing); False when
    the reservation is no longer held."""
    return _store(IdempotencyRepository(ctx.session), reservation, answer)


def _store(repo: IdempotencyRepository, reservation: Reservation, answer: Stored) -> bool:
    return repo.finish(
        reservation.row_id, reservation.taken_at, status=answer.status, media_type=answer.media_type, body=answer.body
    )


def release(ctx: Context, reservation: Reservation) -> None:
    """Give the key back when the request ended without an answer or its effect was not committed: a
    retry runs again."""
    IdempotencyRepository(ctx.session).release(reservation.row_id, reservation.taken_at)
