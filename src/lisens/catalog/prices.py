"""Price lists as data: one `prices-G.toml` per generation, checked against that generation's catalog."""

from __future__ import annotations

import tomllib
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lisens.catalog.loader import DATA_DIR, MODULE_LICENSES_FILE, load_catalog, read_toml, validate_path
from lisens.domain.billing import PriceList
from lisens.domain.engine import combinations
from lisens.domain.errors import CatalogError, Code
from lisens.domain.model import LicenseType

Amount = Annotated[str, Field(pattern=r"^\d{1,9}\.\d{2}$")]


class _Header(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    generation: str
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    example: bool = False
    note: str = ""


class _PriceFile(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    price_list: _Header
    monthly: dict[str, Amount]
    addons: dict[str, Amount] = {}


def load_price_list(generation: str, directory: Path | None = None, *, catalog_dir: Path | None = None) -> PriceList:
    """The price list of `generation` from `directory` (the shipped example prices by default)."""
    path = (directory or DATA_DIR) / f"prices-{generation}.toml"
    return _load(path.resolve(), catalog_dir.resolve() if catalog_dir else None)


def load_price_file(path: Path, catalog_dir: Path | None = None) -> PriceList:
    """A price list from any file (a what-if), validated as an installed one is."""
    return _load.__wrapped__(path.resolve(), catalog_dir.resolve() if catalog_dir else None)


def price_list_of(raw: dict[str, Any], source: str, catalog_dir: Path | None = None) -> PriceList:
    """A price list given as data (a what-if sent with a request), validated as an installed one is."""
    return _validated(raw, source, catalog_dir.resolve() if catalog_dir else None)


@cache
def _load(path: Path, catalog_dir: Path | None) -> PriceList:
    try:
        raw = read_toml(path)
    except FileNotFoundError:
        raise CatalogError(f"{path}: no price list file", code=Code.NO_PRICE_LIST, file=str(path)) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CatalogError(f"{path}: not valid TOML: {exc}", file=str(path)) from None
    return _validated(raw, str(path), catalog_dir)


def _validated(raw: dict[str, Any], path: str, catalog_dir: Path | None) -> PriceList:
    try:
        parsed = _PriceFile.model_validate(raw)
    except ValidationError as exc:
        problems = [f"{'.'.join(map(str, e['loc']))}: {e['msg']} (got {e.get('input')!r})" for e in exc.errors()]
        raise CatalogError(f"{path}: " + "; ".join(problems), file=str(path), problems=problems) from None
    catalog = load_catalog(parsed.price_list.generation, catalog_dir)
    expected = {plan.key for plan in catalog.plans.values()} | {plan.key for plan in combinations(catalog)}
    expected |= {
        catalog.licenses[name].full_name for name in catalog.sold if catalog.licenses[name].type is LicenseType.USER
    }
    problems = [f"monthly: no price for {key!r}" for key in sorted(expected - set(parsed.monthly))]
    problems += [
        f"monthly: {key!r} is no plan, combination or sold user license"
        for key in sorted(set(parsed.monthly) - expected)
    ]
    problems += [f"addons: no price for {key!r}" for key in sorted(set(catalog.addons) - set(parsed.addons))]
    problems += [
        f"addons: {key!r} is no add-on of the generation" for key in sorted(set(parsed.addons) - set(catalog.addons))
    ]
    if problems:
        raise CatalogError(f"{path}: " + "; ".join(problems), file=path, problems=problems)
    return PriceList(
        generation=catalog.generation,
        currency=parsed.price_list.currency,
        monthly={key: Decimal(value) for key, value in parsed.monthly.items()},
        addons={key: Decimal(value) for key, value in parsed.addons.items()},
        example=parsed.price_list.example,
        source=path,
    )


def validate_catalog(path: Path) -> dict[str, Any]:
    """Validate a catalog directory, a catalog file or a price list (`prices-G.toml`); returns a summary.

    A directory's price lists are validated too: a missing price names the plan, license or add-on."""
    path = path.resolve() if path.exists() else path
    if path.is_dir():
        summary = validate_path(path)
        priced = {}
        for prices in sorted(path.glob("prices-*.toml")):
            found = _load.__wrapped__(prices, path)
            priced[found.generation] = len(found.monthly) + len(found.addons)
        summary["price_lists"] = priced
        return summary
    if path.name.startswith("prices-") and path.suffix == ".toml":
        catalog_dir = path.parent if (path.parent / MODULE_LICENSES_FILE).exists() else None
        found = _load.__wrapped__(path, catalog_dir)
        return {
            "path": str(path),
            "kind": "price list",
            "generation": found.generation,
            "prices": len(found.monthly) + len(found.addons),
        }
    return validate_path(path)
