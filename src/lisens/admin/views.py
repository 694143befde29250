"""The panel's pages: login, licenses, users and the user card, subscription, the vendor's overview."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from lisens.admin.charts import plan_charts
from lisens.admin.i18n import LOCALES, choose, translations
from lisens.admin.texts import PanelTexts
from lisens.admin.texts import install as install_texts
from lisens.catalog.loader import load_catalogs
from lisens.domain.billing import PERIODS
from lisens.domain.errors import Code, LisensError
from lisens.domain.model import LicenseType
from lisens.domain.names import plan_parts
from lisens.domain.seats import SeatCount
from lisens.service import (
    audit,
    bulk,
    move_plans,
    moves,
    panel,
    panel_sessions,
    subscriptions,
    tags,
    tenants,
    tokens,
    users,
    waves,
)
from lisens.service.access import may_manage, may_read
from lisens.service.context import Context
from lisens.service.decisions import term_of
from lisens.service.licenses import license_rows
from lisens.service.results import MovePlanRead
from lisens.service.state import load_state, require_user
from lisens.service.tokens import Principal
from lisens.web.limiter import FailedAuthLimiter, client_address
from lisens.web.units import read, unit_of_work

TEMPLATES = Path(__file__).parent / "templates"
router = APIRouter(prefix="/admin", include_in_schema=False)


def _environment(lang: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]), extensions=["jinja2.ext.i18n"]
    )
    env.install_gettext_translations(translations(lang), newstyle=True)  # type: ignore[attr-defined]
    install_texts(env, lang)
    return env


def _lang(request: Request) -> str:
    lang = choose(
        request.query_params.get("lang") or request.session.get("lang"), request.headers.get("accept-language")
    )
    if request.query_params.get("lang") in LOCALES:
        request.session["lang"] = lang
    return lang


def _csrf(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(24)
        request.session["csrf"] = token
    return str(token)


def _check_csrf(request: Request, sent: str | None) -> bool:
    expected = request.session.get("csrf")
    header = request.headers.get("x-csrf-token")
    return bool(expected) and secrets.compare_digest(str(expected), str(sent or header or ""))


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    lang = _lang(request)
    env = _environment(lang)
    html = env.get_template(template).render(
        request=request,
        lang=lang,
        locales=LOCALES,
        csrf=_csrf(request),
        principal=getattr(request.state, "admin", None),
        **context,
    )
    return HTMLResponse(html, status_code=status)


def _principal(request: Request) -> Principal | None:
    """The principal of the request's live server-side session, if any."""
    session_id = request.session.get("sid")
    if not isinstance(session_id, str):
        return None
    tenant_id = request.session.get("tid")
    # A session begun a moment ago may not be on the replica yet: the primary is asked before giving up.
    principal = read(
        request,
        "admin",
        lambda ctx: panel_sessions.session_principal(
            ctx, tenant_id if isinstance(tenant_id, int) else None, session_id, at=ctx.now()
        ),
        ask_primary=lambda found: found is None,
    )
    if principal is not None:
        request.state.admin = principal
    return principal


def _allowed(principal: Principal, tenant: str, *, manage: bool = False) -> bool:
    return may_manage(principal, tenant) if manage else may_read(principal, tenant)


def _login_redirect() -> RedirectResponse:
    return RedirectResponse("/admin/login", status_code=303)


