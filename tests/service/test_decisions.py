"""One answer everywhere: every surface that says whether a user holds a license agrees with the decision
(`lisens.domain.decide`) for every (user, license) pair, at four moments of a subscription's life.

The surfaces: `lisens check`, `POST /v1/tenants/{t}/check`, `GET /v1/.../users/{u}/licenses`, the
SuperOffice `currentPrincipal` and the agent's `GetUserAndInstallationLicenceStatus`, a signed snapshot
read by `lisens.offline`, the panel's user card, and the license package (which lists module licenses,
not users: every license a user holds must be in it). Where a surface has no place for a reason or a
warning (a list of held licenses), its held / not held is compared.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from lisens.api.app import create_app
from lisens.cli.main import run
from lisens.db.engine import make_session_factory
from lisens.domain.names import canonical
from lisens.offline import OfflineLicenses
from lisens.service import packages, subscriptions, tenants, tokens, users
from lisens.service.context import Context
from lisens.settings import Settings
from lisens.signing import generate_keys
from tests.db.conftest import BACKENDS, Database, create_database, drop_database

SETUP = datetime(2025, 11, 1, tzinfo=UTC)
SEEDED = datetime(2026, 3, 2, tzinfo=UTC)  # the seed's changes are recorded as the vendor's, at their times
MOMENTS = {
    "before the subscription starts": datetime(2025, 12, 20, 12, tzinfo=UTC),
    "inside the term": datetime(2026, 6, 1, 12, tzinfo=UTC),
    "inside the grace period": datetime(2027, 1, 5, 12, tzinfo=UTC),  # expiry 2027-01-01, grace 2027-01-13
    "after the grace period": datetime(2027, 2, 1, 12, tzinfo=UTC),
}
USERS = ("plain", "multi", "direct", "retired", "partner", "nobody")
LICENSES = (
    "SuperOffice.Sale-CAL",
    "sale-cal",
    "QUOTE-CAL",
    "superoffice.quote-cal",
    "ej-client",
    "publish",
    "superoffice.mktg-auto-cal",
    "ADWIZA.Campaign",
    "adwiza.core",
    "no-such-module",
)
Answer = tuple[bool, str | None, str | None]  # held, reason (None: not shown), warning (None: none or not shown)


@dataclass
class World:
    client: TestClient
    database: Database
    now: list[datetime]
    public_key: bytes
    apps: dict[str, str] = field(default_factory=dict)  # user -> app token
    ids: dict[str, int] = field(default_factory=dict)
    admin: str = ""
    vendor: str = ""

    def ctx(self, session: object) -> Context:
        return Context(session, "test", clock=lambda: self.now[0])  # type: ignore[arg-type]


def _seed(ctx: Context, world: World) -> None:
    at = SETUP
    tenants.create_tenant(ctx, name="acme", generation="11", company="Acme AS", serial="7", at=at)
    for plan, number in (("sales-essential", 4), ("sales-premium+service-essential", 1)):
        tenants.set_seats(ctx, "acme", plan, number, at=at)
    tenants.add_owner(ctx, "acme", "ADWIZA", description="Adwiza AS", at=at)
    tenants.add_partner_license(ctx, "acme", "ADWIZA.campaign", license_type="user", unrestricted=True, at=at)
    tenants.add_partner_license(ctx, "acme", "ADWIZA.core", license_type="system", at=at)
    for name in USERS[:-1]:
        users.add_user(ctx, "acme", name, at=at)
    users.assign(ctx, "acme", "plain", plans=["sales-essential"], at=at)
    users.assign(ctx, "acme", "multi", plans=["service-essential", "sales-premium"], at=at)
    users.assign(ctx, "acme", "direct", plans=["sales-essential"], licenses=["publish"], at=at)
    users.assign(ctx, "acme", "retired", plans=["sales-essential"], at=at)
    users.retire_user(ctx, "acme", "retired", at=at)
    users.assign(ctx, "acme", "partner", plans=["sales-essential"], licenses=["adwiza.campaign"], at=at)
    subscriptions.create_subscription(ctx, "acme", start=date(2026, 1, 1), period=1, at=at)
    for name in USERS[:-1]:
        world.apps[name] = tokens.create_token(ctx, role="app", tenant="acme", user=name, at=at)[0]
    world.admin = tokens.create_token(ctx, role="admin", tenant="acme", at=at)[0]
    world.vendor = tokens.create_token(ctx, role="vendor", at=at)[0]
    subscriptions.cancel_subscription(ctx, "acme", at=datetime(2026, 3, 1, tzinfo=UTC))
    world.ids.update({user.user: user.id for user in users.list_users(ctx, "acme")})


@pytest.fixture(scope="module", params=BACKENDS)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    directory = Path(tmp_path_factory.mktemp("decisions"))
    database, token = create_database(request.param, directory)
    signing_key, public_key = generate_keys(directory / "keys")
    now = [SETUP]
    app = create_app(
        Settings(database_url=database.url, signing_key=signing_key), engine=database.engine, clock=lambda: now[0]
    )
    with TestClient(app) as client:
        made = World(client, database, now, public_key.read_bytes())
        with make_session_factory(database.engine)() as session:
            _seed(Context(session, "seed", clock=lambda: SEEDED, may_correct=True), made)
            session.commit()
        yield made
    drop_database(database, token)


def _reference(world: World) -> dict[tuple[str, str], Answer]:
    """What the service's check says, through the one decision."""
    found: dict[tuple[str, str], Answer] = {}
    with make_session_factory(world.database.engine)() as session:
        ctx = world.ctx(session)
        for user in USERS:
            if user == "nobody":
                found.update({(user, name): (False, "UNKNOWN_USER", None) for name in LICENSES})
                continue
            for name, d in zip(LICENSES, users.check(ctx, "acme", user, LICENSES), strict=True):
                found[(user, name)] = (d.held, d.reason, d.warning)
    return found


