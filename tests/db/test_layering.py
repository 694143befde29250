"""Persistence lives in `lisens.db`: SQLAlchemy is imported there and by the composition roots only."""

import ast
from pathlib import Path

import lisens

SOURCE = Path(lisens.__file__).parent
# Where engines are built and connections checked: the app factory and the CLI runtime.
COMPOSITION_ROOTS = {"api/app.py", "cli/runtime.py"}


def runtime_imports(path: Path) -> set[str]:
    """Modules `path` imports when it runs (imports only for type checking do not count)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            typing_only.update(id(child) for child in ast.walk(node))
    names: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_sqlalchemy_is_imported_only_by_the_persistence_layer_and_the_composition_roots() -> None:
    offenders = {}
    for path in sorted(SOURCE.rglob("*.py")):
        relative = path.relative_to(SOURCE).as_posix()
        if relative.startswith("db/") or relative in COMPOSITION_ROOTS:
            continue
        found = sorted(name for name in runtime_imports(path) if name.split(".")[0] == "sqlalchemy")
        if found:
            offenders[relative] = found
    assert offenders == {}


def test_the_layering_check_counts_runtime_imports_and_not_type_checking_ones(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from typing import TYPE_CHECKING\nimport sqlalchemy.orm\n"
        "if TYPE_CHECKING:\n    from sqlalchemy import Engine\n"
    )
    assert runtime_imports(sample) == {"typing", "sqlalchemy.orm"}
