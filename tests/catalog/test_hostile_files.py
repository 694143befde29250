"""Catalog files from anywhere: cycles are reported by name; deep, long or huge values are refused with a code."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lisens.catalog import validate_path
from lisens.catalog.loader import DATA_DIR, MAX_DEPTH, MAX_FILE_BYTES, MAX_STRING, read_toml
from lisens.catalog.prices import load_price_list
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


def refused(path: Path, code: str = "CATALOG_INVALID") -> CatalogError:
    with pytest.raises(CatalogError) as caught:
        validate_path(path)
    assert caught.value.code == code, caught.value.message
    return caught.value


def test_a_prerequisite_cycle_is_refused_naming_the_cycle(catalog_dir: Path) -> None:
    licenses = catalog_dir / "module-licenses.toml"
    # user needs ej-client, which needs user: neither could ever be turned on.
    edit(
        licenses,
        'name = "user"\nconstants = ["User"]',
        'name = "user"\nprerequisite = "ej-client"\nconstants = ["User"]',
    )
    error = refused(catalog_dir)
    assert "prerequisite cycle: ej-client -> user -> ej-client" in error.message
    assert str(licenses) in error.message


def test_a_license_that_is_its_own_prerequisite_is_a_cycle(catalog_dir: Path) -> None:
    edit(catalog_dir / "module-licenses.toml", 'prerequisite = "user"', 'prerequisite = "ej-client"')
    assert "prerequisite cycle: ej-client -> ej-client" in refused(catalog_dir).message


def test_an_add_on_requires_cycle_is_refused_naming_the_cycle(catalog_dir: Path) -> None:
    addons = catalog_dir / "addons.toml"
    edit(addons, 'key = "ai-platform"\n', 'key = "ai-platform"\nrequires = "ai-chatbot"\n')
    error = refused(catalog_dir)
    assert "requires cycle: ai-chatbot -> ai-platform -> ai-chatbot" in error.message
    assert str(addons) in error.message


def test_a_single_addons_file_with_a_cycle_is_refused_too(catalog_dir: Path) -> None:
    addons = catalog_dir / "addons.toml"
    edit(addons, 'key = "ai-platform"\n', 'key = "ai-platform"\nrequires = "ai-text-services"\n')
    assert "requires cycle: ai-platform -> ai-text-services -> ai-platform" in refused(addons).message


def test_a_feature_parent_cycle_is_refused(catalog_dir: Path) -> None:
    g11 = catalog_dir / "generation-11.toml"
    text = g11.read_text(encoding="utf-8")
    # The first feature with a parent gets its parent's parent pointed back at it.
    child = text[: text.index('parent = "common.contacts"')].rsplit('key = "', 1)[1].split('"', 1)[0]
    edit(g11, 'key = "common.contacts"\n', f'key = "common.contacts"\nparent = "{child}"\n')
    assert f"parent cycle: common.contacts -> {child} -> common.contacts" in refused(catalog_dir).message


def test_the_shipped_catalog_has_no_cycles() -> None:
    assert set(validate_path(DATA_DIR)["generations"]) == {"7", "9", "11", "suite"}


@pytest.mark.parametrize(
    "text",
    [
        "x = " + "[" * 5000 + "]" * 5000,  # deeper than the parser's stack
        "x = " + "{a = " * 3000 + "1" + "}" * 3000,
        "x = " + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1),  # parses, but deeper than allowed
        "a" + ".a" * 20_000 + " = 1",  # dotted keys make tables inside tables
    ],
)
def test_deeply_nested_values_are_refused_with_catalog_too_deep(tmp_path: Path, text: str) -> None:
    path = tmp_path / "deep.toml"
    path.write_text(text + "\n", encoding="utf-8")
    error = refused(path, "CATALOG_TOO_DEEP")
    assert error.details["limit"] == MAX_DEPTH
    assert len(error.message) < 400


def test_nesting_at_the_limit_is_accepted_by_the_reader(tmp_path: Path) -> None:
    path = tmp_path / "ok.toml"
    path.write_text("x = " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "\n", encoding="utf-8")
    assert "x" in read_toml(path)


def test_a_string_longer_than_the_limit_is_refused_without_echoing_it(tmp_path: Path) -> None:
    path = tmp_path / "long.toml"
    path.write_text(f'[[license]]\nname = "{"a" * (MAX_STRING + 1)}"\n', encoding="utf-8")
    error = refused(path, "CATALOG_VALUE_TOO_LONG")
    assert error.details["where"] == "license[0].name"
    assert (error.details["length"], error.details["limit"]) == (MAX_STRING + 1, MAX_STRING)
    assert len(error.message) < 400


def test_a_long_key_is_refused_too(tmp_path: Path) -> None:
    path = tmp_path / "key.toml"
    path.write_text(f"{'k' * (MAX_STRING + 1)} = 1\n", encoding="utf-8")
    assert refused(path, "CATALOG_VALUE_TOO_LONG").details["where"] == "file key"


def test_a_file_larger_than_the_limit_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    path = tmp_path / "huge.toml"
    path.write_text("# padding\n" * (MAX_FILE_BYTES // 10 + 1), encoding="utf-8")
    error = refused(path, "CATALOG_FILE_TOO_LARGE")
    assert error.details["limit"] == MAX_FILE_BYTES


def test_a_bad_value_is_quoted_shortened_in_the_message(tmp_path: Path) -> None:
    path = tmp_path / "wrong.toml"
    path.write_text(f'[[license]]\nname = "x"\ntype = "{"z" * 5000}"\n', encoding="utf-8")
    error = refused(path)
    assert "zzzz" in error.message
    assert len(error.message) < 2000


def test_a_directory_or_device_given_as_a_file_is_refused_with_a_code(tmp_path: Path) -> None:
    (tmp_path / "dir.toml").mkdir()
    with pytest.raises(CatalogError) as caught:
        read_toml(tmp_path / "dir.toml")
    assert caught.value.code == "CATALOG_INVALID"
    assert refused(Path("/dev/zero")).code == "CATALOG_INVALID"


def test_price_lists_are_read_within_the_same_limits(tmp_path: Path) -> None:
    path = tmp_path / "prices-11.toml"
    path.write_text("x = " + "[" * 5000 + "]" * 5000 + "\n", encoding="utf-8")
    with pytest.raises(CatalogError) as caught:
        load_price_list("11", tmp_path)
    assert caught.value.code == "CATALOG_TOO_DEEP"
