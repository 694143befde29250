"""What a request must be before any route reads it: text without NUL or lone surrogates, plain JSON.

One place for the whole API (the /v1 routes, the SuperOffice routes and agent methods, the panel's
forms): no route, service or database ever sees a NUL (PostgreSQL cannot store it), a lone surrogate
(it cannot be encoded as UTF-8, so neither stored nor answered), `NaN` / `Infinity` (not JSON) or
JSON nested deeper than `MAX_DEPTH` (unbounded recursion in every later consumer). Each is refused
with 422 and a stable code naming where the bad value is: INVALID_TEXT, INVALID_NUMBER, JSON_TOO_DEEP.

The body is parsed here once more than FastAPI does itself; see benchmarks/bench_api.py for its cost.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lisens.api.problems import error_problem
from lisens.domain.errors import InvalidInput
from lisens.domain.errors import InvalidNumber as InvalidNumber
from lisens.domain.errors import InvalidText as InvalidText
from lisens.domain.errors import JsonTooDeep as JsonTooDeep

# Real bodies nest a handful of levels (a package, SaveCentralLicense's owners); this is far above that.
MAX_DEPTH = 32
# A NUL or a surrogate can only reach a JSON string through a \u escape (raw control characters are
# refused by the parser, raw surrogates are not UTF-8): bodies without one need no walk for text.
SUSPECT_ESCAPE = re.compile(r"\\u(?:0000|[dD][89abcdefABCDEF][0-9a-fA-F]{2})")
JSON_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
VALUE_CHARS = 60


def shown(value: str) -> str:
    """`value` escaped and shortened so that it can be printed, logged and answered as UTF-8."""
    text = value.encode("unicode_escape", "backslashreplace").decode("ascii")
    return text if len(text) <= VALUE_CHARS else text[:VALUE_CHARS] + "..."


def text_problem(value: str) -> str | None:
    """What is wrong with `value` as text, or None."""
    position = value.find("\x00")
    if position >= 0:
        return f"contains a NUL character at position {position}"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"contains a lone surrogate (U+{ord(value[exc.start]):04X}) at position {exc.start}"
    return None


def check_text(value: str, location: str) -> None:
    """Refuse `value` with INVALID_TEXT, naming `location`, if it holds a NUL or a lone surrogate."""
    found = text_problem(value)
    if found is not None:
        raise InvalidText(f"{location}: text {found}", location=location, value=shown(value))


class _NonFinite:
    """What the parser makes of NaN, Infinity and numbers beyond a float; refused by the walk with its place."""

    def __init__(self, text: str) -> None:
        self.text = text


class _Refused(Exception):
    """Raised deep in a walk; each level adds its key on the way out, so the happy path builds no paths."""

    def __init__(self, kind: type[InvalidInput], problem: str, value: str | None = None) -> None:
        super().__init__(problem)
        self.kind = kind
        self.problem = problem
        self.value = value
        self.path: list[str] = []

    def error(self, root: str) -> InvalidInput:
        location = ".".join([root, *reversed(self.path)])
        extra: dict[str, Any] = {"value": self.value} if self.value is not None else {}
        return self.kind(f"{location}: {self.problem}", location=location, **extra)


def _walk(value: Any, depth: int, *, text: bool) -> None:
    if isinstance(value, str):
        if text and (found := text_problem(value)) is not None:
            raise _Refused(InvalidText, f"text {found}", shown(value))
    elif isinstance(value, dict):
        if depth >= MAX_DEPTH:
            raise _Refused(JsonTooDeep, f"JSON nested deeper than {MAX_DEPTH} levels")
        for key, item in value.items():
            try:
                if text and (found := text_problem(key)) is not None:
                    raise _Refused(InvalidText, f"a key {found}", shown(key))
                _walk(item, depth + 1, text=text)
            except _Refused as refused:
                refused.path.append(shown(key))
                raise
    elif isinstance(value, list):
        if depth >= MAX_DEPTH:
            raise _Refused(JsonTooDeep, f"JSON nested deeper than {MAX_DEPTH} levels")
        for index, item in enumerate(value):
            try:
                _walk(item, depth + 1, text=text)
            except _Refused as refused:
                refused.path.append(str(index))
                raise
    elif isinstance(value, _NonFinite):
        raise _Refused(InvalidNumber, f"{value.text} is not a JSON number (NaN, Infinity and overflowing numbers)")


def check_json(raw: bytes | str, *, root: str = "body") -> None:
    """Refuse a JSON document that holds bad text, NaN / Infinity or is nested too deep.

    Malformed JSON passes: the route's own parser answers it as before (422 INVALID_REQUEST).
    The work is bounded: the parser gives up (RecursionError) long before any stack is at risk,
    and the walk never descends below `MAX_DEPTH`.
    """
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidText(
                f"{root}: not UTF-8 (byte 0x{raw[exc.start]:02X} at offset {exc.start})", location=root
            ) from None
    raw = raw.removeprefix("\ufeff")
    special = False

    def non_finite(text: str) -> _NonFinite:
        nonlocal special
        special = True
        return _NonFinite(text)

    def number(text: str) -> float | _NonFinite:
        parsed = float(text)
        return parsed if math.isfinite(parsed) else non_finite(text)

    try:
        document = json.loads(raw, parse_constant=non_finite, parse_float=number)
    except RecursionError:
        raise JsonTooDeep(f"{root}: JSON nested deeper than {MAX_DEPTH} levels", location=root) from None
    except json.JSONDecodeError:
        return
    except ValueError as exc:  # an integer beyond Python's digit limit
        raise InvalidNumber(f"{root}: {exc}", location=root) from None
    text = SUSPECT_ESCAPE.search(raw) is not None
    if special or text or raw.count("[") + raw.count("{") > MAX_DEPTH:
        try:
            _walk(document, 0, text=text)
        except _Refused as refused:
            raise refused.error(root) from None


def check_query(raw: bytes, *, root: str) -> None:
    """Refuse a query string or form body holding a NUL (`%00`); other bytes decode to replacement marks."""
    if b"%00" not in raw and b"\x00" not in raw:
        return
    for key, value in parse_qsl(raw.decode("latin-1"), keep_blank_values=True):
        check_text(key, root)
        check_text(value, f"{root}.{shown(key)}")


def _content_type(scope: Scope) -> str | None:
    for name, value in scope.get("headers") or ():
        if name == b"content-type":
            found: str = value.decode("latin-1").partition(";")[0].strip().lower()
            return found
    return None


def _is_json(content_type: str | None) -> bool:
    # As FastAPI decides: no content type, or a JSON one, and the body is parsed as JSON.
    return content_type is None or content_type == "application/json" or content_type.endswith("+json")


def is_json(scope: Scope) -> bool:
    """Whether the request's body is read as JSON (no content type, or a JSON one)."""
    return _is_json(_content_type(scope))


class InputGuard:
    """ASGI middleware: checks the path, the query string and a JSON or form body before the app runs."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body: bytes | None = None
        try:
            check_text(scope.get("path", ""), "path")
            check_query(scope.get("query_string", b""), root="query")
            content_type = _content_type(scope)
            if scope.get("method") in JSON_METHODS and _is_json(content_type):
                body = await read_body(receive)
                if body:
                    check_json(body)
            elif content_type == "application/x-www-form-urlencoded":
                body = await read_body(receive)
                check_query(body, root="form")
        except InvalidInput as error:
            response = error_problem(error, instance=scope.get("path", ""))
            await response(scope, receive, send)
            return
        except Disconnected:
            return  # nobody is waiting for an answer
        await self.app(scope, receive if body is None else replayed(body, receive), send)


class Disconnected(Exception):
    """The client went away before its request's body was read."""


async def read_body(receive: Receive) -> bytes:
    """The whole body of a request (Disconnected if the client leaves first)."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise Disconnected
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def replayed(body: bytes, receive: Receive) -> Receive:
    """A receive that hands the app the body read already, then waits on the client as before."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
