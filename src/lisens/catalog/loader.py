"""Load catalog files into domain `Catalog` values, checking the schema and every cross-reference.

A broken file raises CATALOG_INVALID naming the file, the entry and the bad value. The shipped
catalog lives in `data/`: `module-licenses.toml`, `addons.toml` and one `generation-G.toml` each.
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from itertools import combinations as subsets
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from lisens.catalog.schema import (
    AddonEntry,
    AddonsFile,
    GenerationFile,
    LicenseEntry,
    ModuleLicensesFile,
    ProvenanceEntry,
)
from lisens.domain.engine import by_solution_order, combine, solution_clash
from lisens.domain.errors import CatalogError, Code, ExtraInfoError, UnknownGeneration
from lisens.domain.extrainfo import parse_extra_info
from lisens.domain.index import index_catalog
from lisens.domain.model import (
    Addon,
    Catalog,
    CombinationRule,
    ExtraFlags,
    Feature,
    LicenseType,
    ModuleLicense,
    Plan,
    Provenance,
    UserType,
)
from lisens.domain.names import is_combined

DATA_DIR = Path(__file__).parent / "data"
MODULE_LICENSES_FILE = "module-licenses.toml"
ADDONS_FILE = "addons.toml"
GENERATION_GLOB = "generation-*.toml"

M = TypeVar("M", bound=BaseModel)

# Catalog files are written by people and may come from anywhere (`lisens catalog validate`): they
# are refused, with a code, before they can exhaust memory, the stack or the terminal. The shipped
# files are at most 64 KB, 4 levels deep, with strings of at most 966 characters (a quoted table).
MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_DEPTH = 16  # tables and arrays inside each other; the top-level table is level 1
MAX_STRING = 10_000  # characters in one string value or key
SHOWN = 80  # characters of a bad value quoted in a message


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= SHOWN else text[: SHOWN - 1] + "…"


def read_toml(path: Path) -> dict[str, Any]:
    """Parse one catalog (or price list, or mapping) file within the limits above.

    Raises FileNotFoundError for a missing file (callers name what was missing), CatalogError
    otherwise: CATALOG_FILE_TOO_LARGE, CATALOG_TOO_DEEP, CATALOG_VALUE_TOO_LONG, CATALOG_INVALID.
    """
    if path.exists() and not path.is_file():
        raise CatalogError(f"{path}: not a regular file", file=str(path))
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise CatalogError(f"{path}: cannot be read: {exc.strerror}", file=str(path)) from None
    if len(data) > MAX_FILE_BYTES:
        raise CatalogError(
            f"{path}: larger than {MAX_FILE_BYTES} bytes",
            code=Code.CATALOG_FILE_TOO_LARGE,
            file=str(path),
            limit=MAX_FILE_BYTES,
        )
    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CatalogError(f"{path}: not valid TOML: {exc}", file=str(path)) from None
    except RecursionError:  # the parser recurses once per nested array or inline table
        raise _too_deep(path, "file") from None
    _check_shape(path, raw)
    return raw


def _too_deep(path: Path, where: str) -> CatalogError:
    return CatalogError(
        f"{path}: {where}: values nested more than {MAX_DEPTH} levels deep",
        code=Code.CATALOG_TOO_DEEP,
        file=str(path),
        where=where,
        limit=MAX_DEPTH,
    )


def _check_shape(path: Path, raw: dict[str, Any]) -> None:
    """Depth and string length of every value, walked without recursion."""
    stack: list[tuple[Any, str, int]] = [(raw, "file", 1)]
    while stack:
        node, where, depth = stack.pop()
        if isinstance(node, dict | list) and depth > MAX_DEPTH:
            raise _too_deep(path, where)
        items: Iterable[tuple[Any, Any]]
        if isinstance(node, dict):
            for key in node:
                _check_string(path, f"{where} key", key)
            items = ((f"{where}.{key}" if where != "file" else str(key), value) for key, value in node.items())
        elif isinstance(node, list):
            items = ((f"{where}[{index}]", value) for index, value in enumerate(node))
        else:
            _check_string(path, where, node)
            continue
        for child_where, value in items:
            stack.append((value, child_where[: SHOWN * 2], depth + 1))


def _check_string(path: Path, where: str, value: Any) -> None:
    if isinstance(value, str) and len(value) > MAX_STRING:
        raise CatalogError(
            f"{path}: {where}: a string of {len(value)} characters, more than {MAX_STRING}",
            code=Code.CATALOG_VALUE_TOO_LONG,
            file=str(path),
            where=where,
            length=len(value),
            limit=MAX_STRING,
        )


class _Problems:
    """Collects every cross-reference problem of one file so the user sees them all at once."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.items: list[str] = []

    def add(self, entry: str, message: str) -> None:
        self.items.append(f"{entry}: {message}")

    def raise_if_any(self) -> None:
        if self.items:
            raise CatalogError(f"{self.path}: " + "; ".join(self.items), file=str(self.path), problems=list(self.items))


