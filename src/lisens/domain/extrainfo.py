"""The ExtraInfo codec: `set=a,b,c` exactly as SuperOffice writes it on a user-plan license."""

from __future__ import annotations

import re
from collections.abc import Container, Iterable

from lisens.domain.errors import Code, ExtraInfoError

PREFIX = "set="
_ITEM_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")
_KEY_RE = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")

# Stable codes, one per rule.
EMPTY = Code.EXTRAINFO_EMPTY
MISSING_SET = Code.EXTRAINFO_MISSING_SET
UNKNOWN_KEY = Code.EXTRAINFO_UNKNOWN_KEY
EMPTY_ITEM = Code.EXTRAINFO_EMPTY_ITEM
DUPLICATE = Code.EXTRAINFO_DUPLICATE
BAD_CHARACTER = Code.EXTRAINFO_BAD_CHARACTER
UNKNOWN_LICENSE = Code.EXTRAINFO_UNKNOWN_LICENSE


def parse_extra_info(text: str, *, known: Container[str] | None = None) -> tuple[str, ...]:
    """Parse `set=a,b,c` into its module names, in order.

    `set=` alone is the empty set (a plan that enables nothing). With `known`, every name must be
    in it (module names of the catalog).
    """
    if text == "":
        raise ExtraInfoError("ExtraInfo is empty; expected 'set=' and a list of module names", code=EMPTY, value=text)
    key, eq, rest = text.partition("=")
    if not eq:
        raise ExtraInfoError(f"ExtraInfo {text!r} does not start with 'set='", code=MISSING_SET, value=text)
    if key != "set":
        if _KEY_RE.fullmatch(key) and key.lower() != "set":
            raise ExtraInfoError(
                f"ExtraInfo {text!r} has unknown key {key!r}; the only key is 'set'", code=UNKNOWN_KEY, value=text
            )
        raise ExtraInfoError(f"ExtraInfo {text!r} does not start with 'set='", code=MISSING_SET, value=text)
    if rest == "":
        return ()
    names = rest.split(",")
    seen: set[str] = set()
    for position, name in enumerate(names, start=1):
        if name == "":
            raise ExtraInfoError(
                f"ExtraInfo {text!r} has an empty item at position {position}", code=EMPTY_ITEM, value=text
            )
        if not _ITEM_RE.fullmatch(name):
            raise ExtraInfoError(
                f"ExtraInfo {text!r}: item {name!r} has characters outside a-z, 0-9 and '-'",
                code=BAD_CHARACTER,
                value=text,
                item=name,
            )
        if name in seen:
            raise ExtraInfoError(f"ExtraInfo {text!r} lists {name!r} twice", code=DUPLICATE, value=text, item=name)
        seen.add(name)
        if known is not None and name not in known:
            raise ExtraInfoError(
                f"ExtraInfo {text!r}: {name!r} is not a module license of the catalog",
                code=UNKNOWN_LICENSE,
                value=text,
                item=name,
            )
    return tuple(names)


def format_extra_info(names: Iterable[str], *, known: Container[str] | None = None) -> str:
    """Format module names as `set=a,b,c`; refuses what `parse_extra_info` would refuse."""
    items = tuple(names)
    text = PREFIX + ",".join(items)
    for name in items:
        # A name with a comma would come back as two names: refuse it before it is joined.
        if "," in name:
            raise ExtraInfoError(
                f"module name {name!r} holds a comma and cannot be written into ExtraInfo",
                code=BAD_CHARACTER,
                value=name,
                item=name,
            )
    parse_extra_info(text, known=known)
    return text
