"""The own /v1 API: every use case over HTTP, errors as problem+json, checks that see every change."""

from __future__ import annotations

from fastapi.testclient import TestClient

from lisens.api.app import create_app
from lisens.settings import Settings
from tests.api.conftest import Api


def test_the_vendor_sets_up_a_tenant_and_its_admin_assigns_plans(api: Api) -> None:
    vendor = api.headers("vendor")
    created = api.client.post("/v1/tenants", headers=vendor, json={"name": "initech", "generation": "11"})
    assert created.status_code == 201
    assert (
        api.client.put(
            "/v1/tenants/initech/seats/sales-premium+service-essential", headers=vendor, json={"number": 1}
        ).json()["total"]
        == 1
    )
    assert api.client.post("/v1/tenants/initech/addons", headers=vendor, json={"addon": "cep"}).json()["changed"]
    assert api.client.post("/v1/tenants/initech/users", headers=vendor, json={"name": "peter"}).status_code == 201
    assigned = api.client.post(
        "/v1/tenants/initech/users/peter/assignments",
        headers=vendor,
        json={"plans": ["service-essential", "sales-premium"], "licenses": ["visible-for"]},
    )
    assert assigned.status_code == 200
    assert assigned.json()["after"]["plan"] == "sales-premium+service-essential"
    licenses = api.client.get("/v1/tenants/initech/users/peter/licenses", headers=vendor).json()
    grants = {e["license"]: [g["kind"] for g in e["granted_by"]] for e in licenses["effective"]}
    assert grants["superoffice.quote-cal"] == ["plan"]
    assert grants["superoffice.cep"] == ["addon"]
    removed = api.client.request(
        "DELETE", "/v1/tenants/initech/users/peter/assignments", headers=vendor, json={"licenses": ["visible-for"]}
    )
    assert removed.json()["after"]["licenses"] == []
    panel = api.client.get("/v1/tenants/initech/panel", headers=vendor).json()
    assert panel["user_licenses"][0]["in_use"] == 1


def test_a_check_answers_every_pair_with_held_and_a_reason(api: Api) -> None:
    response = api.client.post(
        "/v1/tenants/acme/check",
        headers=api.headers("acme-app"),
        json={"users": ["alice", "bob", "nobody"], "licenses": ["superoffice.quote-cal", "SALE", "mktg-auto-cal"]},
    )
    results = {(r["user"], r["license"]): (r["held"], r["reason"]) for r in response.json()["results"]}
    assert len(results) == 9
    assert results[("alice", "superoffice.quote-cal")] == (True, "HELD")
    assert results[("alice", "superoffice.sale")] == (True, "HELD")
    assert results[("alice", "superoffice.mktg-auto-cal")] == (False, "NOT_ASSIGNED")
    assert results[("bob", "superoffice.quote-cal")] == (False, "NOT_ASSIGNED")
    assert results[("nobody", "superoffice.sale")] == (False, "UNKNOWN_USER")


def test_a_check_may_carry_thousands_of_pairs_and_explain_them(api: Api) -> None:
    licenses = [f"superoffice.module{n}" for n in range(999)] + ["quote-cal"]
    response = api.client.post(
        "/v1/tenants/acme/check",
        headers=api.headers("acme-app"),
        json={"users": ["alice", "bob"], "licenses": licenses},
    )
    assert len(response.json()["results"]) == 2000
    explained = api.client.post(
        "/v1/tenants/acme/check",
        headers=api.headers("acme-app"),
        json={"users": ["bob"], "licenses": ["quote-cal"], "explain": True},
    ).json()["results"][0]
    assert explained["would_grant"] == [{"kind": "plan", "source": "sales-premium", "text": "plan sales-premium"}]


def test_a_check_right_after_an_assignment_sees_it_even_on_another_worker(committed_api: Api) -> None:
    api = committed_api  # other connections must see its changes
    # A second app on the same database stands for a second worker process with its own cache.
    other = TestClient(create_app(Settings(database_url=api.database.url), engine=api.database.engine))
    body = {"users": ["bob"], "licenses": ["quote-cal"]}
    admin = api.headers("acme-admin")
    assert not other.post("/v1/tenants/acme/check", headers=admin, json=body).json()["results"][0]["held"]
    api.client.post("/v1/tenants/acme/users/bob/assignments", headers=admin, json={"plans": ["sales-premium"]})
    assert other.post("/v1/tenants/acme/check", headers=admin, json=body).json()["results"][0]["held"]
    api.client.request("DELETE", "/v1/tenants/acme/users/bob/assignments", headers=admin, json={"plan": True})
    assert not other.post("/v1/tenants/acme/check", headers=admin, json=body).json()["results"][0]["held"]