def _read(path: Path, model: type[M]) -> M:
    try:
        raw = read_toml(path)
    except FileNotFoundError:
        raise CatalogError(f"{path}: no such catalog file", file=str(path)) from None
    return _validate(path, raw, model)


def _validate(path: Path, raw: Mapping[str, Any], model: type[M]) -> M:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems = [_describe_schema_error(raw, error) for error in exc.errors()]
        raise CatalogError(f"{path}: " + "; ".join(problems), file=str(path), problems=problems) from None


def _describe_schema_error(raw: Mapping[str, Any], error: Any) -> str:
    """`plan[2] (key='sales-premium'): field 'extra_info': Input should be a valid string (got 5)`."""
    loc: Sequence[Any] = error["loc"]
    entry = ""
    node: Any = raw
    field_parts: list[str] = []
    for index, part in enumerate(loc):
        if isinstance(part, int) and index > 0 and not entry:
            entry = f"{loc[index - 1]}[{part}]"
            if isinstance(node, list) and part < len(node) and isinstance(node[part], dict):
                label = node[part].get("key") or node[part].get("name") or node[part].get("plans")
                if label is not None:
                    entry += f" ({'key' if 'key' in node[part] else 'name'}={_shown(label)})"
        elif entry or index > 0 or not isinstance(loc[0], str) or len(loc) == 1:
            field_parts.append(str(part))
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            node = None
    if not entry:
        entry = str(loc[0]) if loc else "file"
        field_parts = [str(p) for p in loc[1:]]
    where = f"{entry}: field {'.'.join(field_parts)!r}" if field_parts else entry
    got = error.get("input")
    shown = "" if isinstance(got, dict | list) else f" (got {_shown(got)})"
    return f"{where}: {error['msg']}{shown}"


def _provenance(entry: ProvenanceEntry) -> Provenance:
    return Provenance(kind=entry.kind, source=entry.source, quotes=tuple(entry.quote))


def _check_quoted(problems: _Problems, where: str, entry: ProvenanceEntry) -> None:
    """A documented entry quotes the source text it rests on; without a quote it is our reading."""
    if entry.kind == "documented" and not entry.quote:
        problems.add(where, "documented provenance needs a quote of the source text (or kind = 'derived')")


def _module_license(entry: LicenseEntry, sort_order: int) -> ModuleLicense:
    return ModuleLicense(
        owner=entry.owner,
        name=entry.name.lower(),
        type={"system": LicenseType.SYSTEM, "site": LicenseType.SITE, "user": LicenseType.USER}[entry.type],
        description=entry.description,
        tooltip=entry.tooltip,
        unrestricted=entry.unrestricted,
        hidden=entry.hidden,
        prerequisite=entry.prerequisite,
        allowed_user_types=frozenset(UserType(t) for t in entry.allowed_user_types),
        sort_order=sort_order,
        constants=tuple(entry.constants),
        note=entry.note,
        provenance=_provenance(entry.provenance),
    )


