"""A module license's name and its tooltip are two fields: SoLicenseNames runs them together ("Web login
Allows user to log in to web client."), the catalog keeps them apart, in English and in every translation."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from lisens.catalog.loader import DATA_DIR, MODULE_LICENSES_FILE, load_catalogs, load_module_licenses
from lisens.catalog.translations import LANGUAGES, english_texts, load_texts
from lisens.catalog.views import license_view

NAME_LIST = Path(__file__).parent.parent / "data" / "license-names.csv"
LICENSES = load_module_licenses(DATA_DIR / MODULE_LICENSES_FILE)
# A tooltip's first words in the list: a verb after the license's name, with a capital.
JOINED = re.compile(r"\S\s+(Allows|Enables|Turns on)\b")


def test_no_description_of_a_module_license_runs_on_into_its_tooltip() -> None:
    joined = [f"{name}: {lic.description}" for name, lic in LICENSES.items() if JOINED.search(lic.description)]
    assert joined == []


def test_the_check_for_a_joined_description_finds_one() -> None:
    assert JOINED.search("Web login Allows user to log in to web client.")
    assert JOINED.search("Import Turns on import panel in SOADMIN")
    assert not JOINED.search("Enables chat")
    assert not JOINED.search("Activate chat system. Without this license the Chat Admin does not appear.")


def test_a_name_and_tooltip_split_from_the_name_list_are_its_text_word_for_word() -> None:
    """Where a row of the list starts with the description and goes on, the rest is the tooltip."""
    with NAME_LIST.open(encoding="utf-8") as source:
        rows = [(row["module"], row["description"]) for row in csv.DictReader(source)]
    split = 0
    for module, text in rows:
        license_ = LICENSES.get(module)
        if license_ is None or license_.provenance.kind != "documented" or license_.description == text:
            continue
        if text.startswith(f"{license_.description} "):
            assert license_.tooltip == text.removeprefix(f"{license_.description} "), module
            split += 1
    assert split >= 45


@pytest.mark.parametrize(
    ("name", "description", "tooltip"),
    [
        ("admin-extern-user", "External user administrator", "Allows user to admin external user in CRM client"),
        ("web", "Web login", "Allows user to log in to web client."),
        ("audience", "Audience", "Enables Audience web site."),
        ("import", "Import", "Turns on import panel in SOADMIN"),
        ("reporter-studio", "Reporter Studio", "Custom reports through Reporter Studio. Also need RepStudio CAL."),
        ("superlicense-aim-faq", "eJournal AIM FAQ", "AIM License - Frequently Asked Questions, Knowledgebase."),
        ("ej-client", "Customer Service", "Allows user to log in to eJournal web client."),
    ],
)
def test_a_joined_text_of_the_list_is_a_name_and_a_tooltip(name: str, description: str, tooltip: str) -> None:
    assert (LICENSES[name].description, LICENSES[name].tooltip) == (description, tooltip)


@pytest.mark.parametrize("name", ["chat", "db-mirror", "feature-pricing", "suite-user", "user-management", "ad-auth"])
def test_a_text_of_one_part_stays_the_whole_description(name: str) -> None:
    with NAME_LIST.open(encoding="utf-8") as source:
        rows = [row["description"] for row in csv.DictReader(source) if row["module"] == name]
    assert LICENSES[name].description in rows
    assert LICENSES[name].tooltip is None


def test_the_tooltip_reaches_every_generation_and_the_license_view() -> None:
    for catalog in load_catalogs().values():
        web = catalog.licenses.get("web")
        if web is not None:
            assert (web.description, web.tooltip) == ("Web login", "Allows user to log in to web client.")
            assert license_view(web)["tooltip"] == "Allows user to log in to web client."


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_translated_description_does_not_hold_its_tooltip(language: str) -> None:
    texts = load_texts(language)
    assert texts is not None
    joined = []
    for name, (_, tooltip) in english_texts().licenses.items():
        translated = texts.licenses[name]
        if tooltip is None or translated.tooltip is None or translated.description == translated.tooltip:
            continue
        if translated.tooltip in translated.description:
            joined.append(f"{name}: {translated.description}")
    assert joined == []


@pytest.mark.parametrize(
    ("language", "description", "tooltip"),
    [
        ("sv", "Webbinloggning", "Låter användaren logga in i webbklienten."),
        ("de", "Web-Anmeldung", "Erlaubt dem Benutzer die Anmeldung am Webclient."),
    ],
)
def test_a_translation_splits_name_and_tooltip_as_english_does(language: str, description: str, tooltip: str) -> None:
    texts = load_texts(language)
    assert texts is not None
    assert (texts.licenses["web"].description, texts.licenses["web"].tooltip) == (description, tooltip)
