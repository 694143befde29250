"""The panel (`lisens.admin`) and the API (`lisens.api`) do not import each other: what both need lives in
`lisens.web` and `lisens.service`. Only the app factory, the composition root, brings them together."""

from pathlib import Path

import lisens
from tests.imports import imported_modules

SOURCE = Path(lisens.__file__).parent
APP_FACTORY = "api/app.py"


def _imports_of(package: str, other: str, *, except_: frozenset[str] = frozenset()) -> dict[str, list[str]]:
    found = {}
    for path in sorted((SOURCE / package).rglob("*.py")):
        relative = path.relative_to(SOURCE).as_posix()
        if relative in except_:
            continue
        names = sorted(n for n in imported_modules(path) if n == f"lisens.{other}" or n.startswith(f"lisens.{other}."))
        if names:
            found[relative] = names
    return found


def test_the_panel_does_not_import_the_api() -> None:
    assert _imports_of("admin", "api") == {}


def test_the_api_does_not_import_the_panel_except_in_the_app_factory() -> None:
    assert _imports_of("api", "admin", except_=frozenset({APP_FACTORY})) == {}
    assert _imports_of("api", "admin"), "the app factory mounts the panel"


def test_what_both_surfaces_share_imports_neither() -> None:
    assert _imports_of("web", "api") == {}
    assert _imports_of("web", "admin") == {}
