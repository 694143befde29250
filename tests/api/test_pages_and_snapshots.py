"""List routes come in pages with a Link to the next; snapshots only for the roles that need them;
a wait that runs out answers with Retry-After."""

from __future__ import annotations

import re

from lisens.db.engine import make_session_factory
from lisens.service.context import Context
from lisens.service.state import load_state
from tests.api.conftest import Api

NEXT = re.compile(r'<(?P<url>[^>]+)>; rel="next"')


def _all_pages(api: Api, url: str, who: str, key: str) -> list[list[str]]:
    pages: list[list[str]] = []
    while url:
        response = api.client.get(url, headers=api.headers(who))
        assert response.status_code == 200, response.text
        pages.append([str(item[key]) for item in response.json()])
        found = NEXT.match(response.headers.get("link", ""))
        url = found["url"] if found else ""
    return pages


def test_the_users_list_comes_in_pages_with_a_link_to_the_next_one(api: Api) -> None:
    for name in ("paged-c", "paged-a", "paged-b"):
        api.client.post("/v1/tenants/acme/users", headers=api.headers("acme-admin"), json={"name": name})
    pages = _all_pages(api, "/v1/tenants/acme/users?limit=2", "acme-admin", "user")
    names = [name for page in pages for name in page]
    assert names == sorted(names)
    assert {"alice", "bob", "paged-a", "paged-b", "paged-c"} <= set(names)
    assert all(len(page) == 2 for page in pages[:-1])
    assert len(pages) == (len(names) + 1) // 2


def test_the_vendor_pages_through_every_tenant_and_a_tenant_sees_only_its_own(api: Api) -> None:
    assert [n for page in _all_pages(api, "/v1/tenants?limit=1", "vendor", "name") for n in page] == ["acme", "globex"]
    assert _all_pages(api, "/v1/tenants?limit=1", "acme-admin", "name") == [["acme"]]


def test_tokens_come_in_pages_by_id(api: Api) -> None:
    pages = _all_pages(api, "/v1/tokens?limit=2", "vendor", "id")
    ids = [int(i) for page in pages for i in page]
    assert ids == sorted(ids)
    assert len(ids) >= 5


def test_a_page_larger_than_the_maximum_is_refused(api: Api) -> None:
    response = api.client.get("/v1/tenants/acme/users?limit=1001", headers=api.headers("acme-admin"))
    assert (response.status_code, response.json()["code"]) == (422, "INVALID_REQUEST")


def test_a_snapshot_is_for_the_vendor_the_admin_and_tenant_wide_app_tokens_only(api: Api) -> None:
    created = api.client.post("/v1/tokens", headers=api.headers("acme-admin"), json={"role": "app", "tenant": "acme"})
    server = {"Authorization": f"Bearer {created.json()['token']}"}
    assert api.client.get("/v1/tenants/acme/snapshot", headers=server).status_code == 200
    assert api.client.get("/v1/tenants/acme/snapshot", headers=api.headers("acme-admin")).status_code == 200
    assert api.client.get("/v1/tenants/acme/snapshot", headers=api.headers("vendor")).status_code == 200
    bound = api.client.get("/v1/tenants/acme/snapshot", headers=api.headers("acme-app"))
    assert (bound.status_code, bound.json()["code"]) == (403, "FORBIDDEN")
    other = api.client.get("/v1/tenants/acme/snapshot", headers=api.headers("globex-admin"))
    assert (other.status_code, other.json()["code"]) == (404, "UNKNOWN_TENANT")


def test_a_change_to_a_tenant_locked_by_a_long_change_answers_busy_with_retry_after(committed_api: Api) -> None:
    api = committed_api  # other connections must see its changes
    holder = make_session_factory(api.database.engine)()
    try:
        load_state(Context(session=holder, actor="long"), "acme", lock=True)
        response = api.client.post(
            "/v1/tenants/acme/users/bob/assignments",
            headers=api.headers("acme-admin"),
            json={"plans": ["sales-essential"]},
        )
    finally:
        holder.rollback()
        holder.close()
    expected = (503, "DATABASE_BUSY") if api.database.backend == "sqlite" else (409, "TENANT_BUSY")
    assert (response.status_code, response.json()["code"]) == expected
    assert response.headers["retry-after"] == "2"
    assert response.headers["content-type"] == "application/problem+json"
