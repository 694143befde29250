"""The panel shows a license's name as its label and its tooltip apart: as the name's `title` and as a
smaller line that the name's `aria-describedby` points to."""

from __future__ import annotations

import html
import re

import pytest
from fastapi.testclient import TestClient

from tests.admin.test_panel_security import log_in, site
from tests.api.conftest import Api

__all__ = ["site"]

ROW = re.compile(r'<tr data-license="superoffice\.web">(.*?)</tr>', re.S)
NAME = re.compile(r'<span class="name" title="([^"]*)" aria-describedby="([^"]+)">([^<]*)</span>')
TOOLTIP = re.compile(r'<small class="tooltip" id="([^"]+)">([^<]*)</small>')

WEB = {
    "en": ("Web login", "Allows user to log in to web client."),
    "sv": ("Webbinloggning", "Låter användaren logga in i webbklienten."),
    "de": ("Web-Anmeldung", "Erlaubt dem Benutzer die Anmeldung am Webclient."),
}


def _card(site: Api, language: str, user: str = "alice") -> str:
    admin = log_in(TestClient(site.client.app), site.tokens["acme-admin"])
    answer = admin.get(f"/admin/t/acme/users/{user}?lang={language}")
    assert answer.status_code == 200
    return answer.text


@pytest.mark.parametrize("language", ["en", "sv", "de"])
def test_the_user_card_shows_a_license_s_name_and_its_tooltip_apart(site: Api, language: str) -> None:
    row = ROW.search(_card(site, language))
    assert row is not None
    name, tooltip = NAME.search(row.group(1)), TOOLTIP.search(row.group(1))
    assert name is not None
    assert tooltip is not None
    label, described_by = html.unescape(name.group(3)), name.group(2)
    assert (label, html.unescape(name.group(1))) == WEB[language]
    assert (tooltip.group(1), html.unescape(tooltip.group(2))) == (described_by, WEB[language][1])
    assert WEB[language][1] not in label


def test_a_license_without_a_tooltip_shows_only_its_name(site: Api) -> None:
    row = re.search(r'<tr data-license="superoffice\.selection-cal">(.*?)</tr>', _card(site, "en"), re.S)
    assert row is not None
    assert '<span class="name">Turn on EDIT rights for selections for this user.' in row.group(1)
    assert "tooltip" not in row.group(1)
    assert "title=" not in row.group(1)


def test_every_tooltip_line_of_a_page_has_an_id_of_its_own(site: Api) -> None:
    for path in ("/admin/t/acme/users/alice", "/admin/t/acme/licenses?tab=SUPEROFFICE"):
        admin = log_in(TestClient(site.client.app), site.tokens["acme-admin"])
        page = admin.get(f"{path}{'&' if '?' in path else '?'}lang=sv").text
        ids = re.findall(r'\bid="(tip-[^"]+)"', page)
        described = re.findall(r'aria-describedby="([^"]+)"', page)
        assert ids, path
        assert len(ids) == len(set(ids)), path
        assert set(described) <= set(ids), path


def test_the_licenses_page_shows_names_and_tooltips_apart(site: Api) -> None:
    admin = log_in(TestClient(site.client.app), site.tokens["acme-admin"])
    page = admin.get("/admin/t/acme/licenses?tab=SUPEROFFICE&lang=en").text
    shown = dict(zip(TOOLTIP.findall(page), NAME.findall(page), strict=True))
    assert shown
    for (tip_id, tooltip), (title, described_by, _) in shown.items():
        assert (tip_id, html.unescape(tooltip)) == (described_by, html.unescape(title))
    for name in re.findall(r'<span class="name"[^>]*>([^<]*)</span>', page):
        assert not re.search(r"\S\s+(Allows|Enables|Turns on)\b", html.unescape(name)), name
