"""The API documentation works without internet: /docs is served from installed files, asks nothing of
another host, and has an Authorize button for bearer tokens."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from playwright.sync_api import Browser, Request, Route

from tests.admin.test_panel_browser import Site, browser, site
from tests.api.conftest import Api

__all__ = ["browser", "site"]


def test_the_docs_page_loads_swagger_ui_from_this_server_only(api: Api) -> None:
    page = api.client.get("/docs")
    assert page.status_code == 200
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text) + re.findall(r"url: '([^']+)'", page.text)
    assert sources, page.text
    assert [s for s in sources if urlsplit(s).netloc] == []
    for source in sources:
        assert api.client.get(source).status_code == 200, source
    assert "connect-src 'self'" in page.headers["content-security-policy"]


def test_the_openapi_document_declares_bearer_tokens(api: Api) -> None:
    document = api.client.get("/openapi.json").json()
    schemes = document["components"]["securitySchemes"]
    assert [s["scheme"] for s in schemes.values()] == ["bearer"]
    check = document["paths"]["/v1/tenants/{tenant}/check"]["post"]
    assert check["security"] == [{name: []} for name in schemes]


def test_in_a_browser_with_outside_traffic_blocked_the_docs_show_every_tag(browser: Browser, site: Site) -> None:
    context = browser.new_context()
    outside: list[str] = []

    def only_this_server(route: Route, request: Request) -> None:
        if request.url.startswith(site.base):
            route.continue_()
        else:
            outside.append(request.url)
            route.abort()

    context.route("**/*", only_this_server)
    page = context.new_page()
    page.goto(f"{site.base}/docs")
    page.wait_for_selector(".opblock-tag", timeout=15_000)
    tags = {t.strip() for t in page.locator(".opblock-tag").all_inner_texts()}
    assert {"checks", "users", "tenants"} <= {t.split("\n")[0].strip() for t in tags}
    assert page.locator(".authorize").count() == 1
    page.screenshot(path=str(site.shots / "docs.png"))
    context.close()
    assert outside == []


def test_every_operation_has_a_summary_and_a_description(api: Api) -> None:
    document = api.client.get("/openapi.json").json()
    bare = [
        f"{method.upper()} {path}"
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if not operation.get("summary") or not operation.get("description")
    ]
    assert bare == []