def test_errors_are_problem_json_with_the_stable_code(api: Api) -> None:
    admin = api.headers("acme-admin")
    api.client.post("/v1/tenants/acme/users", headers=admin, json={"name": "carl"})
    response = api.client.post(
        "/v1/tenants/acme/users/carl/assignments", headers=admin, json={"plans": ["service-premium"]}
    )
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "SEAT_LIMIT_REACHED"
    assert problem["type"] == "urn:lisens:error:SEAT_LIMIT_REACHED"
    assert (problem["status"], problem["total"], problem["in_use"]) == (409, 0, 0)
    assert problem["instance"] == "/v1/tenants/acme/users/carl/assignments"


def test_bad_input_gets_4xx_never_5xx(api: Api) -> None:
    admin = api.headers("acme-admin")
    bad = [
        api.client.post("/v1/tenants/acme/users", headers=admin, json={"name": ""}),
        api.client.post("/v1/tenants/acme/users", headers=admin, json={"name": "x", "type": "robot"}),
        api.client.post(
            "/v1/tenants/acme/users",
            headers=admin,
            content=b"{not json",
        ),
        api.client.post("/v1/tenants/acme/users/alice/assignments", headers=admin, json={"plans": ["gold"]}),
        api.client.post("/v1/tenants/acme/users/alice/assignments", headers=admin, json={"licenses": ["bad name!"]}),
        api.client.post("/v1/tenants/acme/check", headers=admin, json={"users": [], "licenses": ["x"]}),
        api.client.get("/v1/tenants/acme/audit?at=yesterday", headers=admin),
        api.client.post("/v1/tenants/acme/bulk-assignments", headers=admin, json={"csv": "name\nx\n"}),
    ]
    for response in bad:
        assert 400 <= response.status_code < 500, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"]


def test_a_body_over_the_size_limit_is_refused_with_413(api: Api) -> None:
    response = api.client.post(
        "/v1/tenants/acme/check",
        headers={**api.headers("acme-app"), "content-type": "application/json"},
        content=b'{"users": ["' + b"a" * (11 * 1024 * 1024) + b'"], "licenses": ["x"]}',
    )
    assert response.status_code == 413
    assert response.json()["code"] == "PAYLOAD_TOO_LARGE"


def test_bulk_assignment_over_http_is_all_or_nothing(api: Api) -> None:
    admin = api.headers("acme-admin")
    response = api.client.post(
        "/v1/tenants/acme/bulk-assignments",
        headers=admin,
        json={
            "rows": [{"user": "dora", "plans": ["sales-essential"]}, {"user": "ghost", "plans": ["gold"]}],
            "create_users": True,
        },
    )
    assert response.status_code == 409
    assert [f["code"] for f in response.json()["failed"]] == ["UNKNOWN_PLAN"]
    assert all(u["user"] != "dora" for u in api.client.get("/v1/tenants/acme/users", headers=admin).json())


def test_audit_and_history_are_served(api: Api) -> None:
    admin = api.headers("acme-admin")
    entries = api.client.get("/v1/tenants/acme/audit?user=alice", headers=admin).json()
    assert entries[0]["action"] == "user.add"
    then = api.client.get("/v1/tenants/acme/users/alice/licenses?at=2026-03-02T00:00:00Z", headers=admin).json()
    assert then["plan"] == "sales-premium"


def test_operations_endpoints_answer(api: Api) -> None:
    assert api.client.get("/healthz").json() == {"status": "ok"}
    assert api.client.get("/readyz").json()["database"] == "ok"
    api.client.get("/v1/tenants", headers=api.headers("vendor"))
    metrics = api.client.get("/metrics").text
    assert "lisens_http_requests_total" in metrics
    assert 'route="/v1/tenants"' in metrics
    response = api.client.get("/healthz", headers={"X-Request-ID": "abc123"})
    assert response.headers["x-request-id"] == "abc123"
    assert api.client.get("/openapi.json").json()["info"]["title"] == "Lisens"