def _cli(world: World, capsys: pytest.CaptureFixture[str]) -> dict[tuple[str, str], Answer]:
    found: dict[tuple[str, str], Answer] = {}
    for user in USERS:
        code = run(["--db", world.database.url, "check", "acme", user, *LICENSES, "--json"], clock=lambda: world.now[0])
        out = capsys.readouterr()
        if user == "nobody":
            assert code == 1
            assert "UNKNOWN_USER" in out.err + out.out
            found.update({(user, name): (False, "UNKNOWN_USER", None) for name in LICENSES})
            continue
        for name, d in zip(LICENSES, json.loads(out.out), strict=True):
            found[(user, name)] = (d["held"], d["reason"], d.get("warning"))
    return found


def _batch(world: World) -> dict[tuple[str, str], Answer]:
    body = {"users": list(USERS), "licenses": list(LICENSES), "explain": True}
    answer = world.client.post("/v1/tenants/acme/check", json=body, headers=_bearer(world.admin))
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert len(results) == len(USERS) * len(LICENSES)
    return {
        (r["user"], name): (r["held"], r["reason"], r.get("warning"))
        for r, name in zip(results, LICENSES * len(USERS), strict=True)
    }


def _held_lists(world: World) -> dict[str, dict[str, tuple[frozenset[str], str | None]]]:
    """Per surface that lists what a user holds: user -> (canonical names held, warning if shown)."""
    lists: dict[str, dict[str, tuple[frozenset[str], str | None]]] = {
        "/v1 user licenses": {},
        "currentPrincipal": {},
        "GetUserAndInstallationLicenceStatus": {},
        "snapshot": {},
        "panel user card": {},
    }
    snapshot = world.client.get("/v1/tenants/acme/snapshot", headers=_bearer(world.admin))
    assert snapshot.status_code == 200, snapshot.text
    offline = OfflineLicenses.load(snapshot.content, world.public_key, tenant="acme", now=world.now[0].timestamp())
    panel = _panel(world)
    for user in USERS[:-1]:
        shown = world.client.get(f"/v1/tenants/acme/users/{user}/licenses", headers=_bearer(world.admin)).json()
        lists["/v1 user licenses"][user] = (frozenset(e["license"] for e in shown["effective"]), shown["warning"])
        principal = world.client.get("/api/v1/User/currentPrincipal", headers=_bearer(world.apps[user])).json()
        lists["currentPrincipal"][user] = (
            frozenset(canonical(f"{g['OwnerName']}.{g['Name']}") for g in principal["Licenses"]),
            None,
        )
        status = world.client.post(
            "/api/v1/Agents/License/GetUserAndInstallationLicenceStatus",
            json={"associateId": world.ids[user]},
            headers=_bearer(world.admin),
        ).json()
        modules = set(status["UserLicenses"])
        lists["GetUserAndInstallationLicenceStatus"][user] = (
            frozenset(canonical(n) for n in LICENSES if canonical(n).partition(".")[2] in modules),
            None,
        )
        lists["snapshot"][user] = (frozenset(canonical(n) for n in LICENSES if offline.has_license(user, n)), None)
        page = panel.get(f"/admin/t/acme/users/{user}")
        assert page.status_code == 200
        effective = re.search(r'<div id="effective">(.*?)</div>', page.text, re.S)
        assert effective is not None
        lists["panel user card"][user] = (frozenset(re.findall(r'data-license="([^"]+)"', effective.group(1))), None)
    return lists