def error_text(request: Request, error: LisensError) -> str:
    """The error in the user's language: known codes have translated messages with their values."""
    _ = translations(_lang(request)).gettext
    d = PanelTexts(_lang(request)).error_values(error.details)
    known = {
        Code.SEAT_LIMIT_REACHED: _("No free seat of %(license)s: %(in_use)s in use of %(total)s."),
        Code.PREREQUISITE_MISSING: _("%(license)s needs %(prerequisite)s first."),
        Code.INVALID_COMBINATION: _("These plans cannot be combined: at most one tier per solution."),
        Code.USER_TYPE_NOT_ALLOWED: _("%(license)s is not for %(user_type)s users."),
        Code.NOT_TENANT_PLAN: _("Every user holds the tenant's plan."),
        Code.USER_RETIRED: _("The user is retired and holds no licenses."),
        Code.LICENSE_HIDDEN: _("This license comes with a plan and cannot be assigned by hand."),
        Code.SAME_GENERATION: _("The tenant is on that generation already."),
        Code.UNKNOWN_GENERATION: _("No such generation."),
        Code.NO_MOVE_MAPPING: _("No move from generation %(source)s to %(target)s is defined."),
        Code.UNKNOWN_WAVE: _("No such wave."),
        Code.WAVE_CANCELLED: _("The wave is cancelled."),
        Code.WAVE_PAUSED: _("The wave is paused already."),
        Code.WAVE_NOT_PAUSED: _("The wave is not paused."),
    }
    template = known.get(error.code)
    if template is None:
        # English is the domain's own message; another language names the code rather than show English.
        return error.message if _lang(request) == "en" else _("Refused: %(code)s") % {"code": error.code}
    try:
        return template % d
    except (KeyError, TypeError, ValueError):
        return template


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> HTMLResponse:
    return render(request, "login.html")


@router.post("/login")
def login(request: Request, token: Annotated[str, Form(max_length=200)], csrf: Annotated[str, Form()] = "") -> Response:
    if not _check_csrf(request, csrf):
        return render(request, "login.html", status=403, error="csrf")
    with unit_of_work(request, "admin") as ctx:
        started = panel_sessions.start_session(ctx, token.strip(), at=ctx.now())
    if started is None:
        # A valid token is never held back; failed log-ins beyond the limit are answered 429.
        limiter: FailedAuthLimiter = request.app.state.auth_limiter
        wait = limiter.failed(client_address(request))
        if wait is not None:
            page = render(request, "login.html", status=429, error="too-many", wait=wait)
            page.headers["Retry-After"] = str(wait)
            return page
        return render(request, "login.html", status=401, error="token")
    request.session.clear()
    request.session["sid"] = started.session_id
    request.session["tid"] = started.tenant_id
    principal = started.principal
    target = "/admin" if principal.role == "vendor" else f"/admin/t/{principal.tenant}/licenses"
    return RedirectResponse(target, status_code=303)


@router.post("/logout")
def logout(request: Request, csrf: Annotated[str, Form()] = "") -> Response:
    if _check_csrf(request, csrf):
        session_id = request.session.get("sid")
        tenant_id = request.session.get("tid")
        if isinstance(session_id, str):
            # Ended on the server: a copy of the cookie no longer logs anyone in.
            with unit_of_work(request, "admin") as ctx:
                panel_sessions.end_session(
                    ctx, tenant_id if isinstance(tenant_id, int) else None, session_id, at=ctx.now()
                )
        request.session.clear()
    return _login_redirect()


@router.get("", response_class=HTMLResponse)
def home(request: Request) -> Response:
    principal = _principal(request)
    if principal is None:
        return _login_redirect()
    if principal.role != "vendor":
        return RedirectResponse(f"/admin/t/{principal.tenant}/licenses", status_code=303)
    with unit_of_work(request, principal.actor, read_only=True) as ctx:
        report = tenants.generation_report(ctx)
    most = max((len(entry.tenants) for entry in report.root.values()), default=1)
    return render(request, "home.html", report=report.root, most=most)


def _tenant_page(request: Request, tenant: str, *, manage: bool = False) -> Principal | Response:
    principal = _principal(request)
    if principal is None:
        return _login_redirect()
    if not _allowed(principal, tenant, manage=manage):
        return render(request, "message.html", status=404, message="not-found")
    return principal


def _vendor_page(request: Request) -> Principal | Response:
    """A page of the vendor's: anyone else finds none."""
    principal = _principal(request)
    if principal is None:
        return _login_redirect()
    if principal.role != "vendor":
        return render(request, "message.html", status=404, message="not-found")
    return principal


def _form_page(request: Request, tenant: str, csrf: str) -> Principal | Response:
    """A change sent from the panel: the principal may manage the tenant, and the form carries the
    session's CSRF token."""
    principal = _tenant_page(request, tenant, manage=True)
    if isinstance(principal, Response):
        return principal
    if not _check_csrf(request, csrf):
        return render(request, "message.html", status=403, message="csrf")
    return principal


