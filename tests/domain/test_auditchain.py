"""The hash chain: `ChainedHashes` hashes the bytes `entry_hash` hashes, however its documents are shared."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lisens.domain.auditchain import GENESIS, ChainedHashes, Entry, entry_hash, verify_chain

T0 = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)

# Any text JSON can hold: control characters, quotes, backslashes, non-ASCII and astral characters.
texts = st.text(st.characters(exclude_categories=("Cs",)), max_size=30)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=12,
)
documents = st.none() | st.dictionaries(texts, json_values, max_size=6)
entries = st.tuples(
    texts,  # action
    texts,  # subject
    st.none() | st.integers(min_value=-(2**63), max_value=2**63),  # user id
    documents,  # before
    documents,  # after
)
moments = st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2999, 12, 31), timezones=st.just(UTC)).map(
    lambda moment: moment.astimezone(UTC)
)


def _one_by_one(
    items: list[tuple[str, str, int | None, Any, Any]], *, at: datetime, actor: str, correction: bool, first: int
) -> list[Entry]:
    chained: list[Entry] = []
    prev = GENESIS
    for seq, (action, subject, user_id, before, after) in enumerate(items, start=first):
        entry = Entry(seq, at, actor, action, subject, user_id, before, after, correction, prev)
        prev = entry_hash(entry)
        chained.append(
            Entry(seq, at, actor, action, subject, user_id, before, after, correction, entry.prev_hash, prev)
        )
    return chained


@given(st.lists(entries, min_size=1, max_size=8), moments, texts, st.booleans(), st.integers(1, 10**9))
def test_chained_hashes_are_those_of_entry_hash_for_any_entries(
    items: list[tuple[str, str, int | None, Any, Any]], at: datetime, actor: str, correction: bool, first: int
) -> None:
    expected = _one_by_one(items, at=at, actor=actor, correction=correction, first=first)
    hashes = ChainedHashes(at=at, actor=actor, correction=correction)
    prev = GENESIS
    for entry, (action, subject, user_id, before, after) in zip(expected, items, strict=True):
        digest = hashes.next(
            prev, seq=entry.seq, action=action, subject=subject, user_id=user_id, before=before, after=after
        )
        assert digest == entry.hash
        prev = digest


def test_entries_sharing_one_document_object_hash_as_entries_with_copies_of_it() -> None:
    empty = {"plan": None, "licenses": [], "type": "internal", "can_log_in": True, "retired": False}
    held = {**empty, "plan": "sales-premium", "licenses": ["superoffice.quote-cal"]}
    shared = [("user.add", f"u{n}", n, None, empty) for n in range(1, 4)]
    shared += [("assign", "sales-premium", n, empty, held) for n in range(1, 4)]
    copied = [
        (action, subject, user_id, _copy(before), _copy(after)) for action, subject, user_id, before, after in shared
    ]
    expected = _one_by_one(copied, at=T0, actor="admin", correction=False, first=1)
    hashes = ChainedHashes(at=T0, actor="admin", correction=False)
    prev = GENESIS
    digests = []
    for seq, (action, subject, user_id, before, after) in enumerate(shared, start=1):
        prev = hashes.next(prev, seq=seq, action=action, subject=subject, user_id=user_id, before=before, after=after)
        digests.append(prev)
    assert digests == [entry.hash for entry in expected]
    report = verify_chain(expected, head_seq=len(expected), head_hash=digests[-1])
    assert report.ok


def test_a_time_is_hashed_in_utc_to_the_microsecond_as_entry_hash_writes_it() -> None:
    at = T0 + timedelta(microseconds=7)
    entry = Entry(1, at, "admin", "assign", "sales-premium", 1, None, None, False, GENESIS)
    digest = ChainedHashes(at=at, actor="admin", correction=False).next(
        GENESIS, seq=1, action="assign", subject="sales-premium", user_id=1, before=None, after=None
    )
    assert digest == entry_hash(entry)


def test_a_boolean_user_id_is_refused_rather_than_hashed_unlike_entry_hash() -> None:
    hashes = ChainedHashes(at=T0, actor="admin", correction=False)
    with pytest.raises(TypeError):
        hashes.next(GENESIS, seq=1, action="assign", subject="x", user_id=True, before=None, after=None)


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value
