"""Every page of the panel in Chromium: no serious or critical accessibility violation (axe-core), and
usable on a 375 px wide screen without scrolling sideways."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page

from tests.admin.test_panel_browser import Site, browser, site

__all__ = ["browser", "site"]

ADMIN_PAGES = [
    "/admin/t/acme/licenses",
    "/admin/t/acme/users",
    "/admin/t/acme/users/alice",
    "/admin/t/acme/subscription",
    "/admin/t/acme/tokens",
    "/admin/t/acme/audit?user=alice&on=2099-01-01",
    "/admin/t/acme/bulk",
]
VENDOR_PAGES = [
    "/admin",
    "/admin/t/acme/move?to=suite",
    "/admin/moves/plan?to=suite",
    "/admin/t/acme/subscription",
    "/admin/t/acme/tokens",
    "/admin/waves",
]


def _page(browser: Browser, *, width: int = 1280) -> Page:
    context = browser.new_context(locale="sv-SE", viewport={"width": width, "height": 800}, bypass_csp=True)
    return context.new_page()


def log_in(page: Page, site: Site, token: str) -> None:
    page.set_default_timeout(10_000)
    page.goto(f"{site.base}/admin/login")
    page.fill("input[name=token]", token)
    page.press("input[name=token]", "Enter")
    page.wait_for_url(lambda url: "/login" not in url)


def _serious(page: Page) -> list[str]:
    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@pytest.mark.parametrize(("who", "path"), [("admin", p) for p in ADMIN_PAGES] + [("vendor", p) for p in VENDOR_PAGES])
def test_a_panel_page_has_no_serious_accessibility_violation(browser: Browser, site: Site, who: str, path: str) -> None:
    page = _page(browser)
    log_in(page, site, site.admin if who == "admin" else site.vendor)
    page.goto(f"{site.base}{path}")
    name = path.removeprefix("/admin").split("?")[0].strip("/").replace("/", "-") or "tenants"
    page.screenshot(path=str(site.shots / f"{who}-{name}-sv.png"), full_page=True)
    assert _serious(page) == []
    page.context.close()


@pytest.mark.parametrize(("who", "path"), [("admin", p) for p in ADMIN_PAGES] + [("vendor", p) for p in VENDOR_PAGES])
def test_a_panel_page_fits_a_375_pixel_screen(browser: Browser, site: Site, who: str, path: str) -> None:
    page = _page(browser, width=375)
    log_in(page, site, site.admin if who == "admin" else site.vendor)
    page.goto(f"{site.base}{path}")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"{path} is {width} px wide"
    page.context.close()
