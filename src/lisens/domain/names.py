"""License names: `owner.module` full names, compared case-insensitively; a bare module is SUPEROFFICE's."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import NamedTuple

from lisens.domain.errors import InvalidLicenseName

SUPEROFFICE = "SUPEROFFICE"

# Owner names: upper case A-Z and 0-9 (reference §0, ModuleOwner.ownerName), compared case-insensitively.
OWNER_RE = re.compile(r"[A-Za-z0-9]+")
# Module names in set= lists and in new catalogs: lower case letters, digits and hyphens.
# Historic module names may hold a space (`superlicense-ej-customer centre`); they are kept as data.
LEGACY_MODULE_RE = re.compile(r"[a-z0-9](?:[a-z0-9 -]*[a-z0-9])?")


class LicenseName(NamedTuple):
    owner: str  # upper case
    module: str  # lower case

    @property
    def full(self) -> str:
        """The canonical key: `owner.module`, all lower case."""
        return f"{self.owner.lower()}.{self.module}"

    def __str__(self) -> str:
        return self.full


def parse_license_name(text: str) -> LicenseName:
    """Parse `owner.module` or a bare `module`; refuse anything else with INVALID_LICENSE_NAME."""
    owner, dot, module = text.partition(".")
    if not dot:
        owner, module = SUPEROFFICE, text
    module = module.lower()
    if not OWNER_RE.fullmatch(owner):
        raise InvalidLicenseName(f"license name {text!r}: owner {owner!r} must be letters A-Z and digits", name=text)
    if not LEGACY_MODULE_RE.fullmatch(module):
        raise InvalidLicenseName(
            f"license name {text!r}: module {module!r} must be letters, digits and hyphens", name=text
        )
    return LicenseName(owner.upper(), module)


def canonical(text: str) -> str:
    """Canonical key for a license name without validation: lower case, owner SUPEROFFICE by default.

    Used on the hot path of checks, where a malformed name is simply not held.
    """
    lowered = text.lower()
    if "." in lowered:
        return lowered
    return "superoffice." + lowered


# Plan keys and seat items: a plan key is `a` or a combined `a+b[+c]` (parts in the order of their
# solutions, as the catalog writes them); a seat item is a plan key or a full license name
# (`owner.module`, the only form with a dot). Parsed here and only here.
PLAN_SEPARATOR = "+"


def plan_parts(key: str) -> tuple[str, ...]:
    """The base plans of a plan key (`a+b` -> ("a", "b")), blanks dropped."""
    return tuple(part.strip() for part in key.split(PLAN_SEPARATOR) if part.strip())


def plan_key(parts: Iterable[str]) -> str:
    """A key naming the plans `parts` (sorted by name, joined with `+`); `require_plan` reads it in any
    order and answers the combined plan under its catalog key."""
    return PLAN_SEPARATOR.join(sorted(parts))


def is_combined(key: str) -> bool:
    return PLAN_SEPARATOR in key


def is_license_item(item: str) -> bool:
    """Whether a seat item is a license (`owner.module`), not a plan key."""
    return "." in item


def seat_kind(item: str) -> str:
    """`license` or `plan`, the kind a seat row of `item` has."""
    return "license" if is_license_item(item) else "plan"


def is_superoffice_item(item: str) -> bool:
    """Plans and SUPEROFFICE's licenses: what the vendor's packages and invoices carry (partner owners'
    licenses are theirs)."""
    return not is_license_item(item) or item.startswith("superoffice.")