def test_concurrent_http_assignments_never_oversell(committed_api: Api) -> None:
    api = committed_api  # other connections must see its changes
    from collections import Counter
    from concurrent.futures import ThreadPoolExecutor

    vendor = api.headers("vendor")
    api.client.post("/v1/tenants", headers=vendor, json={"name": "rush", "generation": "11"})
    api.client.put("/v1/tenants/rush/seats/marketing-premium", headers=vendor, json={"number": 3})
    names = [f"r{n:02d}" for n in range(16)]
    for name in names:
        api.client.post("/v1/tenants/rush/users", headers=vendor, json={"name": name})

    def take(name: str) -> int:
        body = {"plans": ["marketing-premium"]}
        return api.client.post(f"/v1/tenants/rush/users/{name}/assignments", headers=vendor, json=body).status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = Counter(pool.map(take, names))
    assert statuses == {200: 3, 409: 13}
    panel = api.client.get("/v1/tenants/rush/panel", headers=vendor).json()
    assert [(r["item"], r["in_use"], r["total"]) for r in panel["user_licenses"]] == [("marketing-premium", 3, 3)]


def test_a_users_id_is_its_associate_id_in_the_superoffice_routes(api: Api) -> None:
    shown = api.client.get("/v1/tenants/acme/users/alice", headers=api.headers("acme-admin")).json()
    principal = api.client.get("/api/v1/User/currentPrincipal", headers=api.headers("acme-app")).json()
    assert shown["id"] == principal["AssociateId"] == api.user_ids["alice"]


def test_subscriptions_and_invoices_over_http(api: Api) -> None:
    vendor = api.headers("vendor")
    api.client.post(
        "/v1/tenants", headers=vendor, json={"name": "payco", "generation": "9", "at": "2026-01-01T00:00:00Z"}
    )
    api.client.put("/v1/tenants/payco/seats/sales", headers=vendor, json={"number": 3, "at": "2026-01-01T01:00:00Z"})
    created = api.client.post(
        "/v1/tenants/payco/subscription",
        headers=vendor,
        json={"start": "2026-01-01", "period": 1, "at": "2026-01-01T02:00:00Z"},
    )
    assert created.status_code == 201
    shown = api.client.get("/v1/tenants/payco/subscription?at=2026-03-15T00:00:00Z", headers=vendor).json()
    assert shown["current_billing_period"] == {"start": "2026-03-01", "end": "2026-04-01", "months": 1}
    invoices = api.client.get("/v1/tenants/payco/invoices?from=2026-01-01&to=2026-04-01", headers=vendor).json()
    assert [i["total"] for i in invoices] == ["147.00", "147.00", "147.00"]
    bad = api.client.patch("/v1/tenants/payco/subscription", headers=vendor, json={"period": 2})
    assert bad.status_code == 422
    check = api.client.post(
        "/v1/tenants/payco/check",
        headers=vendor,
        json={"users": ["nobody"], "licenses": ["sale"], "at": "2027-03-01T00:00:00Z"},
    ).json()
    assert check["license"]["status"] == "ACTIVE"


def test_packages_and_snapshots_over_http(api: Api) -> None:
    import json as jsonlib

    from lisens.offline import OfflineLicenses
    from lisens.signing import load_private_key, public_pem

    vendor = api.headers("vendor")
    issued = api.client.post("/v1/tenants/acme/packages", headers=vendor)
    assert issued.status_code == 201
    package = issued.json()
    assert package["license"]["CompanyName"] == "Acme AS"
    dry = api.client.post(
        "/v1/tenants/acme/packages/activate", headers=vendor, json={"package": package, "dry_run": True}
    )
    assert dry.json()["changes"] == {"added": [], "removed": [], "changed": {}}
    package["purchases"]["seats"]["sales-premium"] = 0
    tampered = api.client.post("/v1/tenants/acme/packages/activate", headers=vendor, json={"package": package})
    assert (tampered.status_code, tampered.json()["code"]) == (422, "SIGNATURE_INVALID")
    server = api.client.post("/v1/tokens", headers=api.headers("acme-admin"), json={"role": "app", "tenant": "acme"})
    app_server = {"Authorization": f"Bearer {server.json()['token']}"}
    snapshot = api.client.get("/v1/tenants/acme/snapshot?ttl=600", headers=app_server).json()
    key = load_private_key(api.client.app.state.settings.signing_key).public_key()
    offline = OfflineLicenses.load(jsonlib.dumps(snapshot).encode(), public_pem(key), tenant="acme")
    assert offline.has_license("alice", "superoffice.quote-cal")


