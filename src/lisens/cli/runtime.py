"""What DB commands share: settings built once at the entry point, the engine, a unit of work per command."""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated

import typer
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from lisens.db.engine import make_engine, make_session_factory
from lisens.db.migrate import alembic_config, current_revision, upgrade
from lisens.service.context import Context, parse_time
from lisens.service.uow import DatabaseUnavailable, unit_of_work
from lisens.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    _engine: Engine | None = field(default=None, repr=False)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = make_engine(self.settings.database_url)
        return self._engine

    @property
    def actor(self) -> str:
        if self.settings.actor:
            return self.settings.actor
        try:
            return f"cli:{getpass.getuser()}"
        except (KeyError, OSError):
            return "cli"

    def ensure_schema(self) -> None:
        """An empty database is created on first use; one behind the code must be upgraded explicitly."""
        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
        try:
            current = current_revision(self.engine)
            if current is None:
                upgrade(self.engine)
            elif current != head:
                raise DatabaseUnavailable(
                    f"the database is at revision {current}, the code needs {head}: run `lisens db upgrade`",
                    code="SCHEMA_OUT_OF_DATE",
                )
        except OperationalError as exc:
            raise DatabaseUnavailable(f"cannot reach the database: {exc.orig}") from None

    @contextmanager
    def unit_of_work(self) -> Iterator[Context]:
        """One transaction: committed when the command succeeds, rolled back on any error."""
        self.ensure_schema()
        factory = make_session_factory(self.engine)
        with unit_of_work(
            factory, actor=self.actor, catalog_dir=self.settings.catalog_dir, prices_dir=self.settings.prices_dir
        ) as ctx:
            yield ctx


def runtime(ctx: typer.Context) -> Runtime:
    obj = ctx.find_root().obj
    assert isinstance(obj, Runtime)
    return obj


def at_option(text: str | None) -> datetime:
    return parse_time(text) if text else datetime.now(UTC)


At = Annotated[str | None, typer.Option("--at", help="When the change happens (ISO 8601; default now).")]
Json = Annotated[bool, typer.Option("--json", help="Print JSON for machines.")]