def _panel(world: World) -> TestClient:
    browser = TestClient(world.client.app)
    login = browser.get("/admin/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', login.text)
    assert csrf is not None
    answer = browser.post("/admin/login", data={"token": world.admin, "csrf": csrf.group(1)}, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return browser


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("moment", MOMENTS)
def test_every_surface_gives_the_same_answer_for_every_user_and_license(
    world: World, moment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    world.now[0] = MOMENTS[moment]
    reference = _reference(world)
    assert _cli(world, capsys) == reference
    assert _batch(world) == reference
    for surface, by_user in _held_lists(world).items():
        for user, (names, warning) in by_user.items():
            for name in LICENSES:
                held, _, expected_warning = reference[(user, name)]
                assert (canonical(name) in names) == held, (surface, user, name)
                if surface == "/v1 user licenses" and held:
                    assert warning == expected_warning, (surface, user, name)
    with make_session_factory(world.database.engine)() as session:
        package = packages.build_package(world.ctx(session), "acme", at=world.now[0], sequence=1)
    modules = {f"superoffice.{m['ModuleName']}" for m in package["license"]["ModuleLicenses"]}
    held_superoffice = {
        canonical(n) for (_, n), a in reference.items() if a[0] and canonical(n).startswith("superoffice.")
    }
    assert held_superoffice <= modules


def _answers(world: World, moment: str) -> dict[tuple[str, str], Answer]:
    world.now[0] = MOMENTS[moment]
    return _reference(world)


def test_the_cases_mean_something_at_each_moment(world: World) -> None:
    """The comparison above is only worth as much as the cases differ: each rule shows at least once."""
    inside = _answers(world, "inside the term")
    assert inside[("plain", "sale-cal")] == (True, "HELD", None)
    assert inside[("plain", "SuperOffice.Sale-CAL")] == inside[("plain", "sale-cal")]
    assert inside[("plain", "QUOTE-CAL")][:2] == (False, "NOT_ASSIGNED")
    assert inside[("multi", "superoffice.quote-cal")][0]
    assert inside[("multi", "ej-client")][0]
    assert inside[("direct", "publish")][0]
    assert inside[("partner", "ADWIZA.Campaign")][0]
    assert inside[("partner", "adwiza.core")][0]
    assert inside[("retired", "sale-cal")] == (False, "USER_RETIRED", None)
    assert inside[("nobody", "sale-cal")] == (False, "UNKNOWN_USER", None)
    assert inside[("plain", "no-such-module")][:2] == (False, "UNKNOWN_LICENSE")
    grace = _answers(world, "inside the grace period")
    assert grace[("plain", "sale-cal")] == (True, "HELD", "LICENSE_IN_GRACE")
    assert grace[("retired", "sale-cal")] == (False, "USER_RETIRED", None)
    before = _answers(world, "before the subscription starts")
    assert before[("plain", "sale-cal")][:2] == (False, "LICENSE_NOT_STARTED")
    after = _answers(world, "after the grace period")
    assert after[("partner", "ADWIZA.Campaign")][:2] == (False, "LICENSE_EXPIRED")
    assert after[("plain", "no-such-module")][:2] == (False, "UNKNOWN_LICENSE")
