"""Saved move plans and waves over /v1: vendor only, stable codes for bad input and wrong states."""

from __future__ import annotations

from tests.api.conftest import Api


def test_a_saved_plan_makes_a_wave_that_is_paused_resumed_and_cancelled(api: Api) -> None:
    vendor = api.headers("vendor")
    saved = api.client.put("/v1/moves/plans/smb", headers=vendor, json={"to": "suite", "tenants": ["acme"]})
    assert (saved.status_code, saved.json()["selection"]["tenants"]) == (200, ["acme"])
    assert [p["name"] for p in api.client.get("/v1/moves/plans", headers=vendor).json()] == ["smb"]
    assert api.client.get("/v1/moves/plans/smb", headers=vendor).json()["to"] == "suite"
    made = api.client.post("/v1/moves/waves", headers=vendor, json={"plan": "smb", "at": "2999-01-01"})
    assert made.status_code == 201
    wave = made.json()
    assert (wave["plan"], wave["at"], wave["status"]) == ("smb", "2999-01-01", "active")
    assert [(t["tenant"], t["state"], t["effective"]) for t in wave["tenants"]] == [("acme", "scheduled", "2999-01-01")]
    path = f"/v1/moves/waves/{wave['id']}"
    assert api.client.post(f"{path}/pause", headers=vendor).json()["status"] == "paused"
    again = api.client.post(f"{path}/pause", headers=vendor)
    assert (again.status_code, again.json()["code"]) == (409, "WAVE_PAUSED")
    assert api.client.post(f"{path}/resume", headers=vendor).json()["status"] == "active"
    cancelled = api.client.post(f"{path}/cancel", headers=vendor).json()
    assert (cancelled["status"], cancelled["counts"]["cancelled"]) == ("cancelled", 1)
    for action in ("pause", "resume", "cancel"):
        refused = api.client.post(f"{path}/{action}", headers=vendor)
        assert (refused.status_code, refused.json()["code"]) == (409, "WAVE_CANCELLED")
    report = api.client.get(path, headers=vendor).json()
    assert report["tenants"][0]["state"] == "cancelled"
    csv = api.client.get(f"{path}?format=csv", headers=vendor)
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[1].startswith("acme,cancelled,2999-01-01,11,suite,11")
    assert [w["id"] for w in api.client.get("/v1/moves/waves", headers=vendor).json()] == [wave["id"]]
    not_moved = api.client.post(f"{path}/tenants/acme/rollback", headers=vendor)
    assert (not_moved.status_code, not_moved.json()["code"]) == (409, "WAVE_TENANT_NOT_MOVED")


def test_a_tenant_with_no_renewal_is_blocked_in_a_wave_at_renewal(api: Api) -> None:
    vendor = api.headers("vendor")
    made = api.client.post("/v1/moves/waves", headers=vendor, json={"to": "suite", "tenants": ["acme"]})
    assert made.status_code == 201
    assert [(t["state"], t["reason"]) for t in made.json()["tenants"]] == [("blocked", "no-renewal")]
    assert made.json()["finished"] is True


def test_bad_waves_are_refused_with_a_code(api: Api) -> None:
    vendor = api.headers("vendor")
    for body, status, code in (
        ({"plan": "nothing"}, 404, "UNKNOWN_MOVE_PLAN"),
        ({"to": "suite", "tenants": ["acme"], "at": "soon"}, 422, "INVALID_TIME"),
        ({"to": "suite", "tenants": ["acme"], "at": "2001-01-01"}, 422, "WAVE_DATE_PASSED"),
        ({"to": "suite", "tags": {"segment": "none"}}, 422, "WAVE_EMPTY"),
        ({"to": "suite", "tenants": ["nobody"]}, 404, "UNKNOWN_TENANT"),
        ({"at": "renewal"}, 422, "INVALID_INPUT"),
        ({"plan": "x", "to": "suite"}, 422, "INVALID_INPUT"),
    ):
        answer = api.client.post("/v1/moves/waves", headers=vendor, json=body)
        assert (answer.status_code, answer.json()["code"]) == (status, code), body
    missing = api.client.get("/v1/moves/waves/42", headers=vendor)
    assert (missing.status_code, missing.json()["code"]) == (404, "UNKNOWN_WAVE")
    bad_name = api.client.put("/v1/moves/plans/Bad%20Name", headers=vendor, json={"to": "suite"})
    assert (bad_name.status_code, bad_name.json()["code"]) == (422, "INVALID_NAME")


def test_only_the_vendor_makes_and_sees_waves(api: Api) -> None:
    admin = api.headers("acme-admin")
    for method, path in (
        ("post", "/v1/moves/waves"),
        ("get", "/v1/moves/waves"),
        ("get", "/v1/moves/plans"),
        ("post", "/v1/moves/waves/1/pause"),
    ):
        answer = getattr(api.client, method)(
            path, headers=admin, **({"json": {"to": "suite"}} if method == "post" else {})
        )
        assert answer.status_code == 403, path
