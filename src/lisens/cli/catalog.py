"""`lisens catalog …`: read the packaging catalogs, combine plans, explain licenses, validate files."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from lisens.catalog.views import (
    addon_view,
    decision_view,
    feature_view,
    generation_view,
    license_view,
    plan_view,
)
from lisens.cli.lazy import lazy_module
from lisens.cli.output import console, print_json, table
from lisens.domain.engine import combinations, combine, require_plan, resolve, tenant_licenses
from lisens.domain.errors import InvalidInput
from lisens.domain.model import Catalog, LicenseType

app = typer.Typer(
    help="The packaging catalogs: generations, plans, licenses, features and add-ons.", no_args_is_help=True
)

Generation = Annotated[str, typer.Option("--generation", "-g", help="Packaging generation: 7, 9 or 11.")]
Json = Annotated[bool, typer.Option("--json", help="Print JSON for machines.")]
CatalogDir = Annotated[
    Path | None,
    typer.Option(
        "--catalog-dir", envvar="LISENS_CATALOG_DIR", help="A catalog directory to use instead of the shipped one."
    ),
]
Lang = Literal["en", "sv", "de"]

if TYPE_CHECKING:
    from lisens.catalog import loader, prices
else:
    loader = lazy_module("lisens.catalog.loader")
    prices = lazy_module("lisens.catalog.prices")


def _catalog(generation: str, directory: Path | None) -> Catalog:
    return loader.load_catalog(generation, directory)


@app.command("generations")
def generations(as_json: Json = False, catalog_dir: CatalogDir = None) -> None:
    """List the packaging generations."""
    catalogs = loader.load_catalogs(catalog_dir)
    if as_json:
        print_json([generation_view(c) for c in catalogs.values()])
        return
    rows = [
        (
            c.generation,
            c.name,
            ", ".join(c.plans) or "(individual licenses)",
            "yes" if c.combination else "no",
            c.description,
        )
        for c in catalogs.values()
    ]
    console.print(table("Packaging generations", ["generation", "name", "plans", "multi-plan", "description"], rows))


@app.command("plans")
def plans(generation: Generation, as_json: Json = False, catalog_dir: CatalogDir = None) -> None:
    """List the user plans of a generation and what each issues."""
    catalog = _catalog(generation, catalog_dir)
    views = [plan_view(catalog, p) for p in catalog.plans.values()]
    if as_json:
        print_json(views)
        return
    if not views:
        console.print(
            f"Generation {catalog.generation} has no user plans: licenses are sold one by one "
            "(see `lisens catalog matrix`)."
        )
        return
    rows = [(v["key"], v["name"], v["plan_license"], len(v["licenses"]), v["provenance"]["kind"]) for v in views]
    console.print(
        table(
            f"Plans of generation {catalog.generation}", ["key", "name", "plan license", "licenses", "provenance"], rows
        )
    )


def _print_plan(view: dict[str, object]) -> None:
    console.print(f"[bold]{view['name']}[/bold] ({view['key']}), plan license {view['plan_license']}, ExtraFlags 1")
    console.print(f"ExtraInfo: {view['extra_info']}", markup=False, soft_wrap=True)
    provenance = view["provenance"]
    assert isinstance(provenance, dict)
    console.print(f"Provenance: {provenance['kind']}: {provenance['source']}", markup=False, soft_wrap=True)
    licenses = view["licenses"]
    system = view["system"]
    assert isinstance(licenses, list)
    assert isinstance(system, list)
    rows = [
        (name, "plan" if name == view["plan_license"] else ("system" if name in system else "user"))
        for name in licenses
    ]
    console.print(table(f"{len(rows)} licenses issued", ["license", "kind"], rows))


@app.command("plan")
def plan(
    key: Annotated[str, typer.Argument(help="Plan key, or a combined plan written a+b[+c].")],
    generation: Generation,
    as_json: Json = False,
    catalog_dir: CatalogDir = None,
) -> None:
    """Show one plan: its plan license, ExtraInfo and every license it issues."""
    catalog = _catalog(generation, catalog_dir)
    view = plan_view(catalog, require_plan(catalog, key))
    if as_json:
        print_json(view)
    else:
        _print_plan(view)


@app.command("combine")
def combine_command(
    keys: Annotated[list[str], typer.Argument(help="Two or three base plan keys.")],
    generation: Generation,
    as_json: Json = False,
    catalog_dir: CatalogDir = None,
) -> None:
    """Combine plans for a multi-plan user; exits 1 with INVALID_COMBINATION when they clash."""
    catalog = _catalog(generation, catalog_dir)
    if len(keys) < 2:
        raise InvalidInput(f"combine needs two or three plans, got {len(keys)}: {' '.join(keys)}", plans=keys)
    view = plan_view(catalog, combine(catalog, keys))
    if as_json:
        print_json(view)
    else:
        _print_plan(view)


@app.command("combinations")
def combinations_command(generation: Generation, as_json: Json = False, catalog_dir: CatalogDir = None) -> None:
    """List every legal multi-plan combination of a generation."""
    catalog = _catalog(generation, catalog_dir)
    views = [plan_view(catalog, p) for p in combinations(catalog)]
    if as_json:
        print_json(views)
        return
    rows = [(v["key"], v["plan_license"], len(v["licenses"]), v["provenance"]["kind"]) for v in views]
    console.print(
        table(
            f"{len(rows)} combinations in generation {catalog.generation}",
            ["plans", "plan license", "licenses", "provenance"],
            rows,
        )
    )


@app.command("licenses")
def licenses(
    generation: Annotated[str, typer.Option("--generation", "-g", help="Packaging generation: 7, 9 or 11.")] = "11",
    license_type: Annotated[
        Literal["system", "site", "user"] | None, typer.Option("--type", help="Only licenses of this type.")
    ] = None,
    as_json: Json = False,
    catalog_dir: CatalogDir = None,
) -> None:
    """List the module licenses as a generation ships them."""
    catalog = _catalog(generation, catalog_dir)
    wanted = None if license_type is None else LicenseType[license_type.upper()]
    selected = [lic for lic in catalog.licenses.values() if wanted is None or lic.type is wanted]
    if as_json:
        print_json([license_view(lic) for lic in selected])
        return
    rows = [
        (
            lic.name,
            lic.type.label,
            "yes" if lic.hidden else "",
            "yes" if lic.unrestricted else "",
            lic.prerequisite,
            int(lic.extra_flags) or "",
            lic.description,
        )
        for lic in selected
    ]
    console.print(
        table(
            f"{len(rows)} module licenses, generation {catalog.generation}",
            ["name", "type", "hidden", "unrestricted", "prerequisite", "flags", "description"],
            rows,
        )
    )


@app.command("features")
def features(
    generation: Generation,
    lang: Annotated[Lang, typer.Option("--lang", help="Language of the feature names.")] = "en",
    as_json: Json = False,
    catalog_dir: CatalogDir = None,
) -> None:
    """List the features of a generation's plans and the module licenses that implement each."""
    catalog = _catalog(generation, catalog_dir)
    views = [feature_view(f, lang) for f in catalog.features]
    if as_json:
        print_json(views)
        return
    rows = [(v["group"], ("  " if v["parent"] else "") + v["name"], ", ".join(v["licenses"])) for v in views]
    console.print(
        table(f"Features of generation {catalog.generation} ({lang})", ["group", "feature", "licenses"], rows)
    )


