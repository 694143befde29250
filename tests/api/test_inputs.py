"""The input guard on its own: which text, numbers and nesting it refuses, where it says they are, and that
the app behind it receives the body exactly as sent."""

from __future__ import annotations

import asyncio
import json

import pytest
from starlette.types import Message, Receive, Scope, Send

from lisens.api.inputs import MAX_DEPTH, InputGuard, check_json, check_query
from lisens.domain.errors import InvalidInput


@pytest.mark.parametrize(
    "raw",
    [
        '{"name": "Smile \\ud83d\\ude00"}',  # a surrogate pair is one character
        '{"name": "\\\\u0000 is how JSON writes a NUL"}',  # an escaped backslash, no NUL
        '{"name": "tab\\tand \\u0001 control"}',  # control characters other than NUL are text
        "\ufeff" + '{"name": "after a byte order mark"}',
        "[" * MAX_DEPTH + "]" * MAX_DEPTH,
        '{"number": 1.5e300, "flag": true, "nothing": null}',
        "{not json",  # left to the route's own parser and its INVALID_REQUEST
    ],
    ids=["surrogate-pair", "escaped-backslash", "controls", "bom", "deepest-allowed", "numbers", "malformed"],
)
def test_ordinary_json_passes_the_guard(raw: str) -> None:
    check_json(raw.encode())


@pytest.mark.parametrize(
    ("raw", "code", "location"),
    [
        ('{"a": {"b": ["ok", "x\\u0000"]}}', "INVALID_TEXT", "body.a.b.1"),
        ('{"a\\ud800": 1}', "INVALID_TEXT", "body.a\\ud800"),
        ('["\\ud83d"]', "INVALID_TEXT", "body.0"),
        ('{"n": [1, 2, NaN]}', "INVALID_NUMBER", "body.n.2"),
        ('{"n": -1e400}', "INVALID_NUMBER", "body.n"),
        ("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), "JSON_TOO_DEEP", "body" + ".0" * MAX_DEPTH),
        ("[" * 1_000_000, "JSON_TOO_DEEP", "body"),
    ],
    ids=["nul", "surrogate-in-key", "high-surrogate-alone", "nan", "overflow", "one-level-too-deep", "very-deep"],
)
def test_hostile_json_is_refused_naming_where(raw: str, code: str, location: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_json(raw.encode())
    assert caught.value.code == code
    assert caught.value.details["location"] == location
    assert caught.value.message.startswith(f"{location}: ")


def test_a_body_that_is_not_utf8_is_invalid_text_naming_the_byte() -> None:
    with pytest.raises(InvalidInput) as caught:
        check_json(b'{"name": "\xed\xa0\x80"}')
    assert caught.value.code == "INVALID_TEXT"
    assert "0xED at offset 10" in caught.value.message


def test_a_nul_in_a_query_or_form_is_refused_naming_the_field_and_an_encoded_percent_is_not() -> None:
    with pytest.raises(InvalidInput) as caught:
        check_query(b"tenant=acme&user=al%00ice", root="query")
    assert caught.value.details["location"] == "query.user"
    check_query(b"user=100%2500", root="query")


def run_guard(body: list[bytes], *, disconnect: bool = False) -> tuple[list[bytes], list[Message]]:
    """The bodies the app behind the guard read, and what was sent to the client."""
    seen: list[bytes] = []
    sent: list[Message] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        message = await receive()
        seen.append(message["body"])
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    messages: list[Message] = [
        {"type": "http.request", "body": chunk, "more_body": n < len(body) - 1} for n, chunk in enumerate(body)
    ]
    if disconnect:
        messages[-1:] = [{"type": "http.disconnect"}]

    async def receive() -> Message:
        return messages.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/v1/x", "query_string": b"", "headers": []}
    asyncio.run(InputGuard(app)(scope, receive, send))
    return seen, sent


def test_the_app_behind_the_guard_reads_the_body_exactly_as_sent_in_one_piece() -> None:
    chunks = [b'{"users": ["al', b'ice"], "licenses": ', json.dumps(["sale-cal"]).encode() + b"}"]
    seen, sent = run_guard(chunks)
    assert seen == [b"".join(chunks)]
    assert sent[0]["status"] == 204


def test_a_refused_body_never_reaches_the_app() -> None:
    seen, sent = run_guard([b'{"name": "a\\u0000"}'])
    assert seen == []
    assert sent[0]["status"] == 422
    assert json.loads(sent[1]["body"])["location"] == "body.name"


def test_a_client_gone_before_its_body_arrived_gets_no_answer_and_runs_nothing() -> None:
    seen, sent = run_guard([b'{"name": ', b"never"], disconnect=True)
    assert seen == []
    assert sent == []
