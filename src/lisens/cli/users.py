"""`lisens user|assign|unassign|check|panel|bulk-assign|audit …`: users and what they hold."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import Progress

from lisens.cli.lazy import lazy_module
from lisens.cli.output import console, err_console, print_json, table
from lisens.cli.runtime import ChangeAt, Json, at_option, change_at, runtime, show_scheduled
from lisens.domain.errors import Code, InvalidInput
from lisens.service.context import parse_time

if TYPE_CHECKING:
    from lisens.service import audit as audit_service
    from lisens.service import bulk as bulk_service
    from lisens.service import panel as panel_service
    from lisens.service import users as service
    from lisens.service.results import AssignmentRead, BulkFailureRead
else:
    audit_service = lazy_module("lisens.service.audit")
    bulk_service = lazy_module("lisens.service.bulk")
    panel_service = lazy_module("lisens.service.panel")
    service = lazy_module("lisens.service.users")


user_app = typer.Typer(help="Users (associates) of a tenant.", no_args_is_help=True)


def _describe_change(data: AssignmentRead) -> str:
    after = data.after
    plan = after.plan or "no plan"
    licenses = ", ".join(after.licenses) or "no direct licenses"
    return f"{data.user}: {plan}; {licenses}" + ("" if data.changed else " (unchanged)")


@user_app.command("add")
def user_add(
    ctx: typer.Context,
    tenant: str,
    user: str,
    user_type: Annotated[
        str, typer.Option("--type", help="internal, resource, external, anonymous or system.")
    ] = "internal",
    can_log_in: Annotated[bool, typer.Option("--can-log-in/--no-log-in", help="Whether the user may log in.")] = True,
    at: ChangeAt = None,
    as_json: Json = False,
) -> None:
    """Add a user to a tenant."""
    with runtime(ctx).unit_of_work() as uow:
        data = service.add_user(uow, tenant, user, user_type=user_type, can_log_in=can_log_in, at=change_at(at))
    if show_scheduled(data, as_json):
        return
    if as_json:
        print_json(data)
    else:
        console.print(f"added {data.type} user {user} to {tenant}", markup=False)


@user_app.command("list")
def user_list(
    ctx: typer.Context,
    tenant: str,
    plan: Annotated[str | None, typer.Option(help="Only users holding this plan key.")] = None,
    can_log_in: Annotated[
        bool | None, typer.Option("--can-log-in/--no-log-in", help="Only users who can (or cannot) log in.")
    ] = None,
    as_json: Json = False,
) -> None:
    """List a tenant's users and their plans."""
    with runtime(ctx).unit_of_work() as uow:
        data = [
            u
            for u in service.list_users(uow, tenant)
            if (plan is None or u.plan == plan) and (can_log_in is None or u.can_log_in == can_log_in)
        ]
    if as_json:
        print_json(data)
        return
    rows = [(u.user, u.type, u.plan or "-", "yes" if u.can_log_in else "no", "yes" if u.retired else "") for u in data]
    console.print(table(f"{len(rows)} users of {tenant}", ["user", "type", "plan", "can log in", "retired"], rows))


@user_app.command("set")
def user_set(
    ctx: typer.Context,
    tenant: str,
    user: str,
    can_log_in: Annotated[bool, typer.Option("--can-log-in/--no-log-in", help="Whether the user may log in.")],
    at: ChangeAt = None,
    as_json: Json = False,
) -> None:
    """Turn a user's login on or off (licenses stay assigned)."""
    with runtime(ctx).unit_of_work() as uow:
        data = service.set_can_log_in(uow, tenant, user, can_log_in, at=change_at(at))
    if show_scheduled(data, as_json):
        return
    if as_json:
        print_json(data)
    else:
        console.print(f"{user}: can log in {'yes' if data.after.can_log_in else 'no'}", markup=False)


@user_app.command("retire")
def user_retire(ctx: typer.Context, tenant: str, user: str, at: ChangeAt = None, as_json: Json = False) -> None:
    """Retire a user: every license removed and login off, in one step."""
    with runtime(ctx).unit_of_work() as uow:
        data = service.retire_user(uow, tenant, user, at=change_at(at))
    if show_scheduled(data, as_json):
        return
    if as_json:
        print_json(data)
    else:
        console.print(
            f"retired {user}; removed plan {data.before.plan or '-'} and {len(data.before.licenses)} direct licenses",
            markup=False,
        )


