"""Move mappings as data: `moves/FROM-to-TO.toml` beside the generation files, checked on load."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lisens.catalog.loader import DATA_DIR, load_catalog, read_toml
from lisens.catalog.schema import ProvenanceEntry
from lisens.domain.engine import require_plan
from lisens.domain.errors import CatalogError, Code, LisensError, NotFound
from lisens.domain.model import Provenance
from lisens.domain.moves import PlanMapping

Key = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9.-]*$")]


class _Header(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)
    source: str = Field(alias="from")
    target: str = Field(alias="to")
    description: str
    rank: list[str] = []
    provenance: ProvenanceEntry


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    when: list[Key] = Field(min_length=1)
    plan: str


class _MappingFile(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    mapping: _Header
    plans: dict[str, str] = {}
    rule: list[_Rule] = []


def mapping_path(source: str, target: str, directory: Path | None = None) -> Path:
    return (directory or DATA_DIR) / "moves" / f"{source}-to-{target}.toml"


def load_mapping(source: str, target: str, directory: Path | None = None) -> PlanMapping:
    path = mapping_path(source, target, directory)
    if not path.exists():
        raise NotFound(
            f"no move mapping from generation {source} to {target} ({path.name})",
            code=Code.NO_MOVE_MAPPING,
            source=source,
            target=target,
        )
    return load_mapping_file(path, directory)


def load_mapping_file(path: Path, catalog_dir: Path | None = None) -> PlanMapping:
    """Read and check a mapping file against the two generations' catalogs."""
    try:
        raw = read_toml(path)
        parsed = _MappingFile.model_validate(raw)
    except FileNotFoundError:
        raise CatalogError(f"{path}: no such mapping file", file=str(path)) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CatalogError(f"{path}: not valid TOML: {exc}", file=str(path)) from None
    except ValidationError as exc:
        errors = [f"{'.'.join(map(str, e['loc']))}: {e['msg']} (got {e.get('input')!r})" for e in exc.errors()]
        raise CatalogError(f"{path}: " + "; ".join(errors), file=str(path), problems=errors) from None
    header = parsed.mapping
    source = load_catalog(header.source, catalog_dir)
    target = load_catalog(header.target, catalog_dir)
    problems: list[str] = []
    if path.name != f"{header.source}-to-{header.target}.toml":
        problems.append(f"the file name should be {header.source}-to-{header.target}.toml")
    if source.plans:
        missing = sorted(set(source.plans) - set(parsed.plans))
        unknown = sorted(set(parsed.plans) - set(source.plans))
        problems += [f"plans: no mapping for source plan {key!r}" for key in missing]
        problems += [f"plans: {key!r} is no plan of generation {source.generation}" for key in unknown]
    elif parsed.plans:
        problems.append(f"generation {source.generation} has no plans: map with [[rule]] entries")
    for index, rule in enumerate(parsed.rule):
        for name in rule.when:
            if name not in source.licenses:
                problems.append(f"rule[{index}]: {name!r} is no module license of generation {source.generation}")
    targets = [key for key in parsed.plans.values() if key] + [rule.plan for rule in parsed.rule if rule.plan]
    for key in targets:
        try:
            require_plan(target, key)
        except LisensError as error:
            problems.append(f"target plan {key!r}: {error.message}")
    if (target.tenant_plan or target.combination is None) and set(header.rank) != set(target.plans):
        problems.append(
            f"rank must order every plan of generation {target.generation} from lowest to highest "
            f"(a user holding several plans gets the highest): {list(target.plans)}"
        )
    if problems:
        raise CatalogError(f"{path}: " + "; ".join(problems), file=str(path), problems=problems)
    return PlanMapping(
        source=source.generation,
        target=target.generation,
        description=header.description,
        plans={key: value or None for key, value in parsed.plans.items()},
        rules=tuple((frozenset(rule.when), rule.plan or None) for rule in parsed.rule),
        rank=tuple(header.rank),
        provenance=Provenance(kind=header.provenance.kind, source=header.provenance.source),
    )
