"""`lisens move …` (also `lisens migrate …`): move tenants to another packaging generation."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import Progress

from lisens.cli.lazy import lazy_module
from lisens.cli.output import console, err_console, print_json, table
from lisens.cli.runtime import ChangeAt, Json, change_at, runtime

if TYPE_CHECKING:
    from lisens.catalog import prices as price_files
    from lisens.service import move_plans, tags, waves
    from lisens.service import moves as service
    from lisens.service.move_plans import PlanFile, Selection
    from lisens.service.results import MovePlanRead, MovePreviewRead, WaveRead, WaveReportRead
else:
    service = lazy_module("lisens.service.moves")
    move_plans = lazy_module("lisens.service.move_plans")
    tags = lazy_module("lisens.service.tags")
    waves = lazy_module("lisens.service.waves")
    price_files = lazy_module("lisens.catalog.prices")


move_app = typer.Typer(help="Move tenants to another packaging generation.", no_args_is_help=True)
wave_app = typer.Typer(
    help="Waves: a saved plan's tenants moved at each renewal or on a date by the worker.", no_args_is_help=True
)
move_app.add_typer(wave_app, name="wave")


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
    title = "Tenants"
    if len(view.tenants) < s.tenants:
        title = (
            f"Tenants: {len(view.tenants)} of {s.tenants}, the blocked ones first, then those whose yearly revenue "
            "changes most (--csv or --json: every tenant)"
        )
    console.print(table(title, headers, rows))
    bands = [(f"{b.low} … {b.high}", b.tenants) for b in s.changes]
    console.print(table(f"Tenants by yearly change ({s.currency})", ["change", "tenants"], bands))
    lose = [(c.license, c.users, c.tenants) for c in s.lose]
    console.print(table("Users losing each license", ["license", "users", "tenants"], lose))
    for name, why in view.skipped.items():
        console.print(f"skipped {name}: {why}", markup=False)


Generation = Annotated[str | None, typer.Option("--generation", help="Only tenants on this generation.")]
RenewalMonth = Annotated[
    str | None, typer.Option("--renewal-month", help="Only tenants whose next renewal is in YYYY-MM.")
]
MinUsers = Annotated[int | None, typer.Option("--min-users", help="At least N users.")]
MaxUsers = Annotated[int | None, typer.Option("--max-users", help="At most N users.")]
Tag = Annotated[list[str] | None, typer.Option("--tag", help="key=value; repeat: all must hold.")]
Tenant = Annotated[list[str] | None, typer.Option("--tenant", help="Only these tenants (repeat).")]
Sample = Annotated[float | None, typer.Option("--sample", help="A percentage of the tenants, by --seed.")]
Seed = Annotated[int, typer.Option("--seed", help="Which sample: the same seed picks the same tenants.")]


def _selection(
    *,
    generation: str | None,
    renewal_month: str | None,
    min_users: int | None,
    max_users: int | None,
    tag: list[str] | None,
    tenant: list[str] | None,
    sample: float | None,
    seed: int,
) -> Selection:
    return move_plans.Selection(
        generation=generation,
        renewal_month=renewal_month,
        min_users=min_users,
        max_users=max_users,
        tags=tuple(tags.parse_tag(text) for text in tag or []),
        tenants=tuple(tenant or []),
        sample=sample,
        seed=seed,
    ).check()


@move_app.command("plan")
def plan(
    ctx: typer.Context,
    to: To,
    generation: Generation = None,
    renewal_month: RenewalMonth = None,
    min_users: MinUsers = None,
    max_users: MaxUsers = None,
    tag: Tag = None,
    tenant: Tenant = None,
    sample: Sample = None,
    seed: Seed = 0,
    prices: Annotated[
        Path | None, typer.Option("--prices", help="A prices-G.toml for the target, only for this plan.")
    ] = None,
    save: Annotated[
        str | None, typer.Option("--save", help="Keep the plan under this name, to make waves of it.")
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", min=1, help="The table shows at most N tenants (--csv and --json: all).")
    ] = 100,
    as_json: Json = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="One line per tenant, as CSV.")] = False,
) -> None:
    """Plan the move of many tenants: revenue before and after, users losing and gaining, blockers. Changes
    nothing, unless --save keeps the plan (its selection, target and price list) under a name.

    Tenants are read in batches and their rows written as they are made (--csv), or through a temporary file
    (--json, whose summary comes first); progress is shown on stderr."""
    selection = _selection(
        generation=generation,
        renewal_month=renewal_month,
        min_users=min_users,
        max_users=max_users,
        tag=tag,
        tenant=tenant,
        sample=sample,
        seed=seed,
    )
    if save is not None:
        waves.require_plan_name(save)
    run = runtime(ctx)
    price_list = price_files.load_price_file(prices, run.settings.catalog_dir) if prices is not None else None
    document: PlanFile | None = None
    with (
        run.unit_of_work() as uow,
        # On a terminal, also with --json and --csv: their output goes to stdout.
        Progress(console=err_console, transient=True, disable=not err_console.is_terminal) as bar,
    ):
        task = bar.add_task("tenants", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        if as_json or as_csv:
            made = move_plans.stream(uow, to=to, selection=selection, prices=price_list, progress=progress)
            if as_json:
                document = move_plans.spool_json(made)
            else:
                for text in move_plans.csv_lines(made):
                    sys.stdout.write(text)
                    sys.stdout.flush()
        else:
            view = move_plans.overview(
                uow, to=to, selection=selection, prices=price_list, progress=progress, limit=limit
            )
        if save is not None:
            waves.save_plan(
                uow, save, to=to, selection=selection, prices=price_list.source if price_list is not None else None
            )
    if document is not None:
        out_bytes = sys.stdout.buffer
        for chunk in document.chunks():
            out_bytes.write(chunk)
        out_bytes.flush()
    elif not as_csv:
        _print_plan(view)
        if save is not None:
            console.print(f"saved as plan {save!r}: `lisens move wave create {save} --at renewal`", markup=False)


@move_app.command("plans")
def plans(ctx: typer.Context, as_json: Json = False) -> None:
    """The saved move plans."""
    with runtime(ctx).unit_of_work(read_only=True) as uow:
        found = waves.list_plans(uow)
    if as_json:
        print_json(found)
        return
    rows = [
        (p.name, p.to, json.dumps(p.selection.plain(), sort_keys=True), p.prices or "installed", p.created_at)
        for p in found
    ]
    console.print(table("Saved move plans", ["name", "to", "selection", "prices", "saved"], rows))


# ---------------------------------------------------------------- waves


def _wave_line(view: WaveRead) -> str:
    c = view.counts
    return (
        f"wave {view.id}: to {view.to} at {view.at}, {view.status}"
        + (f" (plan {view.plan})" if view.plan else "")
        + f"; {c.scheduled} scheduled, {c.moved} moved, {c.blocked} blocked, {c.rolled_back} rolled back, "
        f"{c.cancelled} cancelled"
    )


def _print_wave(view: WaveRead, *, as_json: bool) -> None:
    if as_json:
        print_json(view)
    else:
        console.print(_wave_line(view), markup=False, soft_wrap=True)


def _print_report(view: WaveReportRead) -> None:
    console.print(_wave_line(view), markup=False, soft_wrap=True)
    rows = [
        (t.tenant, t.state, t.effective or "-", t.from_generation, t.generation, t.reason, t.detail, t.done_at or "")
        for t in view.tenants
    ]
    headers = ["tenant", "state", "moves on", "from", "now on", "reason", "detail", "done"]
    console.print(table("Tenants", headers, rows))


WaveId = Annotated[int, typer.Argument(help="The wave's number (`lisens move wave list`).")]


@wave_app.command("create")
def wave_create(
    ctx: typer.Context,
    plan_name: Annotated[
        str | None, typer.Argument(metavar="[PLAN]", help="A saved plan; or give --to and the selection.")
    ] = None,
    at: Annotated[
        str, typer.Option("--at", help="`renewal`: each tenant at its own next renewal; or a date YYYY-MM-DD.")
    ] = "renewal",
    to: Annotated[str | None, typer.Option("--to", help="Target generation (without a saved plan).")] = None,
    generation: Generation = None,
    renewal_month: RenewalMonth = None,
    min_users: MinUsers = None,
    max_users: MaxUsers = None,
    tag: Tag = None,
    tenant: Tenant = None,
    sample: Sample = None,
    seed: Seed = 0,
    as_json: Json = False,
) -> None:
    """Make a wave of a saved plan's tenants (or of a selection): the worker moves each at its time."""
    given = any(v is not None for v in (generation, renewal_month, min_users, max_users, tag, tenant, sample))
    selection = (
        _selection(
            generation=generation,
            renewal_month=renewal_month,
            min_users=min_users,
            max_users=max_users,
            tag=tag,
            tenant=tenant,
            sample=sample,
            seed=seed,
        )
        if given or to is not None
        else None
    )
    with runtime(ctx).unit_of_work() as uow:
        view = waves.create_wave(uow, at=at, plan=plan_name, to=to, selection=selection)
    if as_json:
        print_json(view)
    else:
        _print_report(view)


