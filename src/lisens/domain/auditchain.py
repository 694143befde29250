"""The hash chain of an audit log: each entry's hash covers its content and the hash before it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from hashlib import sha256
from json.encoder import encode_basestring_ascii
from typing import Any

# The hash an empty log starts from; entry 1 chains to it.
GENESIS = "0" * 64


@dataclass(frozen=True)
class Entry:
    """What the hash of one log entry covers, in the terms of the domain (not a database row)."""

    seq: int
    at: datetime  # in UTC
    actor: str
    action: str
    subject: str
    user_id: int | None
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None
    correction: bool
    prev_hash: str
    hash: str = ""


def entry_hash(entry: Entry) -> str:
    """SHA-256 over canonical JSON of everything the entry says, including its place and predecessor."""
    content = {
        "seq": entry.seq,
        "at": entry.at.isoformat(timespec="microseconds"),
        "actor": entry.actor,
        "action": entry.action,
        "subject": entry.subject,
        "user_id": entry.user_id,
        "before": entry.before,
        "after": entry.after,
        "correction": entry.correction,
        "prev": entry.prev_hash,
    }
    return hashlib.sha256(canonical_json(content).encode("ascii")).hexdigest()


def canonical_json(value: Any) -> str:
    """The JSON a hash covers: keys sorted, no spaces, ASCII only."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


class ChainedHashes:
    """The hashes of consecutive entries of one change (one time, actor and correction flag), byte for byte
    those of `entry_hash`, for a change of many entries: each entry's canonical JSON is put together from
    parts, so that a `before` or `after` document shared by many entries (a bulk's 200,000 entries hold a
    handful of distinct snapshots) is serialised once, not once per entry. A document must not change
    while its entries are hashed."""

    def __init__(self, *, at: datetime, actor: str, correction: bool) -> None:
        # The keys in sorted order: action, actor, after, at, before, correction, prev, seq, subject, user_id.
        self._actor = ',"actor":' + _string(actor) + ',"after":'
        self._at = ',"at":' + _string(at.isoformat(timespec="microseconds")) + ',"before":'
        self._correction = ',"correction":' + ("true" if correction else "false") + ',"prev":'
        self._actions: dict[str, str] = {}
        # From "after" to "prev", by the identities of the two documents; each kept with its documents,
        # so that their ids stay their own while they are here.
        self._middles: dict[tuple[int, int], tuple[object, object, str]] = {}

    def next(
        self,
        prev_hash: str,
        *,
        seq: int,
        action: str,
        subject: str,
        user_id: int | None,
        before: Mapping[str, Any] | None,
        after: Mapping[str, Any] | None,
    ) -> str:
        """The hash of the entry numbered `seq` that follows the entry hashed `prev_hash`."""
        if seq.__class__ is not int or (user_id is not None and user_id.__class__ is not int):
            raise TypeError("seq and user_id are whole numbers")
        start = self._actions.get(action)
        if start is None:
            start = self._actions[action] = '{"action":' + _string(action) + self._actor
        middle = self._middles.get((id(after), id(before)))
        if middle is None:
            text = canonical_json(after) + self._at + canonical_json(before) + self._correction
            middle = self._middles[id(after), id(before)] = (after, before, text)
        user = "null" if user_id is None else int.__repr__(user_id)
        text = (
            f'{start}{middle[2]}{encode_basestring_ascii(prev_hash)},"seq":{int.__repr__(seq)},'
            f'"subject":{encode_basestring_ascii(subject)},"user_id":{user}}}'
        )
        return sha256(text.encode("ascii")).hexdigest()


def _string(value: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, not {type(value).__name__}")
    return encode_basestring_ascii(value)


@dataclass(frozen=True)
class ChainBreak:
    """The first place where a log is not what was written: `seq` is the entry to look at."""

    seq: int
    problem: str  # EDITED | MISSING | REORDERED | TRUNCATED
    message: str


@dataclass(frozen=True)
class ChainReport:
    entries: int
    head_seq: int
    head_hash: str
    broken: ChainBreak | None

    @property
    def ok(self) -> bool:
        return self.broken is None


def verify_chain(entries: Iterable[Entry], *, head_seq: int, head_hash: str) -> ChainReport:
    """Walk the entries in sequence order and name the first edited, deleted, reordered or missing one.

    `head_seq` / `head_hash` are what the log's owner recorded as its last entry (kept apart from the
    entries): a log whose tail was deleted still chains, but no longer reaches the head.
    """
    expected = 1
    running = GENESIS
    last_at: datetime | None = None
    count = 0
    for entry in entries:
        count += 1
        if entry.seq < expected:
            return ChainReport(count, head_seq, head_hash, _break(entry.seq, "REORDERED", "appears twice"))
        if entry.seq > expected:
            return ChainReport(
                count, head_seq, head_hash, _break(expected, "MISSING", f"is missing (the next entry is {entry.seq})")
            )
        if entry_hash(entry) != entry.hash:
            return ChainReport(
                count, head_seq, head_hash, _break(entry.seq, "EDITED", "was changed after it was written")
            )
        if entry.prev_hash != running or (last_at is not None and entry.at < last_at):
            return ChainReport(
                count, head_seq, head_hash, _break(entry.seq, "REORDERED", "does not follow the entry before it")
            )
        running = entry.hash
        last_at = entry.at
        expected += 1
    if expected - 1 != head_seq or running != (head_hash or GENESIS):
        return ChainReport(
            count,
            head_seq,
            head_hash,
            _break(expected, "TRUNCATED", f"is missing: the log ends at {expected - 1}, its head is at {head_seq}"),
        )
    return ChainReport(count, head_seq, head_hash, None)


def _break(seq: int, problem: str, what: str) -> ChainBreak:
    return ChainBreak(seq=seq, problem=problem, message=f"entry {seq} {what}")
