"""The catalog's texts in Swedish and German: `translations-sv.toml` and `translations-de.toml`.

English is the source language (the descriptions, tooltips and names of the catalog files); a
translation file holds, per module license, plan and add-on, the same texts in its language with
their provenance. Every key must name something of the catalog, and a tooltip or plan description is
translated exactly where English has one. What has no translation is shown in English.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from lisens.catalog.loader import (
    ADDONS_FILE,
    DATA_DIR,
    GENERATION_GLOB,
    MODULE_LICENSES_FILE,
    _check_quoted,
    _Problems,
    _read,
)
from lisens.catalog.schema import (
    AddonsFile,
    AddonText,
    GenerationFile,
    LicenseText,
    ModuleLicensesFile,
    PlanText,
    TranslationsFile,
)

LANGUAGES = ("sv", "de")
TRANSLATIONS_GLOB = "translations-*.toml"


def translations_file(language: str, directory: Path | None = None) -> Path:
    return (directory or DATA_DIR) / f"translations-{language}.toml"


@dataclass(frozen=True)
class EnglishTexts:
    """The source texts the translations are checked against."""

    licenses: dict[str, tuple[str, str | None]]  # module name: description, tooltip
    plans: dict[str, tuple[str, str | None]]  # plan key: name, description
    addons: dict[str, tuple[str, str]]  # add-on key: name, description


@dataclass(frozen=True)
class CatalogTexts:
    """One language's texts of the catalog, by module name, plan key and add-on key."""

    language: str
    licenses: dict[str, LicenseText]
    plans: dict[str, PlanText]
    addons: dict[str, AddonText]


@cache
def english_texts(directory: Path = DATA_DIR) -> EnglishTexts:
    licenses = _read(directory / MODULE_LICENSES_FILE, ModuleLicensesFile).license
    addons = _read(directory / ADDONS_FILE, AddonsFile).addon
    plans: dict[str, tuple[str, str | None]] = {}
    for path in sorted(directory.glob(GENERATION_GLOB)):
        for plan in _read(path, GenerationFile).plan:
            plans.setdefault(plan.key, (plan.name, plan.description))
    return EnglishTexts(
        licenses={entry.name: (entry.description, entry.tooltip) for entry in licenses},
        plans=plans,
        addons={entry.key: (entry.name, entry.description) for entry in addons},
    )


def load_texts_file(path: Path, english: EnglishTexts) -> CatalogTexts:
    """Read and check one translation file against the English texts; every problem is reported at once."""
    parsed = _read(path, TranslationsFile)
    problems = _Problems(path)
    expected = path.stem.removeprefix("translations-")
    if parsed.language != expected:
        problems.add("language", f"{parsed.language!r} does not match the file name ({expected!r})")
    for name, text in parsed.license.items():
        where = f"license.{name}"
        _check_quoted(problems, where, text.provenance)
        if name not in english.licenses:
            problems.add(where, f"{name!r} is not a module license")
            continue
        has_tooltip = english.licenses[name][1] is not None
        if has_tooltip and text.tooltip is None:
            problems.add(where, "the English tooltip has no translation")
        if not has_tooltip and text.tooltip is not None:
            problems.add(where, "a tooltip where English has none")
    for key, plan in parsed.plan.items():
        where = f"plan.{key}"
        _check_quoted(problems, where, plan.provenance)
        if key not in english.plans:
            problems.add(where, f"{key!r} is not a plan of any generation")
            continue
        if (english.plans[key][1] is None) != (plan.description is None):
            problems.add(where, "a description exactly where English has one")
    for key, addon in parsed.addon.items():
        where = f"addon.{key}"
        _check_quoted(problems, where, addon.provenance)
        if key not in english.addons:
            problems.add(where, f"{key!r} is not an add-on")
    problems.raise_if_any()
    return CatalogTexts(
        language=parsed.language, licenses=dict(parsed.license), plans=dict(parsed.plan), addons=dict(parsed.addon)
    )


@cache
def _load(language: str, directory: Path) -> CatalogTexts | None:
    path = translations_file(language, directory)
    if not path.exists():
        return None
    return load_texts_file(path, english_texts(directory))


def load_texts(language: str, directory: Path | None = None) -> CatalogTexts | None:
    """The texts of `language` (sv, de) from a catalog directory (the shipped one by default), cached;
    None for English, the source language, and where the directory has no file for the language."""
    if language not in LANGUAGES:
        return None
    return _load(language, (directory or DATA_DIR).resolve())


def missing(texts: CatalogTexts, english: EnglishTexts) -> list[str]:
    """What of the catalog has no translation in `texts`: `license.NAME`, `plan.KEY`, `addon.KEY`."""
    return [
        *(f"license.{name}" for name in sorted(english.licenses) if name not in texts.licenses),
        *(f"plan.{key}" for key in sorted(english.plans) if key not in texts.plans),
        *(f"addon.{key}" for key in sorted(english.addons) if key not in texts.addons),
    ]


def validate_translations(directory: Path) -> dict[str, int]:
    """Check every translation file of a catalog directory; the number of license texts of each language."""
    english = english_texts.__wrapped__(directory)
    return {
        texts.language: len(texts.licenses)
        for texts in (load_texts_file(path, english) for path in sorted(directory.glob(TRANSLATIONS_GLOB)))
    }
