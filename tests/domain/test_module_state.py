"""No hidden inputs: no module keeps mutable state; what checks look up is an index built with the catalog."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest

import lisens
from lisens.catalog import load_catalog
from lisens.domain import names
from lisens.domain.engine import combinations, combine, require_plan, resolve, tenant_licenses
from lisens.domain.model import Catalog, CatalogIndex

SOURCE = Path(lisens.__file__).parent
CONTAINER_CALLS = frozenset({"dict", "list", "set", "bytearray", "defaultdict", "OrderedDict", "Counter", "deque"})
MUTATORS = frozenset(
    {
        "append",
        "extend",
        "insert",
        "add",
        "update",
        "setdefault",
        "pop",
        "popitem",
        "clear",
        "remove",
        "discard",
        "sort",
        "reverse",
        "appendleft",
        "extendleft",
        "__setitem__",
        "__delitem__",
        "difference_update",
        "intersection_update",
        "symmetric_difference_update",
    }
)


def _is_container(value: ast.expr | None) -> bool:
    if isinstance(value, ast.Dict | ast.List | ast.Set | ast.DictComp | ast.ListComp | ast.SetComp):
        return True
    if isinstance(value, ast.Call):
        func = value.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        return name in CONTAINER_CALLS
    return False


def _top_level(tree: ast.Module) -> list[ast.stmt]:
    """Statements run at import: the module body, with the bodies of its top-level `if` and `try`."""
    found: list[ast.stmt] = []
    pending = list(tree.body)
    while pending:
        node = pending.pop(0)
        found.append(node)
        if isinstance(node, ast.If | ast.Try):
            pending += [*node.body, *node.orelse, *getattr(node, "finalbody", [])]
            pending += [stmt for handler in getattr(node, "handlers", []) for stmt in handler.body]
    return found


def _mutable_globals(tree: ast.Module) -> set[str]:
    """Module-level names bound to a dict, list or set (a literal, a comprehension or a constructor call)."""
    found: set[str] = set()
    for node in _top_level(tree):
        if isinstance(node, ast.Assign) and _is_container(node.value):
            found.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and _is_container(node.value):
            found.add(node.target.id)
    return found


def _mutations(tree: ast.Module, watched: set[str]) -> list[str]:
    """Where `watched` module names are changed in place, and every `global` rebinding."""
    hits: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Global):
            hits += [f"{node.lineno}: global {name}" for name in node.names]
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store | ast.Del):
            if isinstance(node.value, ast.Name) and node.value.id in watched:
                hits.append(f"{node.lineno}: {node.value.id}[...] changed")
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name) and node.target.id in watched:
            hits.append(f"{node.lineno}: {node.target.id} changed in place")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            if isinstance(owner, ast.Name) and owner.id in watched and node.func.attr in MUTATORS:
                hits.append(f"{node.lineno}: {owner.id}.{node.func.attr}()")
    return hits


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def module_state(root: Path) -> dict[str, list[str]]:
    """Per module under `root`: each in-place change of a module-level dict, list or set (its own, or one
    imported from another module under `root`), and each `global` statement."""
    trees = {_module_name(path, root): ast.parse(path.read_text(encoding="utf-8")) for path in root.rglob("*.py")}
    mutable = {module: _mutable_globals(tree) for module, tree in trees.items()}
    offenders = {}
    for module, tree in sorted(trees.items()):
        watched = set(mutable[module])
        for node in tree.body:
            if isinstance(node, ast.ImportFrom) and node.module in mutable:
                watched |= {a.asname or a.name for a in node.names if a.name in mutable[node.module]}
        hits = _mutations(tree, watched)
        if hits:
            offenders[module] = hits
    return offenders


def test_no_module_changes_a_module_level_dict_list_or_set_or_rebinds_a_global() -> None:
    assert module_state(SOURCE) == {}


def test_the_scan_would_notice_a_memo_at_module_level_and_one_changed_through_an_import(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "memo.py").write_text(
        "SEEN: dict[str, str] = {}\nORDER = []\nFIXED = frozenset({1})\nLOCAL = {}\n\n"
        "def remember(key):\n    SEEN[key] = key\n    ORDER.append(key)\n    return LOCAL.get(key)\n"
    )
    (package / "user.py").write_text("from pkg.memo import SEEN\n\ndef forget():\n    SEEN.clear()\n")
    (package / "counter.py").write_text("COUNT = 0\n\ndef bump():\n    global COUNT\n    COUNT += 1\n")
    assert module_state(package) == {
        "pkg.counter": ["4: global COUNT"],
        "pkg.memo": ["7: SEEN[...] changed", "8: ORDER.append()"],
        "pkg.user": ["4: SEEN.clear()"],
    }


def test_license_names_keep_no_memo_of_spellings() -> None:
    assert not hasattr(names, "CANONICAL")
    assert not hasattr(names, "remember")


def test_a_catalog_has_no_caches_only_a_frozen_index_built_by_the_loader() -> None:
    fields = {f.name for f in dataclasses.fields(Catalog)}
    assert not {"_combined", "_plan_held"} & fields
    catalog = load_catalog("11")
    with pytest.raises(dataclasses.FrozenInstanceError):
        catalog.index.combined = {}  # type: ignore[misc]
    assert len(catalog.index.combined) == 20
    assert set(catalog.index.plan_held) == set(catalog.plans) | {plan.key for plan in combinations(catalog)}


def test_a_combined_plan_comes_from_the_index_and_is_the_same_plan_each_time() -> None:
    catalog = load_catalog("11")
    plan = require_plan(catalog, "sales-premium+service-essential")
    assert plan is catalog.index.combined[("sales-premium", "service-essential")]
    assert combine(catalog, ["service-essential", "sales-premium"]) is plan


def test_a_catalog_without_an_index_answers_the_same_as_the_loaded_one() -> None:
    loaded = load_catalog("11")
    bare = dataclasses.replace(loaded, index=CatalogIndex())
    for key in ("sales-essential", "sales-premium+service-essential+marketing-premium"):
        answers = []
        for catalog in (loaded, bare):
            plan = require_plan(catalog, key)
            user = resolve(catalog, tenant_licenses(catalog, plans=[plan]), plan=plan, direct=["ADWIZA.survey"])
            asked = ("sale-cal", "SuperOffice.Quote-Cal", "adwiza.survey", "superoffice.t2", "nope")
            answers.append((plan, user.held, [user.has_license(name) for name in asked]))
        assert answers[0] == answers[1]
