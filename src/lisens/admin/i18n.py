"""Languages of the panel: English, Swedish and German, from gettext catalogs read with Babel."""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALES = ("en", "sv", "de")
LOCALE_DIR = Path(__file__).parent / "locale"


@cache
def translations(lang: str) -> Translations:
    """The catalog of `lang` (English is the source language: no catalog)."""
    if lang == "en":
        return Translations()
    po = LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as source:
        catalog = read_po(source, locale=lang)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer)


def choose(requested: str | None, accept_language: str | None) -> str:
    """The switch wins; otherwise the browser's first supported language; otherwise English."""
    if requested in LOCALES:
        return requested
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in LOCALES:
            return tag
    return "en"
