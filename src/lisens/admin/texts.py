"""What the panel prints of the catalog and the domain, in the page's language.

The catalog's descriptions, tooltips and names come from its translation files
(`lisens.catalog.translations`); the phrases around them (what grants a license, a license status)
from the gettext catalogs. English is the source language: without a translation the English text
is shown. Templates reach these through filters installed on the page's Jinja environment.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from jinja2 import Environment

from lisens.admin.i18n import translations
from lisens.catalog.translations import CatalogTexts, english_texts, load_texts
from lisens.domain.names import SUPEROFFICE, plan_parts


def _module(name: str) -> str | None:
    """The module name of a SuperOffice license written `superoffice.x` or `x`; None for a partner's license."""
    owner, dot, module = name.rpartition(".")
    if not dot:
        return name
    return module if owner.upper() == SUPEROFFICE else None


class PanelTexts:
    """The texts of one language."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.gettext: Callable[[str], str] = translations(lang).gettext
        self.catalog: CatalogTexts | None = load_texts(lang)

    def license(self, name: str, english: str | None = None) -> str:
        """A module license's description (`english` is what the caller has: a partner license's own)."""
        module = _module(name)
        source = english_texts().licenses.get(module or "")
        text = self.catalog.licenses.get(module or "") if self.catalog else None
        if text is not None:
            return text.description
        return english or (source[0] if source else name)

    def tooltip(self, name: str) -> str:
        """A module license's tooltip, or the empty text when it has none."""
        module = _module(name) or ""
        text = self.catalog.licenses.get(module) if self.catalog else None
        if text is not None and text.tooltip:
            return text.tooltip
        source = english_texts().licenses.get(module)
        return (source[1] or "") if source else ""

    def plan(self, key: str | None, english: str | None = None) -> str:
        """A plan's name; a combined plan `a+b` joins its parts' names."""
        if not key:
            return english or ""
        parts = plan_parts(key)
        if len(parts) > 1:
            return " + ".join(self.plan(part) for part in parts)
        text = self.catalog.plans.get(key) if self.catalog else None
        if text is not None:
            return text.name
        source = english_texts().plans.get(key)
        return english or (source[0] if source else key)

    def addon(self, key: str) -> str:
        text = self.catalog.addons.get(key) if self.catalog else None
        if text is not None:
            return text.name
        source = english_texts().addons.get(key)
        return source[0] if source else key

    def item(self, key: str) -> str:
        """An invoice line's item: a plan, an add-on or a license."""
        english = english_texts()
        if all(part in english.plans for part in plan_parts(key)):
            return self.plan(key)
        if key in english.addons:
            return self.addon(key)
        module = _module(key)
        if module is not None and module in english.licenses:
            return self.license(key)
        return key

    def grant(self, grant: Mapping[str, Any] | Any) -> str:
        """What grants a license (`Grant.describe()` of the domain, in the page's language); the grant as
        the services answer it (a model) or as JSON."""
        _ = self.gettext
        fields = grant if isinstance(grant, Mapping) else grant.model_dump()
        kind, source = str(fields.get("kind", "")), str(fields.get("source", ""))
        if kind == "generation":
            return _("every tenant of generation %(generation)s") % {"generation": source}
        if kind == "plan":
            return _("plan %(plan)s") % {"plan": self.plan(source)}
        if kind == "addon":
            return _("add-on %(addon)s") % {"addon": self.addon(source)}
        if kind == "system":
            return _("a system license bought by the tenant")
        if kind == "direct":
            return _("assigned to the user directly")
        return str(fields.get("text", source))

    def grants(self, grants: Iterable[Mapping[str, Any] | Any]) -> str:
        return ", ".join(self.grant(g) for g in grants)

    def error_values(self, details: Mapping[str, Any]) -> dict[str, Any]:
        """An error's values for its translated message: a plan named by the domain (`plan KEY`, with its
        plan license in brackets) is named by its plan name."""
        values = dict(details)
        label = values.get("license")
        found = re.fullmatch(r"plan (\S+)( \([^)]*\))?", label) if isinstance(label, str) else None
        if found:
            values["license"] = self.gettext("plan %(plan)s") % {"plan": self.plan(found.group(1))} + (
                found.group(2) or ""
            )
        return values

    def status(self, value: object) -> str:
        """A license or subscription status (LicenseStatus)."""
        _ = self.gettext
        known = {
            "NOT_STARTED": _("not started"),
            "ACTIVE": _("active"),
            "WARNING": _("renewal due"),
            "IN_GRACE": _("in grace period"),
            "EXPIRED": _("expired"),
        }
        text = str(getattr(value, "value", value))
        return known.get(text, text)


def install(env: Environment, lang: str) -> None:
    """Register the filters the templates use: `license_text`, `license_tooltip`, `plan_name`, `addon_name`,
    `item_name`, `grant_text`, `grants_text` and `status_text`."""
    texts = PanelTexts(lang)
    env.globals["texts"] = texts
    env.filters.update(
        license_text=texts.license,
        license_tooltip=texts.tooltip,
        plan_name=texts.plan,
        addon_name=texts.addon,
        item_name=texts.item,
        grant_text=texts.grant,
        grants_text=texts.grants,
        status_text=texts.status,
    )