def load_module_licenses(path: Path) -> dict[str, ModuleLicense]:
    parsed = _read(path, ModuleLicensesFile)
    problems = _Problems(path)
    licenses: dict[str, ModuleLicense] = {}
    for index, entry in enumerate(parsed.license):
        where = f"license[{index}] (name={entry.name!r})"
        if entry.name != entry.name.lower():
            problems.add(where, f"module name {entry.name!r} must be lower case")
        if entry.name in licenses:
            problems.add(where, f"module name {entry.name!r} is listed twice")
        if entry.type != "user" and entry.allowed_user_types:
            problems.add(where, f"allowed_user_types {entry.allowed_user_types!r} only applies to user licenses")
        if entry.type == "user" and not entry.allowed_user_types:
            problems.add(where, "a user license needs allowed_user_types")
        licenses[entry.name] = _module_license(entry, sort_order=index + 1)
    for index, entry in enumerate(parsed.license):
        if entry.prerequisite is not None and entry.prerequisite not in licenses:
            problems.add(
                f"license[{index}] (name={entry.name!r})",
                f"prerequisite {entry.prerequisite!r} is not a module license",
            )
    for cycle in _cycles({name: lic.prerequisite for name, lic in licenses.items()}):
        problems.add("license", f"prerequisite cycle: {' -> '.join(cycle)} (no license could ever be turned on)")
    problems.raise_if_any()
    return licenses


def _cycles(edges: Mapping[str, str | None]) -> list[list[str]]:
    """The cycles of a graph in which each node points to at most one other (prerequisite, requires, parent).

    Each is listed once, from its smallest name and back to it: `['a', 'b', 'a']`.
    """
    found: list[list[str]] = []
    done: set[str] = set()
    for start in sorted(edges):
        path: list[str] = []
        on_path: dict[str, int] = {}
        node: str | None = start
        while node is not None and node in edges and node not in done:
            if node in on_path:
                loop = path[on_path[node] :]
                first = loop.index(min(loop))
                found.append(loop[first:] + loop[:first] + [min(loop)])
                break
            on_path[node] = len(path)
            path.append(node)
            node = edges[node]
        done.update(path)
    return found


def load_addons(path: Path, licenses: Mapping[str, ModuleLicense]) -> dict[str, Addon]:
    parsed = _read(path, AddonsFile)
    problems = _Problems(path)
    addons: dict[str, Addon] = {}
    for index, entry in enumerate(parsed.addon):
        where = f"addon[{index}] (key={entry.key!r})"
        if entry.key in addons:
            problems.add(where, f"key {entry.key!r} is listed twice")
        _check_system(problems, where, "system", entry.system, licenses)
        _check_quoted(problems, where, entry.provenance)
        addons[entry.key] = _addon(entry)
    for index, entry in enumerate(parsed.addon):
        if entry.requires is not None and entry.requires not in addons:
            problems.add(f"addon[{index}] (key={entry.key!r})", f"requires {entry.requires!r}, which is not an add-on")
    for cycle in _cycles({key: addon.requires for key, addon in addons.items()}):
        problems.add("addon", f"requires cycle: {' -> '.join(cycle)} (none of them could ever be sold)")
    problems.raise_if_any()
    return addons


def _addon(entry: AddonEntry) -> Addon:
    return Addon(
        key=entry.key,
        name=entry.name,
        description=entry.description,
        system=tuple(entry.system),
        requires=entry.requires,
        provenance=_provenance(entry.provenance),
    )


def _check_system(
    problems: _Problems, where: str, field: str, names: Iterable[str], licenses: Mapping[str, ModuleLicense]
) -> None:
    for name in names:
        found = licenses.get(name)
        if found is None:
            problems.add(where, f"{field} names {name!r}, which is not a module license")
        elif found.type is LicenseType.USER:
            problems.add(where, f"{field} names {name!r}, which is a user license, not a system license")


def _parse_set(problems: _Problems, where: str, text: str, licenses: Mapping[str, ModuleLicense]) -> tuple[str, ...]:
    try:
        names = parse_extra_info(text, known=licenses)
    except ExtraInfoError as exc:
        problems.add(where, f"extra_info {text!r}: {exc.code}: {exc.message}")
        return ()
    for name in names:
        if licenses[name].type is not LicenseType.USER:
            problems.add(where, f"extra_info lists {name!r}, which is not a user license (set= holds user licenses)")
    return names