@user_app.command("show")
def user_show(ctx: typer.Context, tenant: str, user: str, as_json: Json = False) -> None:
    """Show a user's effective licenses, each with what grants it."""
    with runtime(ctx).unit_of_work() as uow:
        data = service.show_user(uow, tenant, user)
    if as_json:
        print_json(data)
        return
    console.print(
        f"{user} ({data.type}{', retired' if data.retired else ''}): plan {data.plan or '-'}; "
        f"direct {', '.join(data.licenses) or '-'}",
        markup=False,
    )
    rows = [(e.license, e.type, "; ".join(g.text for g in e.granted_by)) for e in data.effective]
    console.print(table(f"{len(rows)} effective licenses", ["license", "type", "granted by"], rows))


def assign_command(
    ctx: typer.Context,
    tenant: str,
    user: str,
    plan: Annotated[
        list[str] | None, typer.Option("--plan", help="A plan key; several make a multi-plan user.")
    ] = None,
    license_names: Annotated[
        list[str] | None, typer.Option("--license", help="A user license to assign directly.")
    ] = None,
    at: ChangeAt = None,
    as_json: Json = False,
) -> None:
    """Assign plans and/or user licenses to a user (one transaction; a new plan replaces the old one)."""
    with runtime(ctx).unit_of_work() as uow:
        data = service.assign(uow, tenant, user, plans=plan or [], licenses=license_names or [], at=change_at(at))
    if show_scheduled(data, as_json):
        return
    if as_json:
        print_json(data)
    else:
        console.print(_describe_change(data), markup=False)


def unassign_command(
    ctx: typer.Context,
    tenant: str,
    user: str,
    plan: Annotated[bool, typer.Option("--plan", help="Remove the user's plan.")] = False,
    license_names: Annotated[
        list[str] | None, typer.Option("--license", help="A directly assigned license to remove.")
    ] = None,
    at: ChangeAt = None,
    as_json: Json = False,
) -> None:
    """Remove the user's plan and/or directly assigned licenses."""
    with runtime(ctx).unit_of_work() as uow:
        data = service.unassign(uow, tenant, user, plan=plan, licenses=license_names or [], at=change_at(at))
    if show_scheduled(data, as_json):
        return
    if as_json:
        print_json(data)
    else:
        console.print(_describe_change(data), markup=False)


def check_command(
    ctx: typer.Context,
    tenant: str,
    user: str,
    licenses: Annotated[list[str], typer.Argument(metavar="LICENSE...", help="owner.module or bare module names.")],
    at: Annotated[str | None, typer.Option("--at", help="When to check (license expiry); default now.")] = None,
    as_json: Json = False,
) -> None:
    """Does the user hold these licenses? Exit 0 when all are held, 1 when any is not."""
    with runtime(ctx).unit_of_work() as uow:
        decisions = service.check(uow, tenant, user, licenses, at=at_option(ctx, at))
    if as_json:
        print_json(decisions)
    else:
        for d in decisions:
            why = "; ".join(g.text for g in (d.granted_by or d.would_grant))
            verdict = "held" if d.held else f"not held ({d.reason})"
            if d.warning:
                verdict += f" [{d.warning}]"
            console.print(
                f"{d.license}: {verdict}"
                + (f" — {'granted by' if d.held else 'would be granted by'} {why}" if why else ""),
                markup=False,
            )
    if not all(d.held for d in decisions):
        raise typer.Exit(1)


def panel_command(
    ctx: typer.Context,
    tenant: str,
    show_all: Annotated[bool, typer.Option("--all", help="Also list hidden licenses.")] = False,
    as_json: Json = False,
) -> None:
    """The license panel: system licenses in use, user licenses with in use / total."""
    with runtime(ctx).unit_of_work() as uow:
        data = panel_service.panel(uow, tenant, show_all=show_all)
    if as_json:
        print_json(data)
        return
    console.print(
        f"{data.tenant}: {data.company or '-'}, serial {data.serial or '-'}, generation {data.generation}",
        markup=False,
    )
    console.print(
        table(
            "System licenses",
            ["license", "description", "in use"],
            [(r.license, r.description, "✓") for r in data.system_licenses],
        )
    )
    rows = [
        (
            r.license if r.kind != "plan" else f"{r.item} ({r.license})",
            r.description,
            r.in_use,
            "unrestricted" if r.total is None else r.total,
            "" if r.free is None else r.free,
        )
        for r in data.user_licenses
    ]
    console.print(table("User licenses", ["license", "description", "in use", "total", "free"], rows))


