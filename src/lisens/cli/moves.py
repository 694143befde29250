"""`lisens move …` (also `lisens migrate …`): move tenants to another packaging generation."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import Progress

from lisens.cli.lazy import lazy_module
from lisens.cli.output import console, err_console, print_json, table
from lisens.cli.runtime import ChangeAt, Json, change_at, runtime

if TYPE_CHECKING:
    from lisens.catalog import prices as price_files
    from lisens.service import move_plans, tags
    from lisens.service import moves as service
    from lisens.service.results import MovePlanRead, MovePreviewRead
else:
    service = lazy_module("lisens.service.moves")
    move_plans = lazy_module("lisens.service.move_plans")
    tags = lazy_module("lisens.service.tags")
    price_files = lazy_module("lisens.catalog.prices")


move_app = typer.Typer(help="Move tenants to another packaging generation.", no_args_is_help=True)


def _working(what: str, *, quiet: bool) -> Progress:
    """A pulsing bar on a terminal while a move of many users runs (nothing with --json or --csv)."""
    bar = Progress(console=err_console, transient=True, disable=quiet)
    bar.add_task(what, total=None)
    return bar


To = Annotated[str, typer.Option("--to", help="Target generation: 9, 11, suite, …")]


def _print_preview(view: MovePreviewRead) -> None:
    summary = view.summary
    console.print(
        f"{view.tenant}: generation {view.from_generation} -> {view.to}"
        + (f", tenant plan {view.tenant_plan}" if view.tenant_plan else "")
        + f"; {summary.users} users, {summary.losing} lose something, {summary.gaining} gain something",
        markup=False,
        soft_wrap=True,
    )
    rows = [
        (
            u.user,
            u.from_plan or "-",
            u.to_plan or "-",
            ", ".join(u.lost) or "",
            ", ".join(u.gained) or "",
        )
        for u in view.users
    ]
    console.print(table("Users (those who lose something first)", ["user", "from", "to", "loses", "gains"], rows))
    seats = [(s.item, s.before, s.after) for s in view.seats]
    console.print(table("Seats", ["plan or license", "before", "after"], seats))
    if view.addons.dropped:
        console.print(f"add-ons dropped: {', '.join(view.addons.dropped)}", markup=False)


@move_app.command("preview")
def preview(
    ctx: typer.Context,
    tenant: str,
    to: To,
    as_json: Json = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="One line per user, as CSV.")] = False,
) -> None:
    """Per user the module licenses gained and lost, per plan the seats before and after. Changes nothing."""
    with runtime(ctx).unit_of_work() as uow, _working(f"previewing {tenant} → {to}", quiet=as_json or as_csv):
        view = service.preview(uow, tenant, to=to)
    if as_csv:
        typer.echo(service.preview_csv(view), nl=False)
    elif as_json:
        print_json(view)
    else:
        _print_preview(view)


@move_app.command("apply")
def apply(
    ctx: typer.Context,
    tenant: str,
    to: To,
    at_renewal: Annotated[
        bool, typer.Option("--at-renewal", help="Wait for the next renewal of the subscription.")
    ] = False,
    at: ChangeAt = None,
    as_json: Json = False,
) -> None:
    """Move the tenant, all users or none; now, or at the next renewal."""
    with runtime(ctx).unit_of_work() as uow, _working(f"moving {tenant} → {to}", quiet=as_json):
        view = service.apply(uow, tenant, to=to, at=change_at(at), at_renewal=at_renewal)
    if as_json:
        print_json(view)
    elif view.applied:
        console.print(f"{tenant} moved to generation {view.to} ({view.summary.users} users)", markup=False)
    else:
        console.print(f"{tenant} moves to generation {view.to} on {view.scheduled}", markup=False)


@move_app.command("rollback")
def rollback(ctx: typer.Context, tenant: str, at: ChangeAt = None, as_json: Json = False) -> None:
    """Undo the last move: every assignment restored exactly."""
    with runtime(ctx).unit_of_work() as uow, _working(f"rolling {tenant} back", quiet=as_json):
        data = service.rollback(uow, tenant, at=change_at(at))
    if as_json:
        print_json(data)
    else:
        console.print(
            f"{tenant} back on generation {data.generation} ({data.restored_users} users restored)", markup=False
        )


@move_app.command("report")
def report(ctx: typer.Context, to: To, as_json: Json = False) -> None:
    """Across all tenants: how many users would gain and lose which licenses (before announcing a price list)."""
    with (
        runtime(ctx).unit_of_work() as uow,
        Progress(console=err_console, transient=True, disable=as_json) as bar,
    ):
        task = bar.add_task("tenants", total=None)
        data = service.report(uow, to=to, progress=lambda done, total: bar.update(task, completed=done, total=total))
    if as_json:
        print_json(data)
        return
    console.print(
        f"to generation {data.to}: {data.tenants} tenants, {data.users} users, {data.users_losing} lose something",
        markup=False,
    )
    rows = [
        (name, data.lost.get(name, 0), data.gained.get(name, 0)) for name in sorted(set(data.lost) | set(data.gained))
    ]
    console.print(table("Users per license", ["license", "lose it", "gain it"], rows))


@move_app.command("validate")
def validate(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="A mapping file FROM-to-TO.toml.")],
) -> None:
    """Validate a move mapping file against the two generations' catalogs."""
    from lisens.catalog.moves import load_mapping_file  # only this command reads a mapping file

    mapping = load_mapping_file(path, runtime(ctx).settings.catalog_dir)
    console.print(f"{path}: valid mapping from generation {mapping.source} to {mapping.target}", markup=False)