def load_generation(path: Path, licenses: Mapping[str, ModuleLicense], addons: Mapping[str, Addon]) -> Catalog:
    parsed = _read(path, GenerationFile)
    problems = _Problems(path)
    header = parsed.generation
    _check_system(problems, "generation", "tenant_system", header.tenant_system, licenses)
    _check_quoted(problems, "generation", header.provenance)
    for key in header.addons:
        if key not in addons:
            problems.add("generation", f"addons names {key!r}, which is not an add-on of {ADDONS_FILE}")
    for key in header.addons:
        required = addons[key].requires if key in addons else None
        if required is not None and required not in header.addons:
            problems.add("generation", f"add-on {key!r} requires {required!r}, which this generation does not sell")
    settings = parsed.licenses
    for field, names in (
        ("visible", settings.visible),
        ("hidden", settings.hidden),
        ("sold", settings.sold),
        ("tier_markers", settings.tier_markers),
        ("markers", settings.markers),
    ):
        for name in names:
            if name not in licenses:
                problems.add("licenses", f"{field} names {name!r}, which is not a module license")
    _check_system(problems, "licenses", "tier_markers", settings.tier_markers, licenses)

    solutions = tuple(parsed.combinations.solutions) if parsed.combinations else ()
    plans: dict[str, Plan] = {}
    for index, entry in enumerate(parsed.plan):
        where = f"plan[{index}] (key={entry.key!r})"
        if entry.key in plans:
            problems.add(where, f"key {entry.key!r} is listed twice")
        if is_combined(entry.key):
            problems.add(where, f"key {entry.key!r} may not hold '+', which joins combined plans")
        plan_license = licenses.get(entry.plan_license)
        if plan_license is None:
            problems.add(where, f"plan_license {entry.plan_license!r} is not a module license")
        elif plan_license.type is not LicenseType.USER:
            problems.add(where, f"plan_license {entry.plan_license!r} is not a user license")
        _check_system(problems, where, "system", entry.system, licenses)
        _check_quoted(problems, where, entry.provenance)
        user = _parse_set(problems, where, entry.extra_info, licenses)
        if solutions and entry.solution not in solutions:
            problems.add(where, f"solution {entry.solution!r} is not one of {list(solutions)}")
        if solutions and entry.tier is None:
            problems.add(where, "a plan of a combining generation needs a tier")
        plans[entry.key] = Plan(
            key=entry.key,
            name=entry.name,
            description=entry.description or entry.name,
            plan_license=entry.plan_license,
            system=tuple(entry.system),
            user=user,
            solution=entry.solution,
            tier=entry.tier,
            unrestricted=entry.unrestricted,
            limits=dict(entry.limits),
            provenance=_provenance(entry.provenance),
        )
        unknown_limits = sorted(set(entry.limits) - {limit.key for limit in parsed.limit})
        if unknown_limits:
            problems.add(where, f"limits {unknown_limits!r} are not metrics of the generation's [[limit]] list")
    for key, plan in plans.items():
        issued = plan.licenses | set(header.tenant_system)
        for name in sorted(plan.licenses):
            prerequisite = licenses[name].prerequisite if name in licenses else None
            if prerequisite is not None and prerequisite not in issued:
                problems.add(f"plan {key!r}", f"{name!r} needs {prerequisite!r}, which the plan does not issue")

    rule = _combination_rule(parsed, problems, plans, licenses) if parsed.combinations else None
    if parsed.combinations is None and (parsed.combination or parsed.combination_license):
        problems.add("combinations", "combination entries need a [combinations] rule")
    problems.raise_if_any()

    features = _features(parsed, problems, plans, settings.sold, licenses)
    problems.raise_if_any()

    catalog = Catalog(
        generation=header.key,
        name=header.name,
        description=header.description,
        licenses={},
        plans=plans,
        addons={key: addons[key] for key in header.addons},
        features=features,
        tenant_system=tuple(header.tenant_system),
        provenance=_provenance(header.provenance),
        combination=rule,
        sold=tuple(settings.sold),
        tenant_plan=header.tenant_plan,
        limits={limit.key: limit.name for limit in parsed.limit},
    )
    markers = set(settings.markers) | set(settings.tier_markers) | set(catalog.plan_license_names)
    catalog = dataclasses.replace(catalog, markers=frozenset(markers))
    generation_licenses = _generation_licenses(catalog, parsed, licenses)
    return index_catalog(dataclasses.replace(catalog, licenses=_usable(catalog, generation_licenses)))