@app.command("addons")
def addons(generation: Generation, as_json: Json = False, catalog_dir: CatalogDir = None) -> None:
    """List the add-on subscriptions of a generation and the system licenses each turns on."""
    catalog = _catalog(generation, catalog_dir)
    views = [addon_view(a) for a in catalog.addons.values()]
    if as_json:
        print_json(views)
        return
    rows = [(v["key"], v["name"], ", ".join(v["system"]), v["requires"]) for v in views]
    console.print(
        table(f"Add-ons of generation {catalog.generation}", ["key", "name", "system licenses", "requires"], rows)
    )


@app.command("matrix")
def matrix(generation: Generation, as_json: Json = False, catalog_dir: CatalogDir = None) -> None:
    """Plans x module licenses: which plan issues which license (check licenses, never plan names)."""
    catalog = _catalog(generation, catalog_dir)
    plan_list = list(catalog.plans.values())
    if not plan_list:
        sold = [catalog.licenses[name] for name in catalog.sold]
        if as_json:
            print_json({"generation": catalog.generation, "plans": [], "sold": [license_view(lic) for lic in sold]})
            return
        rows = [(lic.name, lic.type.label, lic.prerequisite or "", "yes" if lic.unrestricted else "") for lic in sold]
        console.print(
            table(
                f"Generation {catalog.generation} has no plans; licenses sold one by one",
                ["license", "type", "prerequisite", "unrestricted"],
                rows,
            )
        )
        return
    names = sorted(
        {name for p in plan_list for name in p.licenses},
        key=lambda n: (catalog.licenses[n].type is not LicenseType.USER, n),
    )
    if as_json:
        print_json(
            {
                "generation": catalog.generation,
                "plans": [p.key for p in plan_list],
                "rows": [
                    {
                        "license": name,
                        "type": catalog.licenses[name].type.label,
                        "plans": [p.key for p in plan_list if name in p.licenses],
                    }
                    for name in names
                ],
            }
        )
        return
    cells = [
        (name, catalog.licenses[name].type.label, *("●" if name in p.licenses else "" for p in plan_list))
        for name in names
    ]
    # Plan columns are numbered so the table fits a terminal; the caption says which is which.
    matrix_table = table(
        f"Generation {catalog.generation}: plans x licenses",
        ["license", "type", *(str(n) for n, _ in enumerate(plan_list, start=1))],
        cells,
    )
    matrix_table.columns[0].no_wrap = True
    matrix_table.caption = "  ".join(f"{n} = {p.key}" for n, p in enumerate(plan_list, start=1))
    console.print(matrix_table)


