"""Honest provenance: every documented catalog entry quotes the source text it rests on, unaltered.

The sources are copied into tests/data/sources (the seeds and the reference notes) and
tests/data/license-names.csv (the SoLicenseNames list), so these tests need nothing outside the repository.
"""

from __future__ import annotations

import csv
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lisens.catalog.loader import DATA_DIR, load_catalogs

DATA = Path(__file__).parent.parent / "data"
SOURCES = DATA / "sources"


def _flat(text: str) -> str:
    """Whitespace runs as one space: a quote may be wrapped differently from its source."""
    return re.sub(r"\s+", " ", text).strip()


def _corpus() -> str:
    texts = [path.read_text(encoding="utf-8") for path in sorted(SOURCES.iterdir())]
    texts.append((DATA / "license-names.csv").read_text(encoding="utf-8"))
    return _flat("\n".join(texts))


CORPUS = _corpus()
NAME_LIST: dict[str, list[str]] = {}  # module name -> the descriptions of its constants
with (DATA / "license-names.csv").open(encoding="utf-8") as _names:
    for _row in csv.DictReader(_names):
        NAME_LIST.setdefault(_row["module"], []).append(_row["description"])


def _entries() -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, entry) for every table with a provenance in every shipped catalog file."""
    for path in sorted(DATA_DIR.rglob("*.toml")):
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        for section, value in raw.items():
            items = value if isinstance(value, list) else [value]
            for index, item in enumerate(items):
                if isinstance(item, dict) and "provenance" in item:
                    label = item.get("key") or item.get("name") or item.get("plans") or index
                    yield f"{path.name} {section} {label}", item


ENTRIES = list(_entries())


def test_the_copied_sources_are_all_there() -> None:
    names = {path.name for path in SOURCES.iterdir()}
    assert {"000_4c8714bb0b7126d4.txt", "004_79c21fd9e058b252.txt", "superoffice-licensing.md"} <= names
    assert "Sales-Essential user" in CORPUS


@pytest.mark.parametrize(("where", "entry"), ENTRIES, ids=[where for where, _ in ENTRIES])
def test_every_quote_appears_verbatim_in_the_seeds_or_the_reference(where: str, entry: dict[str, Any]) -> None:
    for quote in entry["provenance"].get("quote", []):
        assert _flat(quote) in CORPUS, f"{where}: not in the sources: {quote!r}"


def test_every_documented_entry_quotes_its_source_or_is_a_license_whose_description_is_the_quote() -> None:
    unquoted = [
        where
        for where, entry in ENTRIES
        if entry["provenance"]["kind"] == "documented" and not entry["provenance"].get("quote")
        and not where.startswith("module-licenses.toml")
    ]  # fmt: skip
    assert unquoted == []


def test_every_documented_module_license_has_the_description_and_tooltip_of_its_source_unaltered() -> None:
    altered = []
    for where, entry in ENTRIES:
        if not where.startswith("module-licenses.toml") or entry["provenance"]["kind"] != "documented":
            continue
        for field in ("description", "tooltip"):
            text = entry.get(field)
            if text is not None and _flat(text) not in CORPUS:
                altered.append(f"{entry['name']}.{field}: {text!r}")
    assert altered == []


def test_a_documented_description_taken_from_the_name_list_is_the_whole_text_of_its_row_or_said_otherwise() -> None:
    """A description shorter than the list's text must say where else it comes from, or be the name the
    list runs together with the tooltip."""
    for where, entry in ENTRIES:
        rows = NAME_LIST.get(entry.get("name", ""))
        if not where.startswith("module-licenses.toml") or rows is None or entry["provenance"]["kind"] != "documented":
            continue
        joined = f"{entry['description']} {entry['tooltip']}" if entry.get("tooltip") else None
        if entry["description"] not in rows and joined not in rows:
            source = entry["provenance"]["source"]
            assert "description" in source or "seed 004" in source, f"{entry['name']}: {source}"


@pytest.mark.parametrize(
    "name", ["suite2", "target-appnt-u", "synchronizer", "ten-salesservice", "ten-salesmarketing", "aicopilot"]
)
def test_module_licenses_whose_text_or_name_is_our_reading_are_marked_derived(name: str) -> None:
    license_ = load_catalogs()["11"].licenses[name]
    assert license_.provenance.kind == "derived"


def test_the_plans_and_add_ons_that_are_our_reading_are_marked_derived() -> None:
    g11, g9 = load_catalogs()["11"], load_catalogs()["9"]
    assert g11.plans["sales-premium"].provenance.kind == "derived"  # its system licenses are our reading
    assert g11.addons["ai-platform"].provenance.kind == "derived"  # `ai` is our reading
    assert g9.provenance.kind == "derived"  # the add-ons it sells are our reading
    assert g11.plans["sales-essential"].provenance.kind == "documented"


def test_the_suite2_source_text_keeps_its_sic() -> None:
    license_ = load_catalogs()["suite"].licenses["suite2"]
    assert "CRM Suite 1 - Core tier. (sic: '1')" in " ".join(license_.provenance.quotes)


def test_the_catalog_guide_tables_every_license_of_every_plan_of_generations_9_and_11() -> None:
    text = (Path(__file__).parent.parent.parent / "docs" / "catalog.md").read_text(encoding="utf-8")
    for generation in ("9", "11"):
        section = text.split(f"### Generation {generation}\n", 1)[1].split("\n### ", 1)[0]
        for plan in load_catalogs()[generation].plans.values():
            part = section.split(f"#### {plan.name} (`{plan.key}`", 1)[1].split("\n#### ", 1)[0]
            missing = [name for name in plan.licenses if f"`{name}`" not in part]
            assert plan.unrestricted or missing == [], (generation, plan.key, missing)
