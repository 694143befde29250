"""The vendor's plan of a cohort's move: the summary and charts of the whole cohort, a bounded list of tenants,
and every tenant's row as CSV."""

from __future__ import annotations

import csv
import io
import re

import pytest
from fastapi.testclient import TestClient

from lisens.admin import views
from lisens.service import tenants, users
from lisens.service.context import Context
from tests.admin.test_panel_security import log_in
from tests.api.conftest import AT, Api, api, committed_api

__all__ = ["api", "committed_api"]


def more_tenants(api: Api) -> None:
    """acme (seeded) and three more generation 11 tenants, each with one user on one plan."""
    session = api.session()
    ctx = Context(session=session, actor="vendor", may_correct=True)
    for name, plan in (("beta", "marketing-premium"), ("delta", "sales-essential"), ("eta", "service-premium")):
        tenants.create_tenant(ctx, name=name, generation="11", at=AT)
        tenants.set_seats(ctx, name, plan, 1, at=AT)
        users.add_user(ctx, name, "ann", at=AT)
        users.assign(ctx, name, "ann", plans=[plan], at=AT)
    tenants.add_addon(ctx, "beta", "ai-platform", at=AT)
    tenants.add_addon(ctx, "beta", "ai-copilot", at=AT)  # not sold in CRM Suite: its users lose aicopilot
    session.commit()


def test_the_plan_page_lists_a_bounded_number_of_tenants_and_has_every_one_as_csv(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    more_tenants(api)
    vendor = log_in(TestClient(api.client.app), api.tokens["vendor"])
    every = vendor.get("/admin/moves/plan?to=suite&generation=11&tag=")
    assert re.findall(r'<tr data-tenant="([^"]+)"', every.text) == ["acme", "beta", "delta", "eta"]
    assert "of 4 tenants" not in every.text
    monkeypatch.setattr(views, "PLAN_TENANTS", 2)
    page = vendor.get("/admin/moves/plan?to=suite&generation=11&tag=")
    assert page.status_code == 200
    shown = re.findall(r'<tr data-tenant="([^"]+)"', page.text)
    assert len(shown) == 2
    assert "2 of 4 tenants" in page.text
    assert re.search(r'<p id="totals">4 tenants', page.text)  # the summary covers every tenant
    assert re.search(r'<tr data-license="superoffice.aicopilot"><td>[^<]+</td><td>1</td><td>1</td>', page.text)
    link = re.search(r'href="(/admin/moves/plan\.csv\?[^"]+)"', page.text)
    assert link is not None
    answer = vendor.get(link.group(1).replace("&amp;", "&"))
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert 'filename="move-plan-to-suite.csv"' in answer.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [row["tenant"] for row in rows] == ["acme", "beta", "delta", "eta"]
    assert set(shown) <= {row["tenant"] for row in rows}


def test_a_refused_plan_shows_its_error_and_only_the_vendor_has_the_csv(api: Api) -> None:
    vendor = log_in(TestClient(api.client.app), api.tokens["vendor"])
    refused = vendor.get("/admin/moves/plan.csv?to=nowhere")
    assert (refused.status_code, 'class="error"' in refused.text) == (200, True)
    admin = log_in(TestClient(api.client.app), api.tokens["acme-admin"])
    assert admin.get("/admin/moves/plan.csv?to=suite").status_code == 404