@app.command("explain")
def explain(
    license_name: Annotated[str, typer.Argument(metavar="LICENSE", help="owner.module or a bare module name.")],
    generation: Generation,
    plan_key: Annotated[str | None, typer.Option("--plan", help="The user's plan (a+b for a multi-plan user).")] = None,
    addon: Annotated[list[str] | None, typer.Option("--addon", help="An add-on the tenant has.")] = None,
    direct: Annotated[list[str] | None, typer.Option("--license", help="A user license assigned directly.")] = None,
    as_json: Json = False,
    catalog_dir: CatalogDir = None,
) -> None:
    """Would a user with this plan hold LICENSE? Says what grants it, or what would. Exits 1 when not held."""
    catalog = _catalog(generation, catalog_dir)
    user_plan = require_plan(catalog, plan_key) if plan_key else None
    for name in direct or []:
        catalog.require_license(name)
    tenant = tenant_licenses(catalog, plans=[user_plan] if user_plan else [], addons=addon or [])
    decision = resolve(catalog, tenant, plan=user_plan, direct=direct or []).explain(license_name)
    if as_json:
        print_json(decision_view(decision))
    else:
        verdict = "held" if decision.held else f"not held ({decision.reason})"
        console.print(f"{decision.license}: {verdict}", markup=False)
        for grant in decision.granted_by:
            console.print(f"  granted by {grant.describe()}", markup=False)
        for grant in decision.would_grant:
            console.print(f"  would be granted by {grant.describe()}", markup=False)
    if not decision.held:
        raise typer.Exit(1)


@app.command("validate")
def validate(
    path: Annotated[Path, typer.Argument(help="A catalog file or a catalog directory.")],
    as_json: Json = False,
) -> None:
    """Validate a catalog file, a price list or a directory: schema, every cross-reference, every price."""
    summary = prices.validate_catalog(path)
    if as_json:
        print_json({"valid": True, **summary})
    else:
        details = ", ".join(f"{k}: {v}" for k, v in summary.items() if k not in ("path", "kind"))
        console.print(f"{path}: valid {summary['kind']} catalog ({details})", markup=False)
