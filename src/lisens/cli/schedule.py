"""`lisens schedule list|cancel|run`: the vendor's changes dated in the future."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from lisens.cli.lazy import lazy_module
from lisens.cli.output import console, print_json, table
from lisens.cli.runtime import Json, runtime

if TYPE_CHECKING:
    from lisens.service import scheduling
else:
    scheduling = lazy_module("lisens.service.scheduling")


app = typer.Typer(help="Changes dated in the future: kept until their time, then applied as if made then.")


@app.command("list")
def schedule_list(
    ctx: typer.Context,
    tenant: str,
    pending: Annotated[bool, typer.Option("--pending", help="Only the changes still waiting.")] = False,
    as_json: Json = False,
) -> None:
    """The tenant's scheduled changes: pending, applied, failed (with the reason) and cancelled."""
    with runtime(ctx).unit_of_work() as uow:
        data = scheduling.list_changes(uow, tenant, pending_only=pending)
    if as_json:
        print_json(data)
        return
    rows = [(c.id, c.effective, c.operation, c.state, c.outcome) for c in data]
    console.print(table(f"{len(rows)} scheduled changes", ["id", "effective", "operation", "state", "outcome"], rows))


@app.command("cancel")
def schedule_cancel(
    ctx: typer.Context, tenant: str, change_id: Annotated[int, typer.Argument(metavar="ID")], as_json: Json = False
) -> None:
    """Cancel a pending change (recorded in the tenant's log)."""
    with runtime(ctx).unit_of_work() as uow:
        data = scheduling.cancel_change(uow, tenant, change_id)
    if as_json:
        print_json(data)
    else:
        console.print(f"scheduled change {data.id} ({data.operation}) cancelled", markup=False)


@app.command("run")
def schedule_run(
    ctx: typer.Context,
    tenant: Annotated[str | None, typer.Argument(help="One tenant (default: every tenant with a due change).")] = None,
    as_json: Json = False,
) -> None:
    """Apply the changes whose time has come (any later change of a tenant does this first, too)."""
    with runtime(ctx).unit_of_work() as uow:
        data = scheduling.run_due(uow, tenant)
    if as_json:
        print_json(data)
        return
    rows = [(name, c.id, c.effective, c.operation, c.state, c.outcome) for name, done in data.items() for c in done]
    console.print(
        table(f"{len(rows)} changes applied", ["tenant", "id", "effective", "operation", "state", "outcome"], rows)
    )
