"""The license panel in a real browser (Debian's Chromium driven by Playwright) against a running server."""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, expect, sync_playwright

from lisens.api.app import create_app
from lisens.db.engine import make_engine, make_session_factory
from lisens.db.migrate import upgrade
from lisens.service import subscriptions, tenants, tokens, users
from lisens.service.context import Context
from lisens.settings import Settings

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
AT = datetime.now(UTC)


@dataclass
class Site:
    base: str
    admin: str
    old_admin: str
    vendor: str
    shots: Path


def seed(url: str) -> dict[str, str]:
    engine = make_engine(url)
    upgrade(engine)
    session = make_session_factory(engine)()
    ctx = Context(session=session, actor="seed", may_correct=True)
    tenants.create_tenant(ctx, name="acme", generation="11", company="Acme AS", serial="4711", at=AT)
    tenants.set_seats(ctx, "acme", "sales-premium", 1, at=AT)
    tenants.set_seats(ctx, "acme", "sales-essential", 3, at=AT)
    for name in ("alice", "bob"):
        users.add_user(ctx, "acme", name, at=AT)
    users.assign(ctx, "acme", "alice", plans=["sales-premium"], at=AT)
    subscriptions.create_subscription(ctx, "acme", start=date(AT.year, AT.month, 1), period=3, at=AT)
    tenants.create_tenant(ctx, name="old", generation="7", company="Old AS", at=AT)
    tenants.set_seats(ctx, "old", "user", 2, at=AT)
    tenants.set_seats(ctx, "old", "web", 1, at=AT)
    users.add_user(ctx, "old", "otto", at=AT)
    made = {
        "admin": tokens.create_token(ctx, role="admin", tenant="acme", at=AT)[0],
        "old_admin": tokens.create_token(ctx, role="admin", tenant="old", at=AT)[0],
        "vendor": tokens.create_token(ctx, role="vendor", at=AT)[0],
    }
    session.commit()
    session.close()
    engine.dispose()
    return made


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: scripts/setup.sh installs Debian's chromium")
    directory = tmp_path_factory.mktemp("panel")
    url = f"sqlite:///{directory / 'panel.db'}"
    made = seed(url)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(Settings(database_url=url)), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    # LISENS_SCREENSHOTS=docs/img/panel writes the screenshots docs/panel.md shows.
    shots = Path(os.environ.get("LISENS_SCREENSHOTS") or directory)
    shots.mkdir(parents=True, exist_ok=True)
    yield Site(f"http://127.0.0.1:{port}", made["admin"], made["old_admin"], made["vendor"], shots)
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale="en-US")
    yield context.new_page()
    context.close()


def log_in(page: Page, site: Site, token: str) -> None:
    page.goto(f"{site.base}/admin/login")
    page.fill("input[name=token]", token)
    page.click("button:has-text('Log in')")


def test_a_wrong_token_is_refused_on_the_login_page(page: Page, site: Site) -> None:
    log_in(page, site, "lsn_wrong")
    expect(page.locator(".error")).to_contain_text("Unknown or revoked token")


def test_the_licenses_page_shows_owner_expiry_seats_and_no_hidden_license(page: Page, site: Site) -> None:
    log_in(page, site, site.admin)
    expect(page).to_have_url(f"{site.base}/admin/t/acme/licenses")
    expect(page.locator("body")).to_contain_text("Acme AS")
    expect(page.locator("#expiry")).to_contain_text("The license expires on")
    expect(page.locator("#expiry")).to_contain_text("days left")
    expect(page.locator("#utilisation")).to_contain_text("1 / 1")
    expect(page.locator("#user-licenses")).to_contain_text("Sales Premium")
    expect(page.locator("#user-licenses")).not_to_contain_text("Sale Editing")  # hidden: comes with the plan
    page.click("text=SUPEROFFICE")
    expect(page.locator("#system")).to_contain_text("Sales Premium Tier")
    page.screenshot(path=str(site.shots / "licenses.png"), full_page=True)


