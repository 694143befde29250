"""The panel without a browser: log-out ends the session on the server, workers share the cookie secret,
security headers, Secure cookies over HTTPS, and a limit on failed log-ins."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from lisens.api.app import create_app
from lisens.settings import Settings
from tests.api.conftest import Api, seed
from tests.db.conftest import BACKENDS, Database, create_database, drop_database


@pytest.fixture(scope="module", params=BACKENDS)
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    database, token = create_database(request.param, Path(tmp_path_factory.mktemp("panel")))
    with TestClient(worker(database)) as client:
        made = Api(client=client, database=database)
        seed(database, made)
        yield made
    drop_database(database, token)


def worker(database: Database, **settings: object) -> FastAPI:
    """One worker process's app (its own secret, were it not kept in the database; no LISENS_SESSION_SECRET)."""
    return create_app(Settings(database_url=database.url, **settings), engine=database.engine)  # type: ignore[arg-type]


def cookie(client: TestClient) -> dict[str, str]:
    """The session cookie, as a browser would send it to whichever worker answers next."""
    return {"cookie": f"lisens_session={client.cookies['lisens_session']}"}


def csrf_of(client: TestClient) -> str:
    page = client.get("/admin/login")
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found is not None
    return found.group(1)


def log_in(client: TestClient, token: str) -> TestClient:
    answer = client.post("/admin/login", data={"token": token, "csrf": csrf_of(client)}, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return client


def test_a_session_cookie_no_longer_works_after_log_out(site: Api) -> None:
    browser = log_in(TestClient(site.client.app), site.tokens["acme-admin"])
    copied = cookie(browser)
    assert browser.get("/admin/t/acme/users").status_code == 200
    page = browser.get("/admin/t/acme/users").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf is not None
    assert browser.post("/admin/logout", data={"csrf": csrf.group(1)}, follow_redirects=False).status_code == 303
    # The cookie as it was before log-out, replayed by someone who kept a copy:
    replayed = TestClient(site.client.app).get("/admin/t/acme/users", headers=copied, follow_redirects=False)
    assert replayed.status_code == 303
    assert replayed.headers["location"] == "/admin/login"


def test_a_log_out_without_the_form_token_ends_nothing(site: Api) -> None:
    browser = log_in(TestClient(site.client.app), site.tokens["acme-admin"])
    browser.post("/admin/logout", data={"csrf": "forged"}, follow_redirects=False)
    assert browser.get("/admin/t/acme/users", follow_redirects=False).status_code == 200


def test_every_log_in_works_across_two_workers_without_a_configured_secret(site: Api) -> None:
    first, second = worker(site.database), worker(site.database)
    for attempt in range(10):
        # The log-in page from one worker, the form posted to the other, the next page from the first.
        serving, posting = (first, second) if attempt % 2 else (second, first)
        browser = TestClient(serving)
        csrf = csrf_of(browser)
        answer = TestClient(posting).post(
            "/admin/login",
            data={"token": site.tokens["acme-admin"], "csrf": csrf},
            headers=cookie(browser),
            follow_redirects=False,
        )
        assert answer.status_code == 303, (attempt, answer.text)
        logged_in = {"cookie": f"lisens_session={answer.cookies['lisens_session']}"}
        page = TestClient(serving).get("/admin/t/acme/licenses", headers=logged_in, follow_redirects=False)
        assert page.status_code == 200, attempt


def test_panel_pages_forbid_framing_and_inline_script(site: Api) -> None:
    browser = log_in(TestClient(site.client.app), site.tokens["acme-admin"])
    for path in ("/admin/login", "/admin/t/acme/licenses", "/admin/t/acme/users/alice"):
        headers = browser.get(path).headers
        assert headers["x-frame-options"] == "DENY"
        policy = headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy
        assert "script-src 'self'" in policy
        assert "unsafe-inline" not in policy
        assert "unsafe-eval" not in policy
        assert headers["x-content-type-options"] == "nosniff"


def test_panel_pages_carry_no_inline_script_or_style_the_policy_would_block(site: Api) -> None:
    browser = log_in(TestClient(site.client.app), site.tokens["vendor"])
    for path in ("/admin", "/admin/t/acme/licenses", "/admin/t/acme/users", "/admin/t/acme/users/alice"):
        html = browser.get(path).text
        assert "<script>" not in html
        assert "<style" not in html
        assert " style=" not in html
        assert not re.search(r"\son[a-z]+=", html)  # no inline event handlers
    assert browser.get("/admin/static/panel.css").status_code == 200


def test_api_answers_carry_security_headers_too(site: Api) -> None:
    answer = site.client.get("/v1/tenants/acme", headers=site.headers("acme-admin"))
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["content-security-policy"].startswith("default-src 'none'")
    assert "strict-transport-security" not in answer.headers  # plain HTTP
    assert site.client.get("/healthz").headers["x-frame-options"] == "DENY"
    # Swagger UI runs its own scripts, from this server only, and talks to this server only
    docs = site.client.get("/docs").headers["content-security-policy"]
    assert "script-src 'self' 'unsafe-inline'" in docs
    assert "connect-src 'self'" in docs


def test_the_cookie_is_secure_when_the_request_came_over_https(site: Api) -> None:
    plain = TestClient(site.client.app).get("/admin/login").headers["set-cookie"]
    assert "secure" not in plain.lower()
    over_tls = TestClient(site.client.app, base_url="https://testserver")
    cookie = over_tls.get("/admin/login").headers["set-cookie"].lower()
    assert "; secure" in cookie
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
    assert over_tls.get("/healthz").headers["strict-transport-security"].startswith("max-age=")


def test_x_forwarded_proto_counts_only_from_a_trusted_proxy(site: Api) -> None:
    # What `lisens serve` does with LISENS_TRUSTED_PROXIES: uvicorn's proxy-headers middleware.
    trusted = TestClient(ProxyHeadersMiddleware(site.client.app, trusted_hosts="testclient"))
    untrusted = TestClient(ProxyHeadersMiddleware(site.client.app, trusted_hosts="10.0.0.1"))
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    assert "; secure" in trusted.get("/admin/login", headers=forwarded).headers["set-cookie"].lower()
    assert "secure" not in untrusted.get("/admin/login", headers=forwarded).headers["set-cookie"].lower()


def test_failed_log_ins_beyond_the_limit_get_429_and_a_valid_token_still_logs_in(site: Api) -> None:
    app = worker(site.database, auth_failure_limit=3, auth_failure_window=600)
    browser = TestClient(app)
    statuses = []
    for _ in range(5):
        answer = browser.post("/admin/login", data={"token": "lsn_wrong", "csrf": csrf_of(browser)})
        statuses.append(answer.status_code)
    assert statuses == [401, 401, 401, 429, 429]
    assert 1 <= int(answer.headers["retry-after"]) <= 600
    assert "Too many failed log-ins" in answer.text
    log_in(browser, site.tokens["acme-admin"])  # the limit never holds back a valid token
    assert browser.get("/admin/t/acme/licenses", follow_redirects=False).status_code == 200


def test_every_page_offers_log_out_names_the_tenant_and_leads_the_vendor_back_to_the_tenants(site: Api) -> None:
    vendor = log_in(TestClient(site.client.app), site.tokens["vendor"])
    admin = log_in(TestClient(site.client.app), site.tokens["acme-admin"])
    for path in (
        "/admin/t/acme/licenses",
        "/admin/t/acme/users",
        "/admin/t/acme/users/alice",
        "/admin/t/acme/subscription",
    ):
        for who, client in (("vendor", vendor), ("admin", admin)):
            page = client.get(path).text
            assert 'action="/admin/logout"' in page, (who, path)
            assert re.search(r'<span class="current"[^>]*>acme</span>', page), (who, path)
            assert ('<a href="/admin">' in page) == (who == "vendor"), (who, path)
    assert 'action="/admin/logout"' in vendor.get("/admin").text


def test_the_move_preview_lets_the_vendor_choose_the_target_and_names_what_each_user_loses(site: Api) -> None:
    vendor = log_in(TestClient(site.client.app), site.tokens["vendor"])
    page = vendor.get("/admin/t/acme/move?to=suite&lang=sv").text
    assert re.findall(r'<option value="([^"]+)"', page) == ["7", "9", "11", "suite"]
    assert '<option value="suite" selected>' in page
    alice = re.search(r'<tr data-user="alice">(.*?)</tr>', page, re.S)
    assert alice is not None
    lost = re.search(r'class="lost">.*?<ul class="names">(.*?)</ul>', alice.group(1), re.S)
    assert lost is not None
    assert "superoffice." in lost.group(1)
    assert "Målgeneration" in page
    refused = vendor.get("/admin/t/acme/move?to=12").text
    assert 'class="error"' in refused


def test_the_audit_page_pages_the_log_and_answers_what_a_user_held_on_a_date(site: Api) -> None:
    admin = log_in(TestClient(site.client.app), site.tokens["acme-admin"])
    page = admin.get("/admin/t/acme/audit?lang=de").text
    assert "Protokoll" in page
    seqs = [int(n) for n in re.findall(r"<tr><td>(\d+)</td>", page)]
    assert seqs == sorted(seqs)
    assert seqs[0] == 1
    held = admin.get("/admin/t/acme/audit?user=alice&on=2099-01-01").text
    names = re.search(r'<ul id="holdings" class="names">(.*?)</ul>', held, re.S)
    assert names is not None
    assert "<li>superoffice.quote-cal</li>" in names.group(1)
    before = admin.get("/admin/t/acme/audit?user=alice&on=1999-01-01").text
    assert 'class="error"' in before
    assert 'class="error"' in admin.get("/admin/t/acme/audit?user=alice&on=yesterday").text
    assert admin.get("/admin/t/globex/audit").status_code in (303, 403, 404)


def test_an_administrator_creates_an_app_token_in_the_panel_sees_it_once_and_revokes_it(site: Api) -> None:
    admin = log_in(TestClient(site.client.app), site.tokens["acme-admin"])
    page = admin.get("/admin/t/acme/tokens?lang=sv").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf is not None
    assert re.findall(r'<select id="role" name="role">(.*?)</select>', page)[0].count("<option") == 1  # app only
    made = admin.post(
        "/admin/t/acme/tokens", data={"role": "app", "user": "alice", "description": "crm", "csrf": csrf.group(1)}
    )
    secret = re.search(r'<code id="secret">([^<]+)</code>', made.text)
    assert secret is not None
    bearer = {"Authorization": f"Bearer {secret.group(1)}"}
    assert site.client.get("/api/v1/User/currentPrincipal", headers=bearer).json()["Associate"] == "alice"
    assert secret.group(1) not in admin.get("/admin/t/acme/tokens").text  # shown once only
    token_id = re.findall(r'<tr data-token="(\d+)">', made.text)[-1]
    refused = admin.post("/admin/t/acme/tokens", data={"role": "admin", "csrf": csrf.group(1)})
    assert refused.status_code == 403
    revoked = admin.post(
        f"/admin/t/acme/tokens/{token_id}/revoke", data={"csrf": csrf.group(1)}, follow_redirects=False
    )
    assert revoked.status_code == 303
    assert site.client.get("/api/v1/User/currentPrincipal", headers=bearer).status_code == 401
    assert admin.post("/admin/t/acme/tokens/1/revoke", data={"csrf": "wrong"}).status_code == 403


def test_the_vendor_starts_changes_and_cancels_a_subscription_in_the_panel(site: Api) -> None:
    vendor = log_in(TestClient(site.client.app), site.tokens["vendor"])
    admin = log_in(TestClient(site.client.app), site.tokens["acme-admin"])
    page = vendor.get("/admin/t/acme/subscription").text
    assert 'id="create-subscription"' in page
    assert 'id="create-subscription"' not in admin.get("/admin/t/acme/subscription").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf is not None
    token = csrf.group(1)
    assert admin.post("/admin/t/acme/subscription", data={"action": "cancel", "csrf": token}).status_code == 403
    bad = vendor.post(
        "/admin/t/acme/subscription", data={"action": "create", "start": "2026-02-01", "period": 5, "csrf": token}
    )
    assert 'class="error"' in bad.text
    made = vendor.post(
        "/admin/t/acme/subscription", data={"action": "create", "start": "2026-02-01", "period": 3, "csrf": token}
    )
    assert 'id="subscription"' in made.text
    assert 'id="invoice"' in made.text
    changed = vendor.post("/admin/t/acme/subscription", data={"action": "period", "period": 12, "csrf": token})
    assert "Billing period" in changed.text
    cancelled = vendor.post("/admin/t/acme/subscription", data={"action": "cancel", "csrf": token})
    assert 'id="cancel-subscription"' not in cancelled.text


def test_a_bulk_csv_is_previewed_row_by_row_then_applied_in_the_panel(site: Api) -> None:
    admin = log_in(TestClient(site.client.app), site.tokens["acme-admin"])
    page = admin.get("/admin/t/acme/bulk").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf is not None
    csv_text = "user,plans,licenses\nbob,sales-essential,\nnobody,sales-essential,\n"
    files = {"file": ("users.csv", csv_text.encode(), "text/csv")}
    preview = admin.post("/admin/t/acme/bulk", data={"csrf": csrf.group(1), "action": "preview"}, files=files)
    assert "1 of 2 rows can be applied" in preview.text
    assert "UNKNOWN_USER" in preview.text
    assert site.client.get("/v1/tenants/acme/users/bob", headers=site.headers("acme-admin")).json()["plan"] is None
    applied = admin.post(
        "/admin/t/acme/bulk",
        data={"csrf": csrf.group(1), "action": "apply", "partial": "yes", "text": csv_text},
    )
    assert "1 of 2 rows applied" in applied.text
    bob = site.client.get("/v1/tenants/acme/users/bob", headers=site.headers("acme-admin")).json()
    assert bob["plan"] == "sales-essential"
    refused = admin.post("/admin/t/acme/bulk", data={"csrf": csrf.group(1), "action": "apply", "text": csv_text})
    assert 'class="error"' in refused.text


def test_a_license_whose_prerequisite_the_user_lacks_is_greyed_and_says_what_it_needs(site: Api) -> None:
    made = site.client.post("/v1/tenants/acme/users", json={"name": "carl"}, headers=site.headers("acme-admin"))
    assert made.status_code == 201
    admin = log_in(TestClient(site.client.app), site.tokens["acme-admin"])
    page = admin.get("/admin/t/acme/users/carl?lang=sv").text
    reporter = r'<input type="checkbox" name="license" value="superoffice.reporter-studio-user"[^>]*>'
    label = re.search(r'<label class="waiting"[^>]*>' + reporter + r"(.*?)</label>", page, re.S)
    assert label is not None
    assert "kräver" in label.group(1)
    assert 'value="superoffice.reporter-studio-user" disabled' not in page  # ticked together with what it needs


def test_the_vendor_plans_a_cohort_move_with_charts_and_a_row_per_tenant(site: Api) -> None:
    vendor = log_in(TestClient(site.client.app), site.tokens["vendor"])
    page = vendor.get("/admin/moves/plan?generation=11&to=suite&lang=sv").text
    assert 'id="totals"' in page
    assert "Årliga intäkter före och efter" in page
    for chart in ("revenue", "changes", "lost"):
        assert f'<figure class="chart" id="{chart}">' in page
    assert re.findall(r'<tr data-tenant="([^"]+)"', page) == ["acme"]
    bars = dict(re.findall(r'<g class="bar-row" data-label="([^"]+)" data-value="([^"]+)"', page))
    assert set(bars) >= {"before", "after"}
    refused = vendor.get("/admin/moves/plan?to=suite&tag=Bad=x").text
    assert 'class="error"' in refused
    admin = log_in(TestClient(site.client.app), site.tokens["acme-admin"])
    assert admin.get("/admin/moves/plan").status_code == 404