def _print_plan(view: MovePlanRead) -> None:
    s = view.summary
    console.print(
        f"to generation {view.to} ({'example prices' if view.example_prices else view.prices}): "
        f"{s.tenants} tenants, {s.users} users, {s.blocked} blocked; {s.currency} per year "
        f"{s.yearly_before} -> {s.yearly_after} ({s.yearly_change}); "
        f"{s.pay_more} pay more, {s.pay_less} less, {s.pay_same} the same",
        markup=False,
        soft_wrap=True,
    )
    rows = [
        (
            t.tenant,
            t.from_generation,
            t.tenant_plan or "-",
            t.users,
            t.monthly_before,
            t.monthly_after,
            t.yearly_change,
            len({u for users in t.lose.values() for u in users}),
            ", ".join(f"{b.kind} {b.item}" for b in t.blockers),
        )
        for t in view.tenants
    ]
    headers = ["tenant", "from", "plan", "users", "monthly before", "after", "yearly change", "losing", "blockers"]
    console.print(table("Tenants", headers, rows))
    lose = [(c.license, c.users, c.tenants) for c in s.lose]
    console.print(table("Users losing each license", ["license", "users", "tenants"], lose))
    for name, why in view.skipped.items():
        console.print(f"skipped {name}: {why}", markup=False)


@move_app.command("plan")
def plan(
    ctx: typer.Context,
    to: To,
    generation: Annotated[str | None, typer.Option("--generation", help="Only tenants on this generation.")] = None,
    renewal_month: Annotated[
        str | None, typer.Option("--renewal-month", help="Only tenants whose next renewal is in YYYY-MM.")
    ] = None,
    min_users: Annotated[int | None, typer.Option("--min-users", help="At least N users.")] = None,
    max_users: Annotated[int | None, typer.Option("--max-users", help="At most N users.")] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="key=value; repeat: all must hold.")] = None,
    tenant: Annotated[list[str] | None, typer.Option("--tenant", help="Only these tenants (repeat).")] = None,
    sample: Annotated[float | None, typer.Option("--sample", help="A percentage of the tenants, by --seed.")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Which sample: the same seed picks the same tenants.")] = 0,
    prices: Annotated[
        Path | None, typer.Option("--prices", help="A prices-G.toml for the target, only for this plan.")
    ] = None,
    as_json: Json = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="One line per tenant, as CSV.")] = False,
) -> None:
    """Plan the move of many tenants: revenue before and after, users losing and gaining, blockers. Changes nothing."""
    selection = move_plans.Selection(
        generation=generation,
        renewal_month=renewal_month,
        min_users=min_users,
        max_users=max_users,
        tags=tuple(tags.parse_tag(text) for text in tag or []),
        tenants=tuple(tenant or []),
        sample=sample,
        seed=seed,
    ).check()
    run = runtime(ctx)
    price_list = price_files.load_price_file(prices, run.settings.catalog_dir) if prices is not None else None
    with (
        run.unit_of_work() as uow,
        Progress(console=err_console, transient=True, disable=as_json or as_csv) as bar,
    ):
        task = bar.add_task("tenants", total=None)
        view = move_plans.plan(
            uow,
            to=to,
            selection=selection,
            prices=price_list,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    if as_csv:
        typer.echo(move_plans.plan_csv(view), nl=False)
    elif as_json:
        print_json(view)
    else:
        _print_plan(view)