def bulk_assign_command(
    ctx: typer.Context,
    tenant: str,
    file: Annotated[Path, typer.Argument(metavar="FILE.csv", help="CSV with columns user, plans, licenses[, type].")],
    partial: Annotated[bool, typer.Option("--partial", help="Apply the valid rows even if others fail.")] = False,
    create_users: Annotated[bool, typer.Option("--create-users", help="Add users that do not exist yet.")] = False,
    at: ChangeAt = None,
    as_json: Json = False,
) -> None:
    """Assign from a CSV file: all or nothing unless --partial; every failing row is reported."""
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"cannot read {file}: {exc}", code=Code.INVALID_FILE) from None
    rows = bulk_service.parse_bulk_csv(text)
    moment = change_at(at)
    rt = runtime(ctx)
    try:
        # Checked without the tenant's lock, then written under it: other changes keep going meanwhile.
        with (
            rt.unit_of_work(read_only=True) as uow,
            Progress(console=err_console, transient=True, disable=as_json) as bar,
        ):
            task = bar.add_task(f"checking {len(rows)} rows", total=len(rows))
            prepared = bulk_service.prepare(
                uow,
                tenant,
                rows,
                partial=partial,
                create_users=create_users,
                progress=lambda n: bar.advance(task, n),
            )
        with rt.unit_of_work() as uow:
            data = bulk_service.commit(uow, prepared, at=moment)
    except bulk_service.BulkFailed as failure:
        if not as_json:
            from lisens.service.results import BulkFailureRead

            failed = [BulkFailureRead.model_validate(f) for f in failure.details["failed"]]
            _print_failed_rows(failed, "Failed rows (nothing was applied)")
        raise
    if as_json:
        print_json(data)
        return
    console.print(f"{data.applied} of {data.rows} rows applied", markup=False)
    if data.failed:
        _print_failed_rows(data.failed, "Failed rows (not applied)")


def _print_failed_rows(failed: list[BulkFailureRead], title: str) -> None:
    rows = [(f.line, f.user, f.code, f.message) for f in failed]
    err_console.print(table(title, ["line", "user", "code", "message"], rows))


def _verify_command(ctx: typer.Context, tenant: str | None, *, as_json: bool) -> None:
    with runtime(ctx).unit_of_work() as uow:
        report = audit_service.verify_log(uow, tenant)
    if as_json:
        print_json(report.view())
    elif report.broken is None:
        console.print(f"{report.log}: {report.entries} entries, chain intact up to entry {report.head}", markup=False)
    else:
        err_console.print(
            f"{report.log}: NOT INTACT at entry {report.broken.seq} ({report.broken.problem}): {report.broken.message}",
            markup=False,
        )
    if not report.ok:
        raise typer.Exit(1)


def audit_command(
    ctx: typer.Context,
    tenant: Annotated[str, typer.Argument(help="The tenant, or `verify` followed by the tenant.")],
    verified: Annotated[str | None, typer.Argument(metavar="[TENANT]", show_default=False)] = None,
    user: Annotated[str | None, typer.Option("--user", help="Only this user's entries.")] = None,
    at: Annotated[
        str | None, typer.Option("--at", help="Up to this time; with --user, what the user held then.")
    ] = None,
    vendor: Annotated[bool, typer.Option("--vendor", help="With verify: the vendor's own log.")] = False,
    as_json: Json = False,
) -> None:
    """The audit log; with --user and --at, which licenses the user held at that time.

    `lisens audit verify TENANT` (or `--vendor`) recomputes the log's hash chain and names the first
    edited, deleted or reordered entry; it exits 1 when the log does not verify."""
    if tenant == "verify" and (verified is not None or vendor):
        _verify_command(ctx, None if vendor else verified, as_json=as_json)
        return
    if verified is not None:
        raise typer.BadParameter(f"unexpected argument {verified!r}; did you mean `lisens audit verify {verified}`?")
    until = parse_time(at) if at else None
    with runtime(ctx).unit_of_work() as uow:
        holdings = audit_service.holdings_at(uow, tenant, user, until) if (user and until) else None
        entries = audit_service.audit_log(uow, tenant, user=user, until=until)
    if as_json:
        print_json({"entries": entries, "holdings": holdings} if holdings else entries)
        return
    rows = [(e.at, e.actor, e.action, e.user or "", e.subject) for e in entries]
    console.print(table(f"{len(rows)} audit entries", ["at", "actor", "action", "user", "subject"], rows))
    if holdings:
        console.print(
            f"{user} at {holdings.at}: plan {holdings.plan or '-'}; {len(holdings.licenses)} licenses:",
            markup=False,
        )
        console.print(", ".join(holdings.licenses) or "-", markup=False, soft_wrap=True)