def test_add_license_from_file_activates_a_package_on_the_tokens_tenant(api: Api) -> None:
    import json as jsonlib

    package = api.client.post("/v1/tenants/acme/packages", headers=api.headers("vendor")).json()
    response = api.client.post("/api/v1/License", headers=api.headers("acme-admin"), json=jsonlib.dumps(package))
    assert response.status_code == 200
    assert response.json()["Current"]["CompanyName"] == "Acme AS"
    other = api.client.post("/api/v1/License", headers=api.headers("globex-admin"), json=jsonlib.dumps(package))
    assert (other.status_code, other.json()["code"]) == (422, "PACKAGE_WRONG_TENANT")


def test_generation_migration_and_plan_limits_over_http(api: Api) -> None:
    vendor = api.headers("vendor")
    api.client.post("/v1/tenants", headers=vendor, json={"name": "mover", "generation": "11"})
    api.client.put("/v1/tenants/mover/seats/marketing-premium", headers=vendor, json={"number": 2})
    api.client.post("/v1/tenants/mover/users", headers=vendor, json={"name": "max"})
    api.client.post("/v1/tenants/mover/users/max/assignments", headers=vendor, json={"plans": ["marketing-premium"]})
    preview = api.client.get("/v1/tenants/mover/move/preview?to=suite", headers=vendor).json()
    assert preview["tenant_plan"] == "plus"
    csv_text = api.client.get("/v1/tenants/mover/move/preview?to=suite&format=csv", headers=vendor).text
    assert csv_text.startswith("user,from_plan,to_plan")
    assert api.client.post("/v1/tenants/mover/move", headers=vendor, json={"to": "suite"}).json()["applied"]
    limits = api.client.get("/v1/tenants/mover/fencing", headers=vendor).json()
    assert {m["metric"]: m["Maximum"] for m in limits["metrics"]}["marketing-flows"] == 10
    api.client.put("/v1/tenants/mover/usage/marketing-flows", headers=vendor, json={"count": 10})
    refused = api.client.post("/v1/tenants/mover/usage/marketing-flows", headers=vendor, json={"count": 1})
    assert (refused.status_code, refused.json()["code"]) == (409, "PLAN_LIMIT_REACHED")
    admin = api.client.post("/v1/tokens", headers=vendor, json={"role": "admin", "tenant": "mover"}).json()["token"]
    info = api.client.post("/api/v1/Agents/License/GetFencingInfo", headers={"Authorization": f"Bearer {admin}"}).json()
    assert (info["ActiveCount"], info["Maximum"], info["HasReachedMaximum"]) == (10, 10, True)
    report = api.client.get("/v1/moves/report?to=suite", headers=vendor).json()
    assert report["to"] == "suite"
    api.client.put("/v1/tenants/mover/usage/marketing-flows", headers=vendor, json={"count": 0})
    assert api.client.post("/v1/tenants/mover/move/rollback", headers=vendor).json()["generation"] == "11"


def test_the_earlier_paths_of_a_move_still_answer(api: Api) -> None:
    vendor = api.headers("vendor")
    now = api.client.get("/v1/tenants/acme/move/preview?to=suite", headers=vendor)
    earlier = api.client.get("/v1/tenants/acme/migration/preview?to=suite", headers=vendor)
    assert (now.status_code, earlier.content) == (200, now.content)
    assert "/v1/tenants/{tenant}/migration/preview" not in api.client.get("/openapi.json").json()["paths"]


def test_catalog_panel_and_user_answers_carry_a_license_s_name_and_its_tooltip_apart(api: Api) -> None:
    vendor = api.headers("vendor")
    licenses = {lic["name"]: lic for lic in api.client.get("/v1/catalog/11/licenses", headers=vendor).json()}
    assert (licenses["web"]["description"], licenses["web"]["tooltip"]) == (
        "Web login",
        "Allows user to log in to web client.",
    )
    assert licenses["chat"]["tooltip"] is None
    held = api.client.get("/v1/tenants/acme/users/alice/licenses", headers=vendor).json()["effective"]
    web = next(e for e in held if e["license"] == "superoffice.web")
    assert (web["description"], web["tooltip"]) == ("Web login", "Allows user to log in to web client.")
    panel = api.client.get("/v1/tenants/acme/panel", headers=vendor).json()
    plan = next(row for row in panel["user_licenses"] if row["item"] == "sales-premium")
    assert plan["tooltip"] == "User Plan: Can edit Companies, Diary, Sales, Selections, Reports"
