"""The vendor's waves page: each wave's counts and report, and its pause, resume and cancel buttons."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from lisens.service import waves
from lisens.service.context import Context
from lisens.service.move_plans import Selection
from tests.admin.test_panel_security import log_in
from tests.api.conftest import Api, api, committed_api

__all__ = ["api", "committed_api"]


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def test_the_vendor_pauses_resumes_and_cancels_a_wave_from_the_panel(api: Api) -> None:
    session = api.session()
    made = waves.create_wave(
        Context(session=session, actor="vendor"), to="suite", selection=Selection(tenants=("acme",)), at="2999-01-01"
    )
    session.commit()
    vendor = log_in(TestClient(api.client.app), api.tokens["vendor"])
    page = vendor.get("/admin/waves")
    assert page.status_code == 200
    assert f'id="wave-{made.id}" data-status="active"' in page.text
    assert 'data-tenant="acme" data-state="scheduled"' in page.text
    forged = vendor.post(f"/admin/waves/{made.id}/pause", data={"csrf": "forged"})
    assert forged.status_code == 403
    for action, status in (("pause", "paused"), ("resume", "active"), ("cancel", "cancelled")):
        answer = vendor.post(f"/admin/waves/{made.id}/{action}", data={"csrf": _csrf(page.text)})
        assert answer.status_code == 200, action  # redirected back to the page
        assert f'id="wave-{made.id}" data-status="{status}"' in answer.text
    refused = vendor.post(f"/admin/waves/{made.id}/pause", data={"csrf": _csrf(page.text)})
    assert (refused.status_code, "The wave is cancelled." in refused.text) == (409, True)
    assert 'data-tenant="acme" data-state="cancelled"' in refused.text


def test_a_tenant_administrator_has_no_waves_page(api: Api) -> None:
    admin = log_in(TestClient(api.client.app), api.tokens["acme-admin"])
    assert admin.get("/admin/waves").status_code == 404
    assert admin.post("/admin/waves/1/pause", data={"csrf": "x"}).status_code == 404