@router.get("/t/{tenant}/licenses", response_class=HTMLResponse)
def licenses(request: Request, tenant: str, tab: str = "status") -> Response:
    principal = _tenant_page(request, tenant)
    if isinstance(principal, Response):
        return principal
    with unit_of_work(request, principal.actor, read_only=True) as ctx:
        data = panel.panel(ctx, tenant)
        state = load_state(ctx, tenant)
        owners = [o.name for o in data.owners]
        rows = [r for r in license_rows(ctx, state) if not r.info.hidden and (tab == "status" or r.info.owner == tab)]
        expiry = users.license_term(term_of(ctx, state))
    days_left = None
    if expiry:
        days_left = (datetime.fromisoformat(expiry["expiry"]).date() - ctx.now().date()).days
    plans = [r for r in data.user_licenses if r.kind == "plan"]
    return render(
        request,
        "licenses.html",
        tenant=tenant,
        data=data,
        tab=tab,
        owners=owners,
        system=[r for r in rows if r.info.type is not LicenseType.USER],
        user_rows=[r for r in rows if r.info.type is LicenseType.USER],
        expiry=expiry,
        days_left=days_left,
        plans=plans,
    )


@router.get("/t/{tenant}/users", response_class=HTMLResponse)
def user_list(request: Request, tenant: str, plan: str = "", login: str = "") -> Response:
    principal = _tenant_page(request, tenant)
    if isinstance(principal, Response):
        return principal
    with unit_of_work(request, principal.actor, read_only=True) as ctx:
        everyone = users.list_users(ctx, tenant)
    shown = [
        u for u in everyone if (not plan or (u.plan or "") == plan) and (not login or u.can_log_in == (login == "yes"))
    ]
    plans = sorted({u.plan for u in everyone if u.plan})
    return render(request, "users.html", tenant=tenant, users=shown, plans=plans, plan=plan, login=login)


def _tokens_page(request: Request, principal: Principal, tenant: str, **context: Any) -> HTMLResponse:
    with unit_of_work(request, principal.actor, read_only=True) as ctx:
        found = tokens.list_tokens(ctx, tenant=tenant)
        people = [u.user for u in users.list_users(ctx, tenant)]
    roles = ["app", "admin"] if principal.role == "vendor" else ["app"]
    return render(request, "tokens.html", tenant=tenant, tokens=found, users=people, roles=roles, **context)


@router.get("/t/{tenant}/tokens", response_class=HTMLResponse)
def tokens_list(request: Request, tenant: str) -> Response:
    """The tenant's API tokens (never their secret), with a form for a new one and revoke buttons."""
    principal = _tenant_page(request, tenant, manage=True)
    if isinstance(principal, Response):
        return principal
    return _tokens_page(request, principal, tenant, created=None, error=None)