def _usable(catalog: Catalog, licenses: Mapping[str, ModuleLicense]) -> dict[str, ModuleLicense]:
    """The licenses a tenant of the generation can use: those whose chain of prerequisites can be met.

    A prerequisite can be met when the generation issues it (its tenants, plans, add-ons, or licenses
    sold one by one), when it is a system or site license (the vendor may add one to a tenant), or
    when it is a visible unrestricted user license (any administrator may assign it). Generation 11
    sells no `windows`, so `travel` (which needs it) and `remote-travel` (which needs travel) are not
    in its catalog: no package, panel or user card offers a license that could never work.
    """
    issued = set(catalog.tenant_system) | set(catalog.sold) | set(catalog.plan_license_names)
    for plan in catalog.plans.values():
        issued.update(plan.licenses)
    for addon in catalog.addons.values():
        issued.update(addon.system)

    def obtainable(name: str) -> bool:
        license_ = licenses[name]
        if name in issued or license_.type is not LicenseType.USER:
            return True
        return license_.unrestricted and not license_.hidden

    usable: dict[str, bool] = {}

    def check(name: str) -> bool:
        found = usable.get(name)
        if found is None:
            usable[name] = True  # prerequisite cycles are refused when the module licenses load
            prerequisite = licenses[name].prerequisite
            found = prerequisite is None or (
                prerequisite in licenses and obtainable(prerequisite) and check(prerequisite)
            )
            usable[name] = found
        return found

    return {name: license_ for name, license_ in licenses.items() if check(name)}


def _combination_rule(
    parsed: GenerationFile,
    problems: _Problems,
    plans: Mapping[str, Plan],
    licenses: Mapping[str, ModuleLicense],
) -> CombinationRule:
    assert parsed.combinations is not None
    _check_quoted(problems, "combinations", parsed.combinations.provenance)
    solutions = tuple(parsed.combinations.solutions)
    plan_licenses: dict[frozenset[str], str] = {}
    for index, entry in enumerate(parsed.combination_license):
        where = f"combination_license[{index}] (solutions={entry.solutions!r})"
        unknown = [s for s in entry.solutions if s not in solutions]
        if unknown:
            problems.add(where, f"solutions {unknown!r} are not in {list(solutions)}")
        key = frozenset(entry.solutions)
        if key in plan_licenses:
            problems.add(where, "these solutions already have a combined plan license")
        found = licenses.get(entry.plan_license)
        if found is None or found.type is not LicenseType.USER:
            problems.add(where, f"plan_license {entry.plan_license!r} is not a user license")
        plan_licenses[key] = entry.plan_license
    for size in range(2, len(solutions) + 1):
        for subset in subsets(solutions, size):
            if frozenset(subset) not in plan_licenses:
                problems.add("combination_license", f"no combined plan license for {' + '.join(subset)}")
    documented: dict[frozenset[str], Plan] = {}
    for index, combo in enumerate(parsed.combination):  # combinations stated verbatim in a source
        where = f"combination[{index}] (plans={combo.plans!r})"
        _check_quoted(problems, where, combo.provenance)
        parts = [plans.get(key) for key in combo.plans]
        missing = [key for key, part in zip(combo.plans, parts, strict=True) if part is None]
        if missing:
            problems.add(where, f"plans {missing!r} are not plans of this generation")
            continue
        known_parts = [part for part in parts if part is not None]
        if solution_clash(known_parts) is not None:
            problems.add(where, f"plans {combo.plans!r} take two tiers of one solution")
            continue
        ordered = by_solution_order(known_parts, solutions)
        user = _parse_set(problems, where, combo.extra_info, licenses)
        union = {name for part in known_parts for name in part.user}
        if user and set(user) != union:
            extra = sorted(set(user) - union)
            lacking = sorted(union - set(user))
            problems.add(
                where,
                f"extra_info is not the union of its plans: it adds {extra!r} and lacks {lacking!r}",
            )
        solution_set = frozenset(p.solution or "" for p in known_parts)
        documented[frozenset(combo.plans)] = Plan(
            key="+".join(p.key for p in ordered),
            name=combo.name,
            description=combo.description,
            plan_license=plan_licenses.get(solution_set, ""),
            system=tuple(dict.fromkeys(n for p in ordered for n in p.system)),
            user=user,
            parts=tuple(p.key for p in ordered),
            provenance=_provenance(combo.provenance),
        )
    return CombinationRule(
        solutions=solutions,
        plan_licenses=plan_licenses,
        documented=documented,
        provenance=_provenance(parsed.combinations.provenance),
    )


