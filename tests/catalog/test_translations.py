"""The catalog's Swedish and German texts: complete, checked against the English files, with provenance."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lisens.catalog import validate_path
from lisens.catalog.loader import DATA_DIR
from lisens.catalog.translations import LANGUAGES, english_texts, load_texts, missing, translations_file
from lisens.domain.errors import CatalogError


@pytest.fixture
def catalog_dir(tmp_path: Path) -> Path:
    target = tmp_path / "catalog"
    shutil.copytree(DATA_DIR, target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"fixture text {old!r} not found in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def refused(path: Path) -> str:
    with pytest.raises(CatalogError) as caught:
        validate_path(path)
    assert caught.value.code == "CATALOG_INVALID", caught.value.message
    return caught.value.message


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_license_plan_and_add_on_of_the_catalog_has_a_text_in_each_language(language: str) -> None:
    texts = load_texts(language)
    assert texts is not None
    assert missing(texts, english_texts()) == []
    assert len(texts.licenses) == len(english_texts().licenses) > 150


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_tooltip_is_translated_exactly_where_english_has_one(language: str) -> None:
    texts = load_texts(language)
    assert texts is not None
    for name, (_, tooltip) in english_texts().licenses.items():
        assert (texts.licenses[name].tooltip is None) == (tooltip is None), name


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_translation_says_where_it_comes_from(language: str) -> None:
    texts = load_texts(language)
    assert texts is not None
    entries = [*texts.licenses.values(), *texts.plans.values(), *texts.addons.values()]
    assert all(entry.provenance.kind == "derived" and entry.provenance.source for entry in entries)
    seed = {"sv": "seed 001-sv", "de": "seed 003-de"}[language]
    assert seed in texts.licenses["selection-combined-cal"].provenance.source


def test_superoffice_s_own_words_name_the_features() -> None:
    sv, de = load_texts("sv"), load_texts("de")
    assert sv is not None
    assert de is not None
    assert sv.licenses["selection-combined-cal"].description == "Kombinerade urval"
    assert de.licenses["selection-combined-cal"].description == "Kombinierte Selektionen"
    assert sv.addons["calendar-sync"].name == "Kalendersynkronisering"
    assert de.addons["calendar-sync"].name == "Kalendersynchronisierung"


def test_english_is_the_source_language_and_has_no_file() -> None:
    assert load_texts("en") is None
    assert not translations_file("en").exists()


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_shipped_translation_file_validates_on_its_own(language: str) -> None:
    summary = validate_path(translations_file(language))
    assert summary["kind"] == "translations"
    assert summary["language"] == language


def test_a_catalog_directory_validates_its_translations(catalog_dir: Path) -> None:
    counts = validate_path(catalog_dir)["translations"]
    assert counts == {"de": len(english_texts().licenses), "sv": len(english_texts().licenses)}


def test_an_unknown_field_is_refused(catalog_dir: Path) -> None:
    path = catalog_dir / "translations-sv.toml"
    edit(path, 'description = "Integration för Active Directory-autentisering"', 'descripton = "x"')
    message = refused(path)
    assert "descripton" in message


def test_a_text_for_a_license_the_catalog_does_not_have_is_refused(catalog_dir: Path) -> None:
    path = catalog_dir / "translations-de.toml"
    edit(path, "[license.ad-auth]", "[license.no-such-license]")
    assert "'no-such-license' is not a module license" in refused(path)


def test_plans_and_add_ons_must_exist(catalog_dir: Path) -> None:
    path = catalog_dir / "translations-sv.toml"
    edit(path, "[plan.sales-essential]", "[plan.sales-ultimate]")
    edit(path, "[addon.cep]", "[addon.cepx]")
    message = refused(path)
    assert "'sales-ultimate' is not a plan of any generation" in message
    assert "'cepx' is not an add-on" in message


def test_a_tooltip_english_does_not_have_is_refused_and_a_missing_one_too(catalog_dir: Path) -> None:
    path = catalog_dir / "translations-sv.toml"
    edit(
        path,
        'description = "Integration för Active Directory-autentisering"',
        'description = "Integration för Active Directory-autentisering"\ntooltip = "x"',
    )
    edit(path, 'tooltip = "Redigera försäljningar i klienten"\n', "")
    message = refused(path)
    assert "license.ad-auth: a tooltip where English has none" in message
    assert "license.sale-cal: the English tooltip has no translation" in message


def test_the_language_must_match_the_file_name(catalog_dir: Path) -> None:
    path = catalog_dir / "translations-sv.toml"
    edit(path, 'language = "sv"', 'language = "de"')
    assert "does not match the file name" in refused(path)


def test_a_documented_translation_needs_a_quote(catalog_dir: Path) -> None:
    path = catalog_dir / "translations-de.toml"
    text = path.read_text(encoding="utf-8")
    start = text.index("[license.ad-auth]")
    line = text.index('provenance = { kind = "derived"', start)
    path.write_text(text[:line] + text[line:].replace('kind = "derived"', 'kind = "documented"', 1), encoding="utf-8")
    assert "documented provenance needs a quote" in refused(path)
