"""docs/new-packaging.md, step by step: a new generation as data only, validated, previewed, applied."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from lisens.catalog.loader import DATA_DIR
from lisens.cli.main import run

EXAMPLE = Path(__file__).parents[2] / "docs" / "examples" / "new-packaging"


@pytest.fixture
def my_catalog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    catalog = tmp_path / "my-catalog"
    shutil.copytree(DATA_DIR, catalog)
    with (catalog / "module-licenses.toml").open("a", encoding="utf-8") as out:
        out.write((EXAMPLE / "flex-user.toml").read_text(encoding="utf-8"))
    shutil.copy(EXAMPLE / "generation-12.toml", catalog)
    shutil.copy(EXAMPLE / "prices-12.toml", catalog)
    shutil.copy(EXAMPLE / "moves" / "11-to-12.toml", catalog / "moves")
    monkeypatch.setenv("LISENS_CATALOG_DIR", str(catalog))
    monkeypatch.setenv("LISENS_PRICES_DIR", str(catalog))
    monkeypatch.setenv("LISENS_DATABASE_URL", f"sqlite:///{tmp_path / 'lisens.db'}")
    return catalog


def lisens(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = run(list(args))
    return code, capsys.readouterr().out


def test_a_new_generation_is_validated_previewed_applied_and_rolled_back(
    my_catalog: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert lisens(capsys, "catalog", "validate", str(my_catalog))[0] == 0
    assert lisens(capsys, "catalog", "validate", str(my_catalog / "generation-12.toml"))[0] == 0
    assert lisens(capsys, "move", "validate", str(my_catalog / "moves" / "11-to-12.toml"))[0] == 0
    assert lisens(capsys, "prices", "show", "--generation", "12")[0] == 0

    lisens(capsys, "tenant", "create", "acme", "--generation", "11")
    lisens(capsys, "seats", "set", "acme", "sales-premium", "2")
    lisens(capsys, "seats", "set", "acme", "sales-premium+service-essential", "1")
    for user, plans in (("ann", ["sales-premium"]), ("bo", ["sales-premium", "service-essential"])):
        lisens(capsys, "user", "add", "acme", user)
        lisens(capsys, "assign", "acme", user, *[arg for plan in plans for arg in ("--plan", plan)])

    code, out = lisens(capsys, "move", "preview", "acme", "--to", "12", "--json")
    view = json.loads(out)
    assert code == 0
    assert {u["user"]: u["to_plan"] for u in view["users"]} == {"ann": "flex-pro", "bo": "flex-pro"}
    bo = next(u for u in view["users"] if u["user"] == "bo")
    assert "superoffice.ej-client" in bo["lost"]  # Flex has no service: shown before anything happens
    assert lisens(capsys, "move", "preview", "acme", "--to", "12", "--csv")[1].startswith("user,from_plan")
    assert json.loads(lisens(capsys, "move", "report", "--to", "12", "--json")[1])["users"] == 2

    assert lisens(capsys, "move", "apply", "acme", "--to", "12")[0] == 0
    shown = json.loads(lisens(capsys, "tenant", "show", "acme", "--json")[1])
    assert (shown["generation"], shown["seats"]) == ("12", {"flex-pro": 3})
    assert lisens(capsys, "check", "acme", "ann", "superoffice.quote-cal", "flex-user")[0] == 0

    assert lisens(capsys, "move", "rollback", "acme")[0] == 0
    back = json.loads(lisens(capsys, "user", "show", "acme", "bo", "--json")[1])
    assert back["plan"] == "sales-premium+service-essential"
