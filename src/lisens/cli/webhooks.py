"""`lisens webhook add|list|enable|disable|remove|deliveries|replay` and `lisens worker`."""

from __future__ import annotations

import signal
import threading
from datetime import timedelta
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer

from lisens.cli.lazy import lazy_module
from lisens.cli.output import console, print_json, table
from lisens.cli.runtime import Json, Runtime, runtime
from lisens.service.context import parse_time

if TYPE_CHECKING:
    from lisens.service import webhooks, worker
    from lisens.service.worker import Worker
else:  # the database code is imported by the commands that use it, not by `--help`
    webhooks = lazy_module("lisens.service.webhooks")
    worker = lazy_module("lisens.service.worker")

app = typer.Typer(
    help="Webhooks: endpoints that receive a tenant's events (or every tenant's), signed per Standard Webhooks.",
    no_args_is_help=True,
)

Tenant = Annotated[
    str | None, typer.Option("--tenant", "-t", help="The tenant (default: the vendor's, for every tenant).")
]
WebhookId = Annotated[int, typer.Argument(metavar="ID", help="The webhook's id.")]


@app.command("add")
def add(
    ctx: typer.Context,
    url: str,
    tenant: Tenant = None,
    event: Annotated[
        list[str] | None, typer.Option("--event", "-e", help="Event type or pattern (assignment.*); repeat.")
    ] = None,
    description: Annotated[str, typer.Option(help="A note for people.")] = "",
    as_json: Json = False,
) -> None:
    """Add an endpoint; it receives what happens from now on. The secret is printed once."""
    with runtime(ctx).unit_of_work() as uow:
        data = webhooks.add_webhook(uow, tenant, url, event_types=event or [], description=description)
    if as_json:
        print_json(data)
        return
    console.print(f"webhook {data.id} → {data.url} ({', '.join(data.event_types) or 'every event'})")
    console.print(f"secret (shown once): {data.secret}", markup=False)


@app.command("list")
def list_(ctx: typer.Context, tenant: Tenant = None, as_json: Json = False) -> None:
    """The endpoints: a tenant's, or (no --tenant) every one."""
    with runtime(ctx).unit_of_work(read_only=True) as uow:
        data = webhooks.list_webhooks(uow, tenant)
    if as_json:
        print_json(data)
        return
    rows = [
        (w.id, w.tenant or "(all)", w.url, ",".join(w.event_types) or "*", "yes" if w.enabled else "no") for w in data
    ]
    console.print(table(f"{len(rows)} webhooks", ["id", "tenant", "url", "events", "enabled"], rows))


def _switch(ctx: typer.Context, tenant: str | None, webhook_id: int, *, enabled: bool, as_json: bool) -> None:
    with runtime(ctx).unit_of_work() as uow:
        data = webhooks.set_enabled(uow, tenant, webhook_id, enabled=enabled)
    print_json(data) if as_json else console.print(
        f"webhook {webhook_id} {'enabled' if enabled else 'disabled'}", markup=False
    )


@app.command("disable")
def disable(ctx: typer.Context, webhook_id: WebhookId, tenant: Tenant = None, as_json: Json = False) -> None:
    """Stop sending to an endpoint; its events wait and go out in order once it is enabled again."""
    _switch(ctx, tenant, webhook_id, enabled=False, as_json=as_json)


@app.command("enable")
def enable(ctx: typer.Context, webhook_id: WebhookId, tenant: Tenant = None, as_json: Json = False) -> None:
    """Send to a disabled endpoint again, from where it stopped."""
    _switch(ctx, tenant, webhook_id, enabled=True, as_json=as_json)


@app.command("remove")
def remove(ctx: typer.Context, webhook_id: WebhookId, tenant: Tenant = None, as_json: Json = False) -> None:
    """Remove an endpoint and its delivery history."""
    with runtime(ctx).unit_of_work() as uow:
        data = webhooks.remove_webhook(uow, tenant, webhook_id)
    print_json(data) if as_json else console.print(f"webhook {webhook_id} removed", markup=False)


