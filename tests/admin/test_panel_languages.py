"""The panel speaks Swedish and German completely: no English text of the panel or the catalog is left on
any page, and every message the panel uses has a translation in both gettext catalogs."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import date
from functools import cache
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient

from lisens.admin.i18n import LOCALE_DIR
from lisens.admin.texts import PanelTexts
from lisens.catalog.loader import load_catalogs
from lisens.catalog.translations import english_texts, load_texts
from lisens.db.engine import make_session_factory
from lisens.domain.billing import LicenseStatus
from lisens.domain.engine import Grant, GrantKind
from lisens.service import subscriptions, tenants, users, waves
from lisens.service.context import Context
from lisens.service.move_plans import Selection
from tests.admin.test_panel_security import csrf_of, log_in, worker
from tests.api.conftest import AT, CANARY_COMPANY, Api, seed
from tests.db.conftest import BACKENDS, create_database, drop_database

ADMIN = Path(__file__).parents[2] / "src" / "lisens" / "admin"
LANGUAGES = ("sv", "de")
# What the page shows of the seeded data, not of the panel: tenant, user and company names.
DATA = ("acme", "globex", "alice", "bob", "gina", "Acme AS", CANARY_COMPANY, "GLOBEXCO", "SUPEROFFICE", "Lisens")


@pytest.fixture(scope="module", params=BACKENDS)
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """The seeded tenants, and acme with a subscription, an add-on and a system license bought."""
    database, token = create_database(request.param, Path(tmp_path_factory.mktemp("languages")))
    with TestClient(worker(database)) as client:
        made = Api(client=client, database=database)
        seed(database, made)
        session = make_session_factory(database.engine)()
        ctx = Context(session=session, actor="seed", may_correct=True)
        tenants.set_seats(ctx, "acme", "sales-premium", 1, at=AT)  # full: bob cannot take it
        subscriptions.create_subscription(ctx, "acme", start=date(AT.year, AT.month, 1), period=3, at=AT)
        tenants.add_addon(ctx, "acme", "cep", at=AT)
        tenants.set_seats(ctx, "acme", "sales-essential+service-essential", 2, at=AT)
        users.add_user(ctx, "acme", "carl", at=AT)
        users.assign(ctx, "acme", "carl", plans=["sales-essential", "service-essential"], at=AT)
        session.commit()
        # A wave: acme waits for its renewal, globex (no subscription) is blocked; a second one paused.
        vendor = Context(session=session, actor="seed", may_correct=True)
        waves.create_wave(vendor, to="suite", selection=Selection(tenants=("acme", "globex")), at="renewal")
        paused = waves.create_wave(vendor, to="suite", selection=Selection(tenants=("acme",)), at="2999-01-01")
        waves.pause_wave(vendor, paused.id)
        session.commit()
        session.close()
        yield made
    drop_database(database, token)


def _placeholder_pattern(text: str) -> str:
    """A msgid as a pattern: each `%(name)s` stands for some text."""
    parts = re.split(r"%\([a-z_]+\)s", text)
    return r"\S.*?".join(re.escape(part) for part in parts)


@cache
def english(language: str) -> tuple[tuple[str, re.Pattern[str]], ...]:
    """Every English text that has another text in `language`, as a whole-word pattern."""
    texts: set[str] = set()
    with (LOCALE_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as source:
        for message in read_po(source, locale=language):
            if message.id and message.id != message.string:
                texts.add(str(message.id))
    catalog = load_texts(language)
    assert catalog is not None
    source_texts = english_texts()
    for name, (description, tooltip) in source_texts.licenses.items():
        translated = catalog.licenses[name]
        if description != translated.description:
            texts.add(description)
        if tooltip and tooltip != translated.tooltip:
            texts.add(tooltip)
    for key, (name, _) in source_texts.plans.items():
        if name != catalog.plans[key].name:
            texts.add(name)
    for key, (name, description) in source_texts.addons.items():
        if name != catalog.addons[key].name:
            texts.add(name)
        if description != catalog.addons[key].description:
            texts.add(description)
    grants: list[tuple[GrantKind, str]] = [("system", ""), ("direct", "")]
    grants += [("generation", key) for key in load_catalogs()]
    grants += [("plan", key) for key in source_texts.plans]
    grants += [("addon", key) for key in source_texts.addons]
    texts.update(Grant(kind, source).describe() for kind, source in grants)
    patterns = []
    for text in sorted(texts):
        body = _placeholder_pattern(text) if "%(" in text else re.escape(text)
        patterns.append((text, re.compile(rf"(?<![\w-]){body}(?![\w-])")))
    return tuple(patterns)


def visible(page: str) -> str:
    """The text a reader sees (with tooltips), without license ids, seeded names and numbers."""
    titles = " ".join(re.findall(r'title="([^"]*)"', page))
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", text) + " " + titles
    text = html.unescape(text)
    text = re.sub(r"\b[a-zA-Z0-9]+\.[a-z0-9][a-z0-9 .-]*[a-z0-9]\b", " ", text)  # superoffice.sale-cal
    for name in DATA:
        text = text.replace(name, " ")
    text = re.sub(r"\d[\d.,:-]*", " ", text)
    return " ".join(text.split())


# English words neither Swedish nor German has: they catch English that no catalog holds (a domain message).
ENGLISH_WORDS = re.compile(r"\b(the|The|of|and|is|no|No|from|with|not|cannot|has|have|already|must)\b")


def english_left(page: str, language: str) -> list[str]:
    text = visible(page)
    found = [source for source, pattern in english(language) if pattern.search(text)]
    return found + sorted({f"word {word!r}" for word in ENGLISH_WORDS.findall(text)})


def pages(site: Api, language: str) -> dict[str, str]:
    """Every page of the panel, as each kind of visitor sees it, in `language`."""
    shown: dict[str, str] = {}
    headers = {"accept-language": f"{language},en;q=0.5"}
    visitor = TestClient(site.client.app, headers=headers)
    shown["login"] = visitor.get(f"/admin/login?lang={language}").text
    failed = visitor.post("/admin/login", data={"token": "lsn_wrong", "csrf": csrf_of(visitor)})
    assert failed.status_code == 401
    shown["login, unknown token"] = failed.text
    expired = visitor.post("/admin/login", data={"token": "lsn_wrong", "csrf": "forged"})
    assert expired.status_code == 403
    shown["login, form expired"] = expired.text

    vendor = log_in(TestClient(site.client.app, headers=headers), site.tokens["vendor"])
    for path in (
        "/admin",
        "/admin/t/acme/move?to=suite",
        "/admin/t/acme/move?to=9",
        "/admin/t/globex/move?to=11",
        "/admin/t/acme/move?to=11",
        "/admin/t/acme/move?to=nowhere",
        "/admin/waves",
        "/admin/moves/plan?to=suite",
        "/admin/moves/plan?generation=11&to=suite&tag=segment%3Dsmb",
        "/admin/moves/plan?to=suite&tag=Bad",
    ):
        answer = vendor.get(path)
        assert answer.status_code == 200, path
        shown[f"vendor {path}"] = answer.text

    admins = (("acme-admin", "acme", ("alice", "bob", "carl")), ("globex-admin", "globex", ("gina",)))
    for who, tenant, people in admins:
        admin = log_in(TestClient(site.client.app, headers=headers), site.tokens[who])
        paths = [f"/admin/t/{tenant}/licenses", f"/admin/t/{tenant}/licenses?tab=SUPEROFFICE"]
        paths += [f"/admin/t/{tenant}/users", f"/admin/t/{tenant}/subscription"]
        paths += [f"/admin/t/{tenant}/tokens", f"/admin/t/{tenant}/audit", f"/admin/t/{tenant}/bulk"]
        paths += [f"/admin/t/{tenant}/users/{person}" for person in people]
        for path in paths:
            answer = admin.get(path)
            assert answer.status_code == 200, path
            shown[f"{who} {path}"] = answer.text
        missing = admin.get(f"/admin/t/{tenant}/users/nobody")
        assert missing.status_code == 404
        shown[f"{who} not found"] = missing.text
        forged = admin.post(f"/admin/t/{tenant}/users/{people[0]}", data={"csrf": "forged"})
        assert forged.status_code == 403
        shown[f"{who} form expired"] = forged.text
    admin = log_in(TestClient(site.client.app, headers=headers), site.tokens["acme-admin"])
    page = admin.get("/admin/t/acme/users/bob").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf is not None
    full = admin.post("/admin/t/acme/users/bob", data={"csrf": csrf.group(1), "plan": "sales-premium"})
    assert full.status_code == 409
    shown["user card, no free seat"] = full.text
    page = vendor.get("/admin/waves").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf is not None
    refused = vendor.post("/admin/waves/2/pause", data={"csrf": csrf.group(1)})
    assert refused.status_code == 409
    shown["waves, paused already"] = refused.text
    return shown


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_page_of_the_panel_shows_english_text(site: Api, language: str) -> None:
    left = {name: found for name, page in pages(site, language).items() if (found := english_left(page, language))}
    assert left == {}


@pytest.mark.parametrize("language", LANGUAGES)
def test_pages_show_catalog_texts_and_what_grants_a_license_in_the_page_s_language(site: Api, language: str) -> None:
    shown = pages(site, language)
    card = visible(shown["acme-admin /admin/t/acme/users/alice"])
    expected = {
        "sv": ("användarplanen Sales Premium", "tillägget Customer Engagement Platform (CEP)"),
        "de": ("Benutzerplan Sales Premium", "Add-on Customer Engagement Platform (CEP)"),
    }[language]
    for text in expected:
        assert text in card
    status = {"sv": "(aktiv)", "de": "(aktiv)"}[language]
    assert status in visible(shown["acme-admin /admin/t/acme/subscription"])
    unmapped = visible(shown["vendor /admin/t/acme/move?to=9"])
    assert {"sv": "Det finns ingen flytt", "de": "Es ist kein Umzug"}[language] in unmapped
    system = visible(shown["acme-admin /admin/t/acme/licenses?tab=SUPEROFFICE"])
    assert {"sv": "Sales Premium-nivå", "de": "Sales-Premium-Stufe"}[language] in system


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_kind_of_grant_and_every_status_has_a_text_in_each_language(language: str) -> None:
    texts = PanelTexts(language)
    english = PanelTexts("en")
    kinds: list[tuple[GrantKind, str]] = [
        ("generation", "11"),
        ("plan", "sales-premium+service-essential"),
        ("addon", "calendar-sync"),
        ("system", "system"),
        ("direct", "direct"),
    ]
    for kind, source in kinds:
        grant = {"kind": kind, "source": source, "text": Grant(kind, source).describe()}
        assert texts.grant(grant) != english.grant(grant), kind
        assert english_left(texts.grant(grant), language) == [], kind
    assert texts.grant({"kind": "plan", "source": "complete"}).endswith(
        {"sv": "Komplett CRM", "de": "Komplett-CRM"}[language]
    )
    for status in LicenseStatus:
        assert texts.status(status) not in (status.value, english.status(status))


def test_the_check_finds_english_text_when_there_is_some() -> None:
    page = "<td title='x'>Sale Editing</td><td>plan sales-premium</td><td>superoffice.sale-cal</td>"
    assert {"Sale Editing", "plan sales-premium"} <= set(english_left(page, "sv"))
    assert english_left("<p>Kombinerade urval 3 / 4 alice</p>", "sv") == []
    assert english_left("<p>no move mapping from generation 11 to 9</p>", "de") == ["word 'from'", "word 'no'"]


def _messages_used() -> set[str]:
    pattern = re.compile(r'\b_\(\s*"((?:[^"\\]|\\.)*)"')
    sources = [*sorted((ADMIN / "templates").glob("*.html")), ADMIN / "views.py", ADMIN / "texts.py"]
    return {found for path in sources for found in pattern.findall(path.read_text(encoding="utf-8"))}


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_of_the_templates_and_views_has_a_translation(language: str) -> None:
    used = _messages_used()
    assert len(used) > 60
    with (LOCALE_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as source:
        translated = {str(m.id): m.string for m in read_po(source, locale=language) if m.id}
    assert sorted(m for m in used if not translated.get(m)) == []