def _features(
    parsed: GenerationFile,
    problems: _Problems,
    plans: Mapping[str, Plan],
    sold: Sequence[str],
    licenses: Mapping[str, ModuleLicense],
) -> tuple[Feature, ...]:
    keys = {entry.key for entry in parsed.feature}
    seen: set[str] = set()
    tiered = [p for p in plans.values() if not p.unrestricted]
    features = []
    for index, entry in enumerate(parsed.feature):
        where = f"feature[{index}] (key={entry.key!r})"
        if entry.key in seen:
            problems.add(where, f"key {entry.key!r} is listed twice")
        seen.add(entry.key)
        _check_quoted(problems, where, entry.provenance)
        if entry.parent is not None and entry.parent not in keys:
            problems.add(where, f"parent {entry.parent!r} is not a feature key")
        if entry.group == "common":
            granting = tiered
        elif entry.group == "individual":
            granting = []
        elif entry.group in plans:
            granting = [plans[entry.group]]
        else:
            problems.add(where, f"group {entry.group!r} is not 'common', 'individual' or a plan key")
            continue
        for name in entry.licenses:
            if name not in licenses:
                problems.add(where, f"licenses names {name!r}, which is not a module license")
            elif entry.group == "individual" and name not in sold:
                problems.add(where, f"licenses names {name!r}, which this generation does not sell")
            elif any(name not in plan.licenses for plan in granting):
                lacking = [plan.key for plan in granting if name not in plan.licenses]
                problems.add(
                    where, f"licenses names {name!r}, which plan(s) {lacking!r} of group {entry.group!r} do not issue"
                )
        features.append(
            Feature(
                key=entry.key,
                group=entry.group,
                parent=entry.parent,
                names={"en": entry.en, "sv": entry.sv, "de": entry.de},
                licenses=tuple(entry.licenses),
                provenance=_provenance(entry.provenance),
            )
        )
    for cycle in _cycles({entry.key: entry.parent for entry in parsed.feature}):
        problems.add("feature", f"parent cycle: {' -> '.join(cycle)}")
    return tuple(features)


def _generation_licenses(
    catalog: Catalog, parsed: GenerationFile, base: Mapping[str, ModuleLicense]
) -> dict[str, ModuleLicense]:
    """The module licenses as this generation ships them: hidden, ExtraFlags and ExtraInfo applied."""
    settings = parsed.licenses
    plan_licenses = catalog.plan_license_names
    implied: set[str] = set()
    if settings.implied_hidden:
        for plan in catalog.plans.values():
            implied.update(plan.system, plan.user)
    hidden = (implied - plan_licenses - set(settings.visible)) | set(settings.hidden)
    markers = set(settings.tier_markers)
    showcase = _showcase_plans(catalog)
    result: dict[str, ModuleLicense] = {}
    for name, license_ in base.items():
        changes: dict[str, Any] = {}
        if name in hidden:
            changes["hidden"] = True
        elif name in settings.visible or name in plan_licenses:
            changes["hidden"] = False
        if name in plan_licenses:
            changes["extra_flags"] = ExtraFlags.PLAN
            shown = showcase.get(name)
            changes["extra_info"] = shown.extra_info if shown is not None else None
            if shown is not None and shown.unrestricted:
                changes["unrestricted"] = True
        elif name in markers:
            changes["extra_flags"] = ExtraFlags.TIER_MARKER
        result[name] = dataclasses.replace(license_, **changes) if changes else license_
    return result