def test_the_user_card_disables_a_full_plan_and_saves_a_plan_change(page: Page, site: Site) -> None:
    log_in(page, site, site.admin)
    page.goto(f"{site.base}/admin/t/acme/users/bob")
    full = page.locator("input[name=plan][value='sales-premium']")
    expect(full).to_be_disabled()
    expect(page.locator("label:has(input[value='sales-premium'])")).to_contain_text("(1 / 1)")
    page.check("input[name=plan][value='sales-essential']")
    page.click("button:has-text('Save')")
    expect(page.locator("#saved")).to_be_visible()
    page.goto(f"{site.base}/admin/t/acme/users?plan=sales-essential")
    expect(page.locator("#users")).to_contain_text("bob")
    expect(page.locator("#users")).not_to_contain_text("alice")
    page.goto(f"{site.base}/admin/t/acme/users/bob")
    expect(page.locator("#effective")).to_contain_text("superoffice.sale-cal")
    page.screenshot(path=str(site.shots / "user.png"), full_page=True)


def test_licenses_nest_under_their_prerequisite_and_an_error_shows_next_to_its_cause_in_swedish(
    page: Page, site: Site
) -> None:
    log_in(page, site, site.old_admin)
    page.goto(f"{site.base}/admin/t/old/users/otto?lang=sv")
    expect(page.locator("h1")).to_have_text("otto")
    nested = page.locator("li:has(> label input[value='superoffice.user']) li input[value='superoffice.web']")
    expect(nested).to_have_count(1)
    page.check("input[value='superoffice.web']")
    page.click("button:has-text('Spara')")
    expect(page.locator("#error-web")).to_contain_text("kräver")
    page.screenshot(path=str(site.shots / "error-sv.png"), full_page=True)
    page.goto(f"{site.base}/admin/t/old/users/otto")
    expect(page.locator("input[value='superoffice.web']")).not_to_be_checked()  # nothing was changed


def test_the_language_follows_the_browser_and_the_switch(browser: Browser, site: Site) -> None:
    context = browser.new_context(locale="de-DE", extra_http_headers={"Accept-Language": "de-DE,de;q=0.9"})
    page = context.new_page()
    log_in_de(page, site)
    expect(page.locator("h1")).to_have_text("Lizenzen")
    page.goto(f"{site.base}/admin/t/acme/licenses?lang=sv")
    expect(page.locator("h1")).to_have_text("Licenser")
    context.close()


def log_in_de(page: Page, site: Site) -> None:
    page.goto(f"{site.base}/admin/login")
    page.fill("input[name=token]", site.admin)
    page.click("button:has-text('Anmelden')")


def test_the_subscription_page_shows_period_term_renewal_and_the_next_invoice(page: Page, site: Site) -> None:
    log_in(page, site, site.admin)
    page.goto(f"{site.base}/admin/t/acme/subscription")
    expect(page.locator("#subscription")).to_contain_text("every 3 months")
    expect(page.locator("#invoice")).to_contain_text("EUR")


def test_the_vendor_sees_tenants_per_generation_and_a_migration_preview(page: Page, site: Site) -> None:
    log_in(page, site, site.vendor)
    expect(page.locator("h1")).to_have_text("Tenants per generation")
    expect(page.locator("body")).to_contain_text("acme")
    page.goto(f"{site.base}/admin/t/acme/move?to=suite")
    expect(page.locator("#move")).to_contain_text("alice")
    page.screenshot(path=str(site.shots / "move.png"), full_page=True)


def test_a_tenant_admin_cannot_open_another_tenant(page: Page, site: Site) -> None:
    log_in(page, site, site.admin)
    response = page.goto(f"{site.base}/admin/t/old/users/otto")
    assert response is not None
    assert response.status == 404
    expect(page.locator("body")).not_to_contain_text("otto")


def test_a_form_without_the_csrf_token_is_refused(page: Page, site: Site) -> None:
    log_in(page, site, site.admin)
    response = page.request.post(f"{site.base}/admin/t/acme/users/bob", form={"plan": "sales-premium"})
    assert response.status == 403


def test_the_session_cookie_is_http_only_and_same_site(page: Page, site: Site) -> None:
    log_in(page, site, site.admin)
    [cookie] = [c for c in page.context.cookies() if c["name"] == "lisens_session"]
    assert cookie["httpOnly"]
    assert cookie["sameSite"] == "Strict"