@wave_app.command("list")
def wave_list(ctx: typer.Context, as_json: Json = False) -> None:
    """Every wave with its counts."""
    with runtime(ctx).unit_of_work(read_only=True) as uow:
        found = waves.list_waves(uow)
    if as_json:
        print_json(found)
        return
    for view in found:
        console.print(_wave_line(view), markup=False, soft_wrap=True)


@wave_app.command("show")
def wave_show(ctx: typer.Context, wave: WaveId, as_json: Json = False) -> None:
    """One wave: its target, time, status and counts."""
    with runtime(ctx).unit_of_work(read_only=True) as uow:
        view = waves.show_wave(uow, wave)
    _print_wave(view, as_json=as_json)


@wave_app.command("report")
def wave_report(
    ctx: typer.Context,
    wave: WaveId,
    as_json: Json = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="One line per tenant, as CSV.")] = False,
) -> None:
    """The wave's counts and one row per tenant: when it moves, how its move went, why it is blocked."""
    with runtime(ctx).unit_of_work(read_only=True) as uow:
        view = waves.wave_report(uow, wave)
    if as_csv:
        typer.echo(waves.report_csv(view), nl=False)
    elif as_json:
        print_json(view)
    else:
        _print_report(view)


@wave_app.command("pause")
def wave_pause(ctx: typer.Context, wave: WaveId, as_json: Json = False) -> None:
    """Stop the wave's due moves until it is resumed."""
    with runtime(ctx).unit_of_work() as uow:
        view = waves.pause_wave(uow, wave)
    _print_wave(view, as_json=as_json)


