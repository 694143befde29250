"""`lisens usage …`, `lisens fencing`, `lisens plan change`: the plan limits of CRM Suite tenants."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from lisens.cli.lazy import lazy_module
from lisens.cli.output import console, print_json
from lisens.cli.runtime import ChangeAt, Json, change_at, runtime, show_scheduled

if TYPE_CHECKING:
    from lisens.service import fencing as fencing_service
    from lisens.service.results import MetricRead
else:
    fencing_service = lazy_module("lisens.service.fencing")


usage_app = typer.Typer(help="Usage of plan-limited things (CRM Suite): dashboards, projects, …", no_args_is_help=True)
plan_app = typer.Typer(help="The tenant-wide plan of a CRM Suite tenant.", no_args_is_help=True)


@usage_app.command("set", context_settings={"ignore_unknown_options": True})
def usage_set(
    ctx: typer.Context, tenant: str, metric: str, count: int, at: ChangeAt = None, as_json: Json = False
) -> None:
    """Report how much of a plan-limited thing is in use."""
    with runtime(ctx).unit_of_work() as uow:
        data = fencing_service.set_usage(uow, tenant, metric, count, at=change_at(at))
    if show_scheduled(data, as_json):
        return
    print_json(data) if as_json else _print_metric(data)


@usage_app.command("add", context_settings={"ignore_unknown_options": True})
def usage_add(
    ctx: typer.Context, tenant: str, metric: str, count: int = 1, at: ChangeAt = None, as_json: Json = False
) -> None:
    """Create more of a plan-limited thing: refused with PLAN_LIMIT_REACHED beyond the plan's limit."""
    with runtime(ctx).unit_of_work() as uow:
        data = fencing_service.add_usage(uow, tenant, metric, count, at=change_at(at))
    if show_scheduled(data, as_json):
        return
    print_json(data) if as_json else _print_metric(data)


def _print_metric(data: MetricRead) -> None:
    maximum = "unlimited" if data.Maximum == fencing_service.UNLIMITED else data.Maximum
    flag = " (limit reached)" if data.HasReachedMaximum else (" (nearing the limit)" if data.IsNearingMaximum else "")
    console.print(f"{data.name}: {data.ActiveCount} of {maximum}{flag}", markup=False)


def fencing_command(ctx: typer.Context, tenant: str, as_json: Json = False) -> None:
    """The plan limits of the tenant and how much of each is used."""
    with runtime(ctx).unit_of_work() as uow:
        data = fencing_service.fencing(uow, tenant)
    if as_json:
        print_json(data)
        return
    if not data.metrics:
        console.print(f"{tenant}: generation {data.generation} has no plan limits", markup=False)
    for metric in data.metrics:
        _print_metric(metric)


@plan_app.command("change")
def plan_change(ctx: typer.Context, tenant: str, plan: str, at: ChangeAt = None, as_json: Json = False) -> None:
    """Move a CRM Suite tenant to another plan, with its seats and every seated user."""
    with runtime(ctx).unit_of_work() as uow:
        data = fencing_service.change_tenant_plan(uow, tenant, plan, at=change_at(at))
    if show_scheduled(data, as_json):
        return
    if as_json:
        print_json(data)
    else:
        console.print(f"{tenant}: plan {data.plan}" + ("" if data.changed else " (unchanged)"), markup=False)
