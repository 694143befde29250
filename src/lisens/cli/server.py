"""`lisens serve` and `lisens token …`: run the HTTP API, and manage its bearer tokens."""

from __future__ import annotations

import logging
import os
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from lisens.cli.lazy import lazy_module
from lisens.cli.output import console, print_json, table
from lisens.cli.runtime import Json, Runtime, runtime

if TYPE_CHECKING:
    import uvicorn

    from lisens import signing
    from lisens.api import observability
    from lisens.cli import webhooks as webhooks_cli
    from lisens.service import demo, tokens
else:
    uvicorn = lazy_module("uvicorn")
    observability = lazy_module("lisens.api.observability")
    demo = lazy_module("lisens.service.demo")
    tokens = lazy_module("lisens.service.tokens")
    signing = lazy_module("lisens.signing")
    webhooks_cli = lazy_module("lisens.cli.webhooks")


token_app = typer.Typer(help="API bearer tokens: create (shown once), list, revoke.", no_args_is_help=True)

# uvicorn's supervisor says "Child process [PID] died" (at INFO) when a worker exits or stops
# answering its health check and is killed; it then starts a new one.
WORKER_DIED = re.compile(r"Child process \[(\d+)\] died")


class WorkerDeaths(logging.Filter):
    """Raises the supervisor's note of a dead worker to a warning, with the event and the pid as fields."""

    def filter(self, record: logging.LogRecord) -> bool:
        found = WORKER_DIED.search(record.getMessage())
        if found is not None:
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.fields = {"event": "worker_died", "pid": int(found.group(1))}
        return True


def configure_supervisor_logging() -> None:
    """The serving process logs like its workers (JSON lines), so a worker's death is not lost.

    Without this the parent of `--workers N` has no handler for uvicorn's logger, and Python's
    last-resort handler drops everything below WARNING, the supervisor's messages included.
    """
    observability.configure_logging()
    supervisor = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, WorkerDeaths) for f in supervisor.filters):
        supervisor.addFilter(WorkerDeaths())


def demo_signing_key(database_url: str) -> tuple[Path, bool]:
    """The demo's signing key, beside the SQLite database (or in the user's data directory); made the
    first time. Returns its path and whether it was made now."""
    database = database_url.split("?")[0].removeprefix("sqlite:///") if database_url.startswith("sqlite:///") else ""
    beside = database and not database.startswith(":memory:") and not database.startswith("file:")
    if beside:
        directory = Path(database).parent / "keys"
    else:
        from platformdirs import user_data_dir

        directory = Path(user_data_dir("lisens", appauthor=False)) / "keys"
    key = directory / "demo.key"
    if key.exists():
        return key, False
    signing.generate_keys(directory, name="demo")
    return key, True


def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.", min=1, max=64)] = 1,
    with_demo: Annotated[bool, typer.Option("--demo", help="Create a demo tenant and print tokens for it.")] = False,
    with_worker: Annotated[
        bool, typer.Option("--worker", help="Also run a worker (webhooks, renewals) in this process.")
    ] = False,
) -> None:
    """Run the HTTP API (OpenAPI at /docs) on the configured database."""
    rt = runtime(ctx)
    rt.ensure_schema()
    if with_demo:
        with rt.unit_of_work() as uow:
            made = demo.ensure_demo(uow)
        console.print(f"demo tenant {made.tenant!r} {'created' if made.created else 'exists'}; tokens:", markup=False)
        for role, token in made.tokens.items():
            console.print(f"  {role:18} {token}", markup=False)
        console.print(
            f"try: curl -H 'Authorization: Bearer {made.tokens['admin']}' http://{host}:{port}/v1/tenants/demo/panel",
            markup=False,
            soft_wrap=True,
        )
        console.print(f"panel: http://{host}:{port}/admin (log in with the admin or vendor token)", markup=False)
        if rt.settings.signing_key is None:
            key, made_now = demo_signing_key(rt.settings.database_url)
            os.environ["LISENS_SIGNING_KEY"] = str(key)
            console.print(
                f"signing key for packages and snapshots: {key} ({'generated' if made_now else 'kept'}; "
                "for production, set LISENS_SIGNING_KEY to a key of your own)",
                markup=False,
                soft_wrap=True,
            )
    # Worker processes build their own app from the environment: hand them the settings through it.
    os.environ["LISENS_DATABASE_URL"] = rt.settings.database_url
    if rt.settings.catalog_dir is not None:
        os.environ["LISENS_CATALOG_DIR"] = str(rt.settings.catalog_dir)
    configure_supervisor_logging()
    worker = webhooks_cli.start_worker(rt) if with_worker else None
    try:
        _run_uvicorn(rt, host, port, workers)
    finally:
        if worker is not None:
            worker.stopped.set()


def _run_uvicorn(rt: Runtime, host: str, port: int, workers: int) -> None:
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Each worker counts into files of one fresh directory, and /metrics sums them: the same
        # answer whichever worker serves it (prometheus_client's multiprocess mode).
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="lisens-metrics-")
    uvicorn.run(
        "lisens.api.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        # Only these addresses may say, in X-Forwarded-For and X-Forwarded-Proto, who the client is and
        # whether it came over HTTPS (limits on failed log-ins, Secure cookies).
        proxy_headers=True,
        forwarded_allow_ips=rt.settings.trusted_proxies,
    )


@token_app.command("create")
def token_create(
    ctx: typer.Context,
    tenant: Annotated[str | None, typer.Argument(help="The tenant of an admin or app token.")] = None,
    vendor: Annotated[bool, typer.Option("--vendor", help="A vendor token: reaches every tenant.")] = False,
    role: Annotated[str | None, typer.Option("--role", help="admin or app (with TENANT).")] = None,
    user: Annotated[str | None, typer.Option("--user", help="Bind the token to a user (currentPrincipal).")] = None,
    description: Annotated[str, typer.Option(help="What the token is for.")] = "",
    as_json: Json = False,
) -> None:
    """Create a token and print it once; only its hash is stored."""
    chosen = "vendor" if vendor else (role or "")
    with runtime(ctx).unit_of_work() as uow:
        plain, info = tokens.create_token(uow, role=chosen, tenant=tenant, user=user, description=description)
    if as_json:
        print_json({"token": plain, "info": info})
    else:
        console.print(plain, markup=False)
        console.print(f"(token {info.id}, {info.role}; shown once, keep it safe)", markup=False, style="dim")


@token_app.command("list")
def token_list(
    ctx: typer.Context, tenant: Annotated[str | None, typer.Argument()] = None, as_json: Json = False
) -> None:
    """List tokens (never their secret)."""
    with runtime(ctx).unit_of_work() as uow:
        data = tokens.list_tokens(uow, tenant=tenant)
    if as_json:
        print_json(data)
        return
    rows = [(t.id, t.prefix + "…", t.role, t.tenant or "", t.user or "", t.revoked_at or "") for t in data]
    console.print(table(f"{len(rows)} tokens", ["id", "token", "role", "tenant", "user", "revoked"], rows))


@token_app.command("revoke")
def token_revoke(
    ctx: typer.Context, token_id: Annotated[int, typer.Argument(metavar="ID")], as_json: Json = False
) -> None:
    """Revoke a token by its id."""
    with runtime(ctx).unit_of_work() as uow:
        data = tokens.revoke_token(uow, token_id)
    if as_json:
        print_json(data)
    else:
        console.print(f"token {data.id} revoked", markup=False)
