"""What DB commands share: settings built once at the entry point, the engine, a unit of work per command."""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer
from typing_extensions import TypeIs

from lisens.cli.output import console, print_json
from lisens.domain.errors import Code, DatabaseUnavailable
from lisens.domain.times import utc
from lisens.service.context import Clock, Context, parse_time, system_clock

if TYPE_CHECKING:  # the database code is imported by the commands that use it, not by `--help`
    from sqlalchemy import Engine

    from lisens.service.results import ScheduledRead
    from lisens.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    clock: Clock = system_clock
    _engine: Engine | None = field(default=None, repr=False)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from lisens.db.engine import make_engine

            self._engine = make_engine(self.settings.database_url)
        return self._engine

    def close(self) -> None:
        """Close the engine's connections, if the command opened any."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    @property
    def actor(self) -> str:
        if self.settings.actor:
            return self.settings.actor
        try:
            return f"cli:{getpass.getuser()}"
        except (KeyError, OSError):
            return "cli"

    def ensure_schema(self) -> None:
        """An empty database is created on first use; one behind the code must be upgraded explicitly.
        The revision is read with one query; Alembic is imported only to create or upgrade the schema."""
        from sqlalchemy.exc import OperationalError

        from lisens.db.migrate import HEAD, stored_revision

        head = HEAD
        try:
            current = stored_revision(self.engine)
            if current is None:
                from lisens.db.migrate import upgrade

                upgrade(self.engine)
            elif current != head:
                raise DatabaseUnavailable(
                    f"the database is at revision {current}, the code needs {head}: run `lisens db upgrade`",
                    code=Code.SCHEMA_OUT_OF_DATE,
                )
        except OperationalError as exc:
            raise DatabaseUnavailable(f"cannot reach the database: {exc.orig}") from None

    @contextmanager
    def unit_of_work(self, *, read_only: bool = False) -> Iterator[Context]:
        """One transaction: committed when the command succeeds, rolled back on any error. A `read_only`
        one takes no write lock (on SQLite) and must not write."""
        from lisens.db.engine import make_session_factory
        from lisens.service.uow import unit_of_work

        self.ensure_schema()
        factory = make_session_factory(self.engine, read_only=read_only)
        # Whoever runs the CLI holds the database: the vendor, who may record corrections.
        with unit_of_work(
            factory,
            actor=self.actor,
            catalog_dir=self.settings.catalog_dir,
            prices_dir=self.settings.prices_dir,
            may_correct=True,
            clock=self.clock,
        ) as ctx:
            yield ctx


def runtime(ctx: typer.Context) -> Runtime:
    obj = ctx.find_root().obj
    assert isinstance(obj, Runtime)
    return obj


def at_option(ctx: typer.Context, text: str | None) -> datetime:
    """The time a read is answered for: any time asked, else now by the server's clock."""
    return parse_time(text) if text else utc(runtime(ctx).clock())


def change_at(text: str | None) -> datetime | None:
    """The time of a change: None (the server's clock decides), or a vendor's correction to check."""
    return parse_time(text) if text else None


At = Annotated[str | None, typer.Option("--at", help="Answer as of this time (ISO 8601; default now).")]
ChangeAt = Annotated[
    str | None,
    typer.Option(
        "--at",
        help="Record the change at this past time: an audited correction, refused unless it can be "
        "recorded exactly (ISO 8601; default: now, by the server's clock).",
    ),
]
Json = Annotated[bool, typer.Option("--json", help="Print JSON for machines.")]


def show_scheduled(data: object, as_json: bool) -> TypeIs[ScheduledRead]:
    """Whether a change's answer is the change kept for later (a vendor's future `at`); if so, it is
    printed here, so that the caller returns: `if show_scheduled(data, as_json): return`."""
    from lisens.service.results import ScheduledRead

    if not isinstance(data, ScheduledRead):
        return False
    scheduled = data.scheduled
    if as_json:
        print_json(data)
    else:
        console.print(
            f"scheduled {scheduled.operation} for {scheduled.effective} (id {scheduled.id}); "
            "`lisens schedule list` shows it",
            markup=False,
        )
    return True