def _showcase_plans(catalog: Catalog) -> dict[str, Plan]:
    """For each plan license, the plan whose ExtraInfo its row shows: the highest tier (the last in the
    file, by convention), as documented packages show the Premium variant."""
    chosen: dict[str, Plan] = {}
    for plan in catalog.plans.values():
        chosen[plan.plan_license] = plan
    rule = catalog.combination
    if rule is not None:
        for solutions, plan_license in rule.plan_licenses.items():
            tops = [chosen[p.plan_license].key for p in catalog.plans.values() if p.solution in solutions]
            chosen[plan_license] = combine(catalog, list(dict.fromkeys(tops)))
    return chosen


@cache
def _load_all(directory: Path) -> dict[str, Catalog]:
    licenses = load_module_licenses(directory / MODULE_LICENSES_FILE)
    addons = load_addons(directory / ADDONS_FILE, licenses)
    catalogs: dict[str, Catalog] = {}
    for path in sorted(directory.glob(GENERATION_GLOB)):
        catalog = load_generation(path, licenses, addons)
        if catalog.generation in catalogs:
            raise CatalogError(f"{path}: generation {catalog.generation!r} is defined twice", file=str(path))
        expected = path.stem.removeprefix("generation-")
        if catalog.generation != expected:
            raise CatalogError(
                f"{path}: generation key {catalog.generation!r} does not match the file name ({expected!r})",
                file=str(path),
            )
        catalogs[catalog.generation] = catalog
    return dict(sorted(catalogs.items(), key=lambda item: _generation_order(item[0])))


def _generation_order(key: str) -> tuple[int, str]:
    """Numbered generations in order, named ones (suite) after them."""
    return (int(key), "") if key.isdigit() else (10**6, key)


def load_catalogs(directory: Path | None = None) -> dict[str, Catalog]:
    """Every generation's catalog from a catalog directory (the shipped one by default), cached."""
    return _load_all((directory or DATA_DIR).resolve())


def load_catalog(generation: str, directory: Path | None = None) -> Catalog:
    catalogs = load_catalogs(directory)
    try:
        return catalogs[str(generation)]
    except KeyError:
        raise UnknownGeneration(
            f"no generation {generation!r}; known: {', '.join(catalogs)}", generation=str(generation)
        ) from None


def validate_path(path: Path) -> dict[str, Any]:
    """Validate a catalog directory or one catalog file written by a user; returns a summary."""
    if path.is_dir():
        catalogs = _load_all.__wrapped__(path.resolve())
        from lisens.catalog.translations import validate_translations

        return {
            "path": str(path),
            "kind": "directory",
            "generations": {key: {"plans": len(c.plans), "licenses": len(c.licenses)} for key, c in catalogs.items()},
            "translations": validate_translations(path),
        }
    try:
        raw = read_toml(path)
    except FileNotFoundError:
        raise CatalogError(f"{path}: no such file or directory", file=str(path)) from None
    # A file is validated against its sibling catalog files, or the shipped ones when it has none.
    sibling = path.parent
    base_dir = sibling if (sibling / MODULE_LICENSES_FILE).exists() else DATA_DIR
    if "language" in raw:
        from lisens.catalog.translations import english_texts, load_texts_file

        texts = load_texts_file(path, english_texts(base_dir))
        return {"path": str(path), "kind": "translations", "language": texts.language, "licenses": len(texts.licenses)}
    if "license" in raw:
        licenses = load_module_licenses(path)
        return {"path": str(path), "kind": "module-licenses", "licenses": len(licenses)}
    licenses = load_module_licenses(base_dir / MODULE_LICENSES_FILE)
    if "addon" in raw:
        addons = load_addons(path, licenses)
        return {"path": str(path), "kind": "addons", "addons": len(addons)}
    if "generation" in raw:
        addons_path = base_dir / ADDONS_FILE
        catalog = load_generation(path, licenses, load_addons(addons_path, licenses))
        return {
            "path": str(path),
            "kind": "generation",
            "generation": catalog.generation,
            "plans": len(catalog.plans),
            "combinations": len(catalog.combination.plan_licenses) if catalog.combination else 0,
            "features": len(catalog.features),
        }
    raise CatalogError(
        f"{path}: not a catalog file: expected [[license]], [[addon]] or [generation] tables, or a language, "
        f"found {_shown(sorted(raw))}",
        file=str(path),
    )