@wave_app.command("resume")
def wave_resume(ctx: typer.Context, wave: WaveId, as_json: Json = False) -> None:
    """Run a paused wave again: moves due meanwhile are made on the worker's next run."""
    with runtime(ctx).unit_of_work() as uow:
        view = waves.resume_wave(uow, wave)
    _print_wave(view, as_json=as_json)


@wave_app.command("cancel")
def wave_cancel(ctx: typer.Context, wave: WaveId, as_json: Json = False) -> None:
    """End the wave: scheduled tenants are not moved; moved ones stay moved."""
    with runtime(ctx).unit_of_work() as uow:
        view = waves.cancel_wave(uow, wave)
    _print_wave(view, as_json=as_json)


@wave_app.command("rollback")
def wave_rollback(
    ctx: typer.Context,
    wave: WaveId,
    tenant: Annotated[str | None, typer.Option("--tenant", help="Only this tenant's move.")] = None,
    as_json: Json = False,
) -> None:
    """Roll back the wave's moves exactly (and cancel what is still scheduled), or one tenant's move."""
    with runtime(ctx).unit_of_work() as uow, _working(f"rolling wave {wave} back", quiet=as_json):
        if tenant is not None:
            one = waves.rollback_tenant(uow, wave, tenant)
        else:
            view = waves.rollback_wave(uow, wave)
    if tenant is not None:
        if as_json:
            print_json(one)
        else:
            console.print(f"{tenant}: {one.state}, back on generation {one.generation}", markup=False)
    elif as_json:
        print_json(view)
    else:
        _print_report(view)
