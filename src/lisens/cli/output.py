"""Printing for the CLI: Rich tables for people, JSON for machines, errors as `error CODE: message`."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from lisens.domain.errors import LisensError

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


def jsonable(data: Any) -> Any:
    """`data` as JSON values; a service's answer (a pydantic model) as the API writes it: keys by their alias,
    in field order, and a field left at its default unset left out."""
    if hasattr(data, "model_dump"):
        return data.model_dump(mode="json", by_alias=True, exclude_unset=True)
    if isinstance(data, dict):
        return {key: jsonable(value) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [jsonable(value) for value in data]
    return data


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(jsonable(data), indent=2, ensure_ascii=False, default=str) + "\n")


def table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Table:
    result = Table(title=title, title_justify="left", show_lines=False)
    for column in columns:
        result.add_column(column, overflow="fold")  # a narrow terminal wraps a name, never cuts it with "…"
    for row in rows:
        result.add_row(*("" if cell is None else str(cell) for cell in row))
    return result


def report_error(error: LisensError, *, as_json: bool) -> None:
    if as_json:
        print_json({"error": error.to_dict()})
    err_console.print(f"error {error.code}: {error.message}", markup=False, soft_wrap=True)
