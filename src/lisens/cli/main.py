"""The `lisens` entry point: builds the Typer app and turns every expected error into `error CODE: message`."""

from __future__ import annotations

import sys

import typer

from lisens import __version__
from lisens.cli import (
    billing,
    catalog,
    extrainfo,
    fencing,
    moves,
    packages,
    schedule,
    server,
    tenants,
    users,
    webhooks,
)
from lisens.cli.output import report_error
from lisens.cli.runtime import Runtime
from lisens.domain.errors import LisensError
from lisens.service.context import Clock, system_clock


def build_app(clock: Clock = system_clock) -> typer.Typer:
    app = typer.Typer(
        name="lisens",
        help="Lisens: license server and entitlement engine for the SuperOffice licensing model.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
    )

    @app.callback()
    def root(
        ctx: typer.Context,
        db: str | None = typer.Option(
            None,
            "--db",
            help="Database URL (default: LISENS_DATABASE_URL, else an SQLite file in the user data directory).",
        ),
        version: bool = typer.Option(False, "--version", help="Print the version and exit.", is_eager=True),
    ) -> None:
        if version:
            typer.echo(__version__)
            raise typer.Exit()
        from lisens.settings import Settings  # not for --help

        settings = Settings() if db is None else Settings(database_url=db)
        ctx.obj = Runtime(settings, clock=clock)
        ctx.call_on_close(ctx.obj.close)  # the command's connections end with it

    app.add_typer(catalog.app, name="catalog")
    app.add_typer(extrainfo.app, name="extrainfo")
    app.add_typer(tenants.db_app, name="db")
    app.add_typer(tenants.tenant_app, name="tenant")
    app.add_typer(tenants.seats_app, name="seats")
    app.add_typer(tenants.addon_app, name="addon")
    app.add_typer(tenants.system_app, name="system")
    app.add_typer(tenants.owner_app, name="owner")
    app.add_typer(users.user_app, name="user")
    app.add_typer(schedule.app, name="schedule")
    app.command("assign")(users.assign_command)
    app.command("unassign")(users.unassign_command)
    app.command("check")(users.check_command)
    app.command("panel")(users.panel_command)
    app.command("bulk-assign")(users.bulk_assign_command)
    app.command("audit")(users.audit_command)
    app.command("serve")(server.serve)
    app.add_typer(billing.subscription_app, name="subscription")
    app.add_typer(billing.invoice_app, name="invoice")
    app.add_typer(billing.prices_app, name="prices")
    app.command("invoices")(billing.invoices_command)
    app.add_typer(packages.keys_app, name="keys")
    app.add_typer(packages.package_app, name="package")
    app.add_typer(packages.snapshot_app, name="snapshot")
    app.add_typer(moves.move_app, name="move")
    app.add_typer(moves.move_app, name="migrate", hidden=True)  # the earlier name of `move`
    app.add_typer(fencing.usage_app, name="usage")
    app.add_typer(fencing.plan_app, name="plan")
    app.command("fencing")(fencing.fencing_command)
    app.add_typer(server.token_app, name="token")
    app.add_typer(webhooks.app, name="webhook")
    app.command("worker")(webhooks.worker_command)
    return app


def run(argv: list[str] | None = None, *, clock: Clock = system_clock) -> int:
    """Run the CLI and return its exit code: 0 ok, 1 an error or a negative answer, 2 a usage error.

    `clock` is the server's clock, which decides when a change happens (tests give their own)."""
    args = sys.argv[1:] if argv is None else argv
    try:
        # Standalone mode prints usage errors itself and ends in SystemExit; our errors pass through.
        build_app(clock)(args=args, prog_name="lisens")
    except SystemExit as exit_:
        code = exit_.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except LisensError as error:
        report_error(error, as_json="--json" in args)
        return 1
    return 0


def main() -> None:
    sys.exit(run())