@router.post("/t/{tenant}/tokens", response_class=HTMLResponse)
def token_create(
    request: Request,
    tenant: str,
    role: Annotated[str, Form(max_length=10)] = "app",
    user: Annotated[str, Form(max_length=254)] = "",
    description: Annotated[str, Form(max_length=254)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """A new token, shown once. A tenant administrator makes app tokens; the vendor admin tokens too."""
    principal = _form_page(request, tenant, csrf)
    if isinstance(principal, Response):
        return principal
    if role != "app" and principal.role != "vendor":
        return render(request, "message.html", status=403, message="not-found")
    try:
        with unit_of_work(request, principal.actor) as ctx:
            plain, _info = tokens.create_token(
                ctx, role=role, tenant=tenant, user=user or None, description=description
            )
    except LisensError as failure:
        return _tokens_page(request, principal, tenant, created=None, error=error_text(request, failure))
    return _tokens_page(request, principal, tenant, created=plain, error=None)


@router.post("/t/{tenant}/tokens/{token_id}/revoke", response_class=HTMLResponse)
def token_revoke(
    request: Request, tenant: str, token_id: int, csrf: Annotated[str, Form(max_length=200)] = ""
) -> Response:
    principal = _form_page(request, tenant, csrf)
    if isinstance(principal, Response):
        return principal
    with unit_of_work(request, principal.actor) as ctx:
        own = {t.id for t in tokens.list_tokens(ctx, tenant=tenant)}
        if token_id not in own:
            return render(request, "message.html", status=404, message="not-found")
        tokens.revoke_token(ctx, token_id)
    return RedirectResponse(f"/admin/t/{tenant}/tokens", status_code=303)


MAX_CSV_BYTES = 5_000_000


@router.get("/t/{tenant}/bulk", response_class=HTMLResponse)
def bulk_page(request: Request, tenant: str) -> Response:
    """Assign plans and licenses to many users from a CSV file: preview each row, then apply."""
    principal = _tenant_page(request, tenant, manage=True)
    if isinstance(principal, Response):
        return principal
    return render(request, "bulk.html", tenant=tenant, text="", report=None, applied=None, error=None)


@router.post("/t/{tenant}/bulk", response_class=HTMLResponse)
async def bulk_post(request: Request, tenant: str) -> Response:
    principal = _tenant_page(request, tenant, manage=True)
    if isinstance(principal, Response):
        return principal
    async with request.form(max_files=1, max_fields=10) as form:
        if not _check_csrf(request, str(form.get("csrf", ""))):
            return render(request, "message.html", status=403, message="csrf")
        upload = form.get("file")
        text = str(form.get("text", ""))
        if upload is not None and not isinstance(upload, str) and upload.filename:
            raw = await upload.read(MAX_CSV_BYTES + 1)
            text = raw.decode("utf-8-sig", errors="replace")
        partial = form.get("partial") == "yes"
        create_users = form.get("create_users") == "yes"
        action = str(form.get("action", "preview"))
    context: dict[str, Any] = {"tenant": tenant, "text": text, "partial": partial, "create_users": create_users}
    if len(text.encode()) > MAX_CSV_BYTES:
        return render(request, "bulk.html", report=None, applied=None, error="CSV > 5 MB", **context)
    try:
        rows = bulk.parse_bulk_csv(text)
        with unit_of_work(request, principal.actor, read_only=True) as ctx:
            checked = bulk.prepare(ctx, tenant, rows, partial=True, create_users=create_users)
        report = checked.report
        applied = None
        if action == "apply":
            with unit_of_work(request, principal.actor, read_only=True) as ctx:
                prepared = bulk.prepare(ctx, tenant, rows, partial=partial, create_users=create_users)
            with unit_of_work(request, principal.actor) as ctx:
                applied = bulk.commit(ctx, prepared)
    except LisensError as failure:
        return render(request, "bulk.html", report=None, applied=None, error=error_text(request, failure), **context)
    return render(request, "bulk.html", report=report, applied=applied, error=None, **context)


AUDIT_PAGE = 50


@router.get("/t/{tenant}/audit", response_class=HTMLResponse)
def audit_page(request: Request, tenant: str, after: int = 0, user: str = "", on: str = "") -> Response:
    """The tenant's log, a page at a time in commit order; with a user and a date, what they held then."""
    principal = _tenant_page(request, tenant, manage=True)
    if isinstance(principal, Response):
        return principal
    holdings = None
    error = None
    with unit_of_work(request, principal.actor, read_only=True) as ctx:
        entries = audit.audit_log(ctx, tenant, after=max(after, 0), limit=AUDIT_PAGE + 1)
        if user and on:
            try:
                moment = datetime.fromisoformat(on)
                holdings = audit.holdings_at(ctx, tenant, user, moment if moment.tzinfo else moment.replace(tzinfo=UTC))
            except ValueError:
                error = translations(_lang(request)).gettext("%(value)s is not a date (YYYY-MM-DD)") % {"value": on}
            except LisensError as failure:
                error = error_text(request, failure)
    more = len(entries) > AUDIT_PAGE
    entries = entries[:AUDIT_PAGE]
    return render(
        request,
        "audit.html",
        tenant=tenant,
        entries=entries,
        more=more,
        next_after=entries[-1].seq if entries else after,
        user=user,
        on=on,
        holdings=holdings,
        error=error,
    )


def _card(ctx: Context, tenant: str, user: str) -> dict[str, Any]:
    """What the user card shows: plan radios with counters, nested license checkboxes, effective licenses."""
    state = load_state(ctx, tenant)
    row = require_user(ctx, state, user)
    shown = users.show_user(ctx, tenant, user)
    data = panel.panel(ctx, tenant)
    plan_rows = [r for r in data.user_licenses if r.kind == "plan"]
    plans = [
        {
            "key": r.item,
            "name": r.description,
            "in_use": r.in_use,
            "total": r.total,
            "full": not SeatCount(r.total, r.in_use).can_take() and shown.plan != r.item,
        }
        for r in plan_rows
    ]
    rows = {r.info.full_name: r for r in license_rows(ctx, state)}
    held = {e.license for e in shown.effective} | set(shown.licenses)
    assignable: list[dict[str, Any]] = []
    for full, r in rows.items():
        if r.info.type is not LicenseType.USER or r.info.hidden or r.info.is_plan_license:
            continue
        if state.catalog.tenant_plan and full.endswith("suite-user"):
            continue
        assigned = full in shown.licenses
        assignable.append(
            {
                "name": full,
                "module": r.info.module,
                "description": r.info.description,
                "in_use": r.in_use,
                "total": None if r.info.unrestricted else r.total,
                "full": not r.seats.can_take() and not assigned,
                "assigned": assigned,
                "prerequisite": r.info.prerequisite,
                # greyed until its prerequisite is held (both may be ticked and saved together)
                "waiting": r.info.prerequisite is not None and r.info.prerequisite not in held and not assigned,
            }
        )
    by_parent: dict[str | None, list[dict[str, Any]]] = {}
    names = {a["name"] for a in assignable}
    for item in sorted(assignable, key=lambda a: str(a["module"])):
        parent = str(item["prerequisite"]) if item["prerequisite"] in names else None
        by_parent.setdefault(parent, []).append(item)
    return {"user": shown, "row": row, "plans": plans, "tree": by_parent, "suite": state.catalog.tenant_plan}


@router.get("/t/{tenant}/users/{user}", response_class=HTMLResponse)
def user_card(request: Request, tenant: str, user: str) -> Response:
    principal = _tenant_page(request, tenant)
    if isinstance(principal, Response):
        return principal
    try:
        with unit_of_work(request, principal.actor, read_only=True) as ctx:
            card = _card(ctx, tenant, user)
    except LisensError:
        return render(request, "message.html", status=404, message="not-found")
    return render(request, "user.html", tenant=tenant, card=card, can_manage=_allowed(principal, tenant, manage=True))


@router.post("/t/{tenant}/users/{user}", response_class=HTMLResponse)
async def save_user(request: Request, tenant: str, user: str) -> Response:
    principal = _tenant_page(request, tenant, manage=True)
    if isinstance(principal, Response):
        return principal
    form = await request.form()
    if not _check_csrf(request, str(form.get("csrf", ""))):
        return render(request, "message.html", status=403, message="csrf")
    wanted_plan = str(form.get("plan", ""))
    wanted = {str(v) for v in form.getlist("license")}
    error: str | None = None
    field: str | None = None
    try:
        with unit_of_work(request, principal.actor) as ctx:
            shown = users.show_user(ctx, tenant, user)
            current = set(shown.licenses)
            removed = sorted(current - wanted)
            added = sorted(wanted - current)
            if removed:
                field = removed[0]
                users.unassign(ctx, tenant, user, licenses=removed)
            if wanted_plan and wanted_plan != shown.plan:
                field = "plan"
                users.assign(ctx, tenant, user, plans=list(plan_parts(wanted_plan)))
            elif not wanted_plan and shown.plan:
                field = "plan"
                users.unassign(ctx, tenant, user, plan=True)
            if added:
                field = added[0]
                users.assign(ctx, tenant, user, licenses=added)
    except LisensError as failure:
        error = error_text(request, failure)
        field = str(failure.details.get("license") or field or "")
        if failure.code == Code.SEAT_LIMIT_REACHED and str(failure.details.get("license", "")).startswith("plan "):
            field = "plan"
    with unit_of_work(request, principal.actor, read_only=True) as ctx:
        card = _card(ctx, tenant, user)
    if error is not None:
        # Nothing was changed: show the form as it was sent, with the error next to its cause.
        card["user"] = card["user"].model_copy(update={"plan": wanted_plan or None})
        for items in card["tree"].values():
            for item in items:
                item["assigned"] = item["name"] in wanted
    htmx = bool(request.headers.get("hx-request"))
    # htmx swaps only 2xx answers: the form with its error is the answer to an htmx request.
    status = 200 if error is None or htmx else 409
    template = "user_form.html" if htmx else "user.html"
    return render(
        request,
        template,
        status=status,
        tenant=tenant,
        card=card,
        can_manage=True,
        error=error,
        field=field,
        saved=error is None,
    )


@router.get("/t/{tenant}/subscription", response_class=HTMLResponse)
def subscription(request: Request, tenant: str) -> Response:
    principal = _tenant_page(request, tenant)
    if isinstance(principal, Response):
        return principal
    return _subscription_page(request, principal, tenant, error=None)


def _subscription_page(request: Request, principal: Principal, tenant: str, *, error: str | None) -> HTMLResponse:
    data = None
    with unit_of_work(request, principal.actor, read_only=True) as ctx:
        today = ctx.now().date().isoformat()
        try:
            data = subscriptions.show_subscription(ctx, tenant, at=ctx.now())
        except LisensError as failure:
            if failure.code != Code.NO_SUBSCRIPTION:
                error = error or error_text(request, failure)
    return render(
        request,
        "subscription.html",
        tenant=tenant,
        data=data,
        error=error,
        periods=PERIODS,
        vendor=principal.role == "vendor",
        today=today,
    )


@router.post("/t/{tenant}/subscription", response_class=HTMLResponse)
def subscription_change(
    request: Request,
    tenant: str,
    action: Annotated[str, Form(max_length=10)],
    period: Annotated[int, Form(ge=0, le=120)] = 0,
    start: Annotated[str, Form(max_length=10)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """The vendor starts a subscription, changes its billing period, or cancels it."""
    principal = _form_page(request, tenant, csrf)
    if isinstance(principal, Response):
        return principal
    if principal.role != "vendor":
        return render(request, "message.html", status=403, message="not-found")
    try:
        with unit_of_work(request, principal.actor) as ctx:
            if action == "create":
                subscriptions.create_subscription(ctx, tenant, start=date.fromisoformat(start), period=period)
            elif action == "period":
                subscriptions.change_period(ctx, tenant, period=period)
            elif action == "cancel":
                subscriptions.cancel_subscription(ctx, tenant)
            else:
                return render(request, "message.html", status=404, message="not-found")
    except ValueError:
        return _subscription_page(request, principal, tenant, error=f"{start!r}: YYYY-MM-DD")
    except LisensError as failure:
        return _subscription_page(request, principal, tenant, error=error_text(request, failure))
    return RedirectResponse(f"/admin/t/{tenant}/subscription", status_code=303)


# The plan page lists at most this many tenants (the summary and the charts cover the whole cohort; the CSV
# has every tenant).
PLAN_TENANTS = 100


def _cohort(generation: str, tag: str) -> move_plans.Selection:
    key, _, value = tag.partition("=")
    return move_plans.Selection(
        generation=generation or None,
        tags=((tags.require_key(key.strip()), tags.require_value(value.strip())),) if tag else (),
    )


@router.get("/moves/plan", response_class=HTMLResponse)
def move_plan(request: Request, to: str = "suite", generation: str = "", tag: str = "") -> Response:
    """The vendor plans the move of a cohort: revenue before and after, the tenants by yearly change, the
    licenses lost most often, and the rows of at most PLAN_TENANTS tenants (the blocked ones first, then those
    whose revenue changes most), with every tenant's row as CSV. Changes nothing."""
    principal = _vendor_page(request)
    if isinstance(principal, Response):
        return principal
    form = {"to": to, "generation": generation, "tag": tag}
    try:
        selection = _cohort(generation, tag)
        with unit_of_work(request, principal.actor, read_only=True) as ctx:
            plan = move_plans.overview(ctx, to=to, selection=selection, limit=PLAN_TENANTS)
    except LisensError as failure:
        return _plan_page(request, form, error=error_text(request, failure))
    return _plan_page(request, form, plan=plan)


def _plan_page(
    request: Request, form: dict[str, str], *, plan: MovePlanRead | None = None, error: str | None = None
) -> HTMLResponse:
    targets = list(load_catalogs(request.app.state.settings.catalog_dir))
    charts = plan_charts(plan) if plan is not None else None
    query = urlencode(form)
    return render(
        request, "move_plan.html", plan=plan, charts=charts, targets=targets, form=form, query=query, error=error
    )


@router.get("/moves/plan.csv", response_class=Response)
def move_plan_csv(request: Request, to: str = "suite", generation: str = "", tag: str = "") -> Response:
    """Every tenant's row of the plan the page shows, one line each (made into a temporary file first)."""
    principal = _vendor_page(request)
    if isinstance(principal, Response):
        return principal
    try:
        selection = _cohort(generation, tag)
        with unit_of_work(request, principal.actor, read_only=True) as ctx:
            made = move_plans.stream(ctx, to=to, selection=selection)
            document = move_plans.spool_csv(made)
    except LisensError as failure:
        form = {"to": to, "generation": generation, "tag": tag}
        return _plan_page(request, form, error=error_text(request, failure))
    return StreamingResponse(
        document.chunks(),
        media_type=document.media_type,
        headers={
            "Content-Length": str(document.size),
            "Content-Disposition": f'attachment; filename="move-plan-to-{made.to}.csv"',
        },
    )


@router.get("/t/{tenant}/move", response_class=HTMLResponse)
def move(request: Request, tenant: str, to: str = "suite") -> Response:
    principal = _vendor_page(request)
    if isinstance(principal, Response):
        return principal
    targets = list(load_catalogs(request.app.state.settings.catalog_dir))
    try:
        with unit_of_work(request, principal.actor, read_only=True) as ctx:
            view = moves.preview(ctx, tenant, to=to)
    except LisensError as failure:
        return render(
            request, "move.html", tenant=tenant, view=None, to=to, targets=targets, error=error_text(request, failure)
        )
    return render(request, "move.html", tenant=tenant, view=view, to=to, targets=targets, error=None)


def _waves_page(request: Request, principal: Principal, *, error: str | None, status: int = 200) -> HTMLResponse:
    with unit_of_work(request, principal.actor, read_only=True) as ctx:
        reports = [waves.wave_report(ctx, wave.id) for wave in reversed(waves.list_waves(ctx))]
    return render(request, "waves.html", status=status, waves=reports, error=error)


@router.get("/waves", response_class=HTMLResponse)
def waves_list(request: Request) -> Response:
    """The vendor's waves, newest first: counts, one row per tenant, and pause, resume and cancel buttons."""
    principal = _principal(request)
    if principal is None:
        return _login_redirect()
    if principal.role != "vendor":
        return render(request, "message.html", status=404, message="not-found")
    return _waves_page(request, principal, error=None)


WAVE_ACTIONS = {"pause": waves.pause_wave, "resume": waves.resume_wave, "cancel": waves.cancel_wave}


@router.post("/waves/{wave_id}/{action}", response_class=HTMLResponse)
def wave_change(
    request: Request, wave_id: int, action: str, csrf: Annotated[str, Form(max_length=200)] = ""
) -> Response:
    """Pause, resume or cancel a wave (the vendor only)."""
    principal = _principal(request)
    if principal is None:
        return _login_redirect()
    if principal.role != "vendor" or action not in WAVE_ACTIONS:
        return render(request, "message.html", status=404, message="not-found")
    if not _check_csrf(request, csrf):
        return render(request, "message.html", status=403, message="csrf")
    try:
        with unit_of_work(request, principal.actor) as ctx:
            WAVE_ACTIONS[action](ctx, wave_id)
    except LisensError as failure:
        return _waves_page(request, principal, error=error_text(request, failure), status=failure.code.status)
    return RedirectResponse("/admin/waves", status_code=303)