def test_the_content_security_policy_blocks_nothing_the_panel_needs(page: Page, site: Site) -> None:
    refused: list[str] = []
    page.on(
        "console", lambda message: refused.append(message.text) if "Content Security Policy" in message.text else None
    )
    log_in(page, site, site.vendor)
    for path in ("/admin", "/admin/t/acme/licenses", "/admin/t/acme/users", "/admin/t/acme/users/bob"):
        page.goto(f"{site.base}{path}")
    page.wait_for_function("() => window.htmx !== undefined")  # the local htmx ran under the policy
    assert refused == []


def test_log_out_ends_the_session_even_for_a_copied_cookie(page: Page, site: Site) -> None:
    log_in(page, site, site.admin)
    [cookie] = [c for c in page.context.cookies() if c["name"] == "lisens_session"]
    page.click("button:has-text('Log out')")
    expect(page).to_have_url(f"{site.base}/admin/login")
    replay = page.request.get(
        f"{site.base}/admin/t/acme/users", headers={"cookie": f"lisens_session={cookie['value']}"}, max_redirects=0
    )
    assert replay.status == 303
    assert replay.headers["location"] == "/admin/login"


def test_in_german_an_administrator_makes_and_revokes_a_token_and_previews_a_bulk_file(page: Page, site: Site) -> None:
    log_in(page, site, site.admin)
    page.goto(f"{site.base}/admin/t/acme/tokens?lang=de")
    page.fill("#description", "Integration")
    page.click("button:has-text('Schlüssel erstellen')")
    expect(page.locator("#secret")).to_contain_text("lsn_")
    row = page.locator("#tokens tr", has_text="Integration")
    row.locator("button:has-text('Widerrufen')").click()
    expect(page.locator("#tokens tr", has_text="Integration")).to_contain_text("widerrufen")
    page.goto(f"{site.base}/admin/t/acme/bulk")
    page.fill("#text", "user,plans,licenses\nbob,sales-essential,\nnobody,sales-essential,\n")
    page.click("button[value=preview]")
    expect(page.locator("#summary")).to_contain_text("1 von 2")
    expect(page.locator("#failed")).to_contain_text("UNKNOWN_USER")
    page.goto(f"{site.base}/admin/t/acme/audit?user=alice&on=2999-01-01")
    expect(page.locator("#holdings")).to_contain_text("superoffice.quote-cal")


def test_in_swedish_the_vendor_chooses_a_move_target_and_changes_the_billing_period(page: Page, site: Site) -> None:
    log_in(page, site, site.vendor)
    page.goto(f"{site.base}/admin/t/acme/move?to=suite&lang=sv")
    page.select_option("#to", "9")
    page.click("#target button")
    expect(page).to_have_url(f"{site.base}/admin/t/acme/move?to=9")
    page.goto(f"{site.base}/admin/t/acme/subscription")
    page.select_option("#new-period", "12")
    page.click("#change-period button")
    expect(page.locator("#subscription")).to_be_visible()


def test_in_german_the_vendor_plans_a_move_of_a_cohort_and_sees_its_charts(page: Page, site: Site) -> None:
    log_in(page, site, site.vendor)
    page.goto(f"{site.base}/admin?lang=de")
    page.click("text=Umstellung vieler Mandanten planen")
    page.select_option("#generation", "11")
    page.select_option("#to", "suite")
    page.click("#cohort button")
    expect(page).to_have_url(re.compile(r"/admin/moves/plan\?generation=11&tag=&to=suite"))
    expect(page.locator("#revenue figcaption")).to_contain_text("Jahresumsatz vorher und nachher")
    expect(page.locator("#revenue .bar-row")).to_have_count(2)
    expect(page.locator("#plan tr[data-tenant]")).not_to_have_count(0)


def test_in_swedish_the_vendor_starts_a_subscription_and_cancels_it_at_the_end_of_the_term(
    page: Page, site: Site
) -> None:
    log_in(page, site, site.vendor)
    page.goto(f"{site.base}/admin/t/old/subscription?lang=sv")
    page.select_option("#period", "12")
    page.click("#create-subscription button:has-text('Starta abonnemang')")
    expect(page.locator("#subscription")).to_contain_text("var 12:e månad")
    expect(page.locator("#invoice")).to_be_visible()
    page.click("#cancel-subscription button:has-text('Säg upp vid periodens slut')")
    expect(page.locator("#subscription")).to_contain_text("ingen (uppsagd)")
    expect(page.locator("#cancel-subscription")).to_have_count(0)
