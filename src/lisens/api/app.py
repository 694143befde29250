"""The app factory: `create_app(settings)` builds the FastAPI app with its engine, cache and routes."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError
from starlette.staticfiles import StaticFiles

from lisens import __version__
from lisens.admin import views as admin_views
from lisens.admin.sessions import PanelSessions
from lisens.api import agent, compat, feed, problems, v1
from lisens.api.idempotency import Idempotency
from lisens.api.inputs import InputGuard
from lisens.api.lane import CheckLane
from lisens.api.observability import Metrics, RequestMiddleware
from lisens.api.responses import ReadinessRead
from lisens.api.security import FailedAuthLimiter, SecurityHeaders
from lisens.db.changes import watch_for
from lisens.db.engine import READ_ONLY, make_engine, make_session_factory
from lisens.service import panel_sessions
from lisens.service.cache import EffectiveLicenseCache
from lisens.service.context import Clock, system_clock
from lisens.service.uow import unit_of_work as service_unit_of_work
from lisens.settings import Settings
from lisens.web.units import Replica

MAX_BODY = 10 * 1024 * 1024
ADMIN_STATIC = Path(admin_views.__file__).parent / "static"


def create_app(settings: Settings, *, engine: Engine | None = None, clock: Clock = system_clock) -> FastAPI:
    """The app for `settings`; an engine may be given (tests), otherwise one is made from the settings.

    `clock` is the server's clock, the one authority for when a change happens (tests give their own)."""
    own_engine = engine is None
    pool_size, max_overflow = settings.pool_size, settings.pool_max_overflow
    db = engine or make_engine(settings.database_url, pool_size=pool_size, max_overflow=max_overflow)
    # Read-only connections to the hot standby, if there is one, with the same pool; writes never go there.
    replica_engine = (
        make_engine(settings.replica_url, read_only=True, pool_size=pool_size, max_overflow=max_overflow)
        if settings.replica_url
        else None
    )
    # Hears every committed change (this process's at once, others' through the primary), so that
    # checks answer from memory until something they depend on changed.
    watch = watch_for(db)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        watch.close()
        if own_engine:
            db.dispose()
        if replica_engine is not None:
            replica_engine.dispose()

    # /docs is Swagger UI served from files installed with fastapi-offline: no request leaves the machine.
    app = FastAPIOffline(
        title="Lisens",
        version=__version__,
        description="License server and entitlement engine for the SuperOffice licensing model.",
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
        static_url="/docs/assets",
        swagger_ui_parameters={"persistAuthorization": True},
        telemetry=None if settings.opentelemetry else {"tracing": False, "metrics": False, "logs": False},
    )
    metrics = Metrics()
    app.state.settings = settings
    app.state.clock = clock
    app.state.engine = db
    app.state.watch = watch
    app.state.sessions = make_session_factory(db, watch=watch)
    app.state.primary_read_sessions = make_session_factory(db, read_only=True, watch=watch)
    app.state.replica_engine = replica_engine
    if replica_engine is None:
        app.state.replica = None
        app.state.read_sessions = app.state.primary_read_sessions
    else:
        app.state.replica = Replica(make_session_factory(replica_engine, read_only=True, watch=watch))
        app.state.read_sessions = app.state.replica.sessions
    app.state.cache = EffectiveLicenseCache(stamps=watch)
    app.state.metrics = metrics
    problems.install(app)
    app.include_router(v1.checks)
    app.include_router(v1.router)
    app.include_router(feed.router)
    for prefix in ("", *([settings.compat_prefix] if settings.compat_prefix else [])):
        app.include_router(compat.router, prefix=prefix)
        app.include_router(agent.router, prefix=prefix)

    @app.get("/healthz", tags=["operations"])
    def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["operations"],
        response_model=ReadinessRead,
        responses={503: {"model": ReadinessRead, "description": "Database unreachable"}},
    )
    def readyz(request: Request) -> Response:
        """The database is reachable (a read: it never waits for a writer's lock); with a replica, whether
        it is too (reads go to the primary when it is not, so readiness depends on the primary alone)."""
        extra: dict[str, str] = {}
        if replica_engine is not None:
            extra["replica"] = _reachable(replica_engine)
        database = _reachable(request.app.state.engine.execution_options(**{READ_ONLY: True}))
        if database != "ok":
            return JSONResponse({"status": "unavailable", "database": database, **extra}, status_code=503)
        return JSONResponse({"status": "ok", "database": "ok", **extra})

    @app.get("/metrics", tags=["operations"], include_in_schema=False)
    def metrics_endpoint() -> Response:
        registry = metrics.registry
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # several workers: the sum of all of them
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    app.include_router(admin_views.router)
    app.mount("/admin/static", StaticFiles(directory=ADMIN_STATIC), name="admin-static")
    app.state.auth_limiter = FailedAuthLimiter(limit=settings.auth_failure_limit, window=settings.auth_failure_window)

    def panel_secret() -> str:
        """LISENS_SESSION_SECRET, else the one kept in the database for every worker."""
        if settings.session_secret:
            return settings.session_secret
        with service_unit_of_work(app.state.sessions, actor="server", catalog_dir=settings.catalog_dir) as ctx:
            return panel_sessions.shared_secret(ctx, at=clock())

    # Middleware added first runs innermost: the body limit and the request log come before the input guard.
    app.add_middleware(CheckLane)
    app.add_middleware(Idempotency)
    app.add_middleware(InputGuard)
    app.add_middleware(PanelSessions, secret=panel_secret, always_secure=settings.secure_cookies)
    app.add_middleware(RequestMiddleware, metrics=metrics, max_body=MAX_BODY)
    app.add_middleware(SecurityHeaders)
    return app


def _reachable(engine: Engine) -> str:
    """`ok`, or the kind of error `engine`'s database gave to `SELECT 1`."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        return str(exc.__class__.__name__)
    return "ok"


def app_from_environment() -> FastAPI:
    """Factory for `uvicorn --factory` and worker processes: settings from the environment (LISENS_*)."""
    from lisens.api.observability import configure_logging

    configure_logging()
    return create_app(Settings())
