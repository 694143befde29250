"""Use cases answer typed values: no public function of `lisens.service` returns a bare dict or Any."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import types
from collections.abc import Iterator
from typing import Any, Union, get_args, get_origin

import lisens.service

# Signed JSON documents stay documents: their signature covers their canonical bytes.
DOCUMENTS = {
    "lisens.service.packages.build_package": "the unsigned license package, signed as JSON by issue_package",
    "lisens.service.packages.issue_package": "a signed license package (PackageRead describes it)",
    "lisens.service.packages.issue_snapshot": "a signed snapshot for lisens.offline (SnapshotRead describes it)",
    "lisens.service.users.user_snapshot": "a user's assignments as the audit log stores them, as JSON",
}


def _public_functions() -> Iterator[tuple[str, Any, Any]]:
    for info in pkgutil.iter_modules(lisens.service.__path__):
        module = importlib.import_module(f"lisens.service.{info.name}")
        for name, value in vars(module).items():
            if name.startswith("_") or not inspect.isfunction(value) or value.__module__ != module.__name__:
                continue  # private helpers and names imported from elsewhere
            yield f"{module.__name__}.{name}", value, module


def _untyped(annotation: Any) -> bool:
    """Whether an answer is `Any`, a bare `dict`, `dict[str, Any]`, or a list, tuple or union of those."""
    if annotation is Any or annotation is dict:
        return True
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is dict:
        return args[1] is Any
    if origin in (list, tuple, Union, types.UnionType):
        return any(_untyped(arg) for arg in args if arg is not Ellipsis)
    return False


def test_every_public_service_function_declares_what_it_returns() -> None:
    missing = [name for name, function, _ in _public_functions() if "return" not in function.__annotations__]
    assert missing == []


def test_no_public_service_function_returns_a_bare_dict_or_any() -> None:
    untyped = []
    for name, function, module in _public_functions():
        annotation = function.__annotations__["return"]
        if isinstance(annotation, str):
            annotation = eval(annotation, vars(module))  # the module's names, as its annotations use them
        if _untyped(annotation) and name not in DOCUMENTS:
            untyped.append(name)
    assert untyped == []


def test_every_allowed_document_is_still_a_public_service_function() -> None:
    names = {name for name, _, _ in _public_functions()}
    assert set(DOCUMENTS) <= names


def test_the_check_finds_an_untyped_answer() -> None:
    assert _untyped(dict[str, Any])
    assert _untyped(list[dict[str, Any]] | None)
    assert _untyped(tuple[str, dict[str, Any]])
    assert not _untyped(dict[str, list[int]])
    assert not _untyped(tuple[str, int] | None)
