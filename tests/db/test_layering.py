"""Persistence lives in `lisens.db`: SQLAlchemy is imported there and by the composition roots only."""

from pathlib import Path

import lisens
from tests.imports import imported_modules

SOURCE = Path(lisens.__file__).parent
# Where engines are built and connections checked: the app factory and the CLI runtime.
COMPOSITION_ROOTS = {"api/app.py", "cli/runtime.py"}


def _sqlalchemy_imports(*, runtime_only: bool) -> dict[str, list[str]]:
    offenders = {}
    for path in sorted(SOURCE.rglob("*.py")):
        relative = path.relative_to(SOURCE).as_posix()
        if relative.startswith("db/") or relative in COMPOSITION_ROOTS:
            continue
        names = imported_modules(path, runtime_only=runtime_only)
        found = sorted(name for name in names if name.split(".")[0] == "sqlalchemy")
        if found:
            offenders[relative] = found
    return offenders


def test_sqlalchemy_is_imported_only_by_the_persistence_layer_and_the_composition_roots() -> None:
    assert _sqlalchemy_imports(runtime_only=True) == {}


def test_even_type_annotations_outside_the_persistence_layer_name_sessions_through_lisens_db() -> None:
    assert _sqlalchemy_imports(runtime_only=False) == {}


def test_the_layering_check_counts_runtime_imports_and_not_type_checking_ones(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from typing import TYPE_CHECKING\nimport sqlalchemy.orm\n"
        "if TYPE_CHECKING:\n    from sqlalchemy import Engine\n"
    )
    assert imported_modules(sample, runtime_only=True) == {"typing", "sqlalchemy.orm"}