@app.command("deliveries")
def deliveries(
    ctx: typer.Context,
    webhook_id: WebhookId,
    tenant: Tenant = None,
    state: Annotated[str | None, typer.Option(help="pending, delivered, dead or replaced.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    as_json: Json = False,
) -> None:
    """An endpoint's deliveries, newest first: state, attempts, last status and error."""
    with runtime(ctx).unit_of_work(read_only=True) as uow:
        data = webhooks.list_deliveries(uow, tenant, webhook_id, state=state, limit=limit)
    if as_json:
        print_json(data)
        return
    rows = [(d.id, d.tenant, d.seq, d.type, d.state, d.attempts, d.last_status, d.last_error) for d in data]
    console.print(
        table(
            f"{len(rows)} deliveries",
            ["id", "tenant", "seq", "type", "state", "attempts", "status", "last error"],
            rows,
        )
    )


@app.command("replay")
def replay(
    ctx: typer.Context,
    webhook_id: WebhookId,
    from_seq: Annotated[int, typer.Option("--from", min=1, help="The first sequence number to send again.")],
    tenant: Tenant = None,
    of_tenant: Annotated[
        str | None, typer.Option("--of", help="For a vendor's webhook: only this tenant's events.")
    ] = None,
    as_json: Json = False,
) -> None:
    """Send events again from a sequence number, in order, with their original webhook-id."""
    with runtime(ctx).unit_of_work() as uow:
        data = webhooks.replay(uow, tenant, webhook_id, from_seq=from_seq, of_tenant=of_tenant)
    print_json(data) if as_json else console.print(
        f"webhook {webhook_id}: {data.streams} streams replay from {from_seq}", markup=False
    )


def make_worker(rt: Runtime, *, lease: float | None = None) -> Worker:
    made = worker.Worker(unit=rt.unit_of_work)
    if lease is not None:
        made.lease = timedelta(seconds=lease)
    return made


def start_worker(rt: Runtime) -> Worker:
    """A worker on a daemon thread of this process (`lisens serve --worker`); set `stopped` to end it."""
    made = make_worker(rt)
    threading.Thread(target=made.run, name="lisens-worker", daemon=True).start()
    return made


def worker_command(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option("--once", help="Run what is due, deliver until idle, and exit.")] = False,
    until: Annotated[
        str | None, typer.Option(help="With --once: run what was due up to this date (a past date: catch-up).")
    ] = None,
    lease: Annotated[
        float, typer.Option(help="Seconds a claimed delivery is this worker's before another may send it.")
    ] = 60.0,
    tick: Annotated[float, typer.Option(help="Seconds between rounds of renewals and other timed work.")] = 30.0,
    as_json: Json = False,
) -> None:
    """Deliver webhooks and run everything time triggers: renewals (invoices, scheduled lowerings, moves),
    due scheduled changes, license status events. Several workers may run at once."""
    rt = runtime(ctx)
    rt.ensure_schema()
    running = make_worker(rt, lease=lease)
    running.tick = tick
    if once:
        report = running.run_once(until=parse_time(until) if until else None)
        if as_json:
            print_json(report)
        else:
            console.print(
                f"moved {sum(1 for v in report['waves'].values() if v == 'moved')} tenants of waves, "
                f"renewed {len(report['renewals'])} tenants, applied changes of {len(report['changes'])}, "
                f"{len(report['status'])} status events, {report['attempts']} delivery attempts, "
                f"{len(report['errors'])} errors",
                markup=False,
            )
            for name, error in sorted(report["errors"].items()):
                console.print(f"  {name}: {error}", markup=False)
        return

    def stop(_signal: int, _frame: FrameType | None) -> None:
        running.stopped.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    console.print("worker running (Ctrl-C to stop)", markup=False)
    running.run()
