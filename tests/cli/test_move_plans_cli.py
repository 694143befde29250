"""`lisens tenant tag …` and `lisens move plan`, against a fresh database: SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lisens.catalog.loader import DATA_DIR
from lisens.cli.main import run
from tests.db.conftest import BACKENDS, LATER, create_database, drop_database


@pytest.fixture(params=BACKENDS)
def lisens(request: pytest.FixtureRequest, tmp_path: Path, capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    database, token = create_database(request.param, tmp_path)

    def call(*args: str) -> tuple[int, str, str]:
        code = run(["--db", database.url, *args], clock=lambda: LATER)
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    yield call
    drop_database(database, token)


def two_tenants(lisens) -> None:  # type: ignore[no-untyped-def]
    for name, plan in (("alpha", "sales-essential"), ("beta", "sales-premium")):
        assert lisens("tenant", "create", name, "-g", "11")[0] == 0
        assert lisens("seats", "set", name, plan, "2")[0] == 0
        assert lisens("user", "add", name, "ann")[0] == 0
        assert lisens("assign", name, "ann", "--plan", plan)[0] == 0


def test_tags_are_added_listed_and_removed(lisens) -> None:  # type: ignore[no-untyped-def]
    two_tenants(lisens)
    assert lisens("tenant", "tag", "add", "alpha", "segment=smb")[0] == 0
    code, out, _ = lisens("tenant", "tag", "list", "alpha", "--json")
    assert (code, json.loads(out)["tags"]) == (0, {"segment": "smb"})
    code, out, _ = lisens("tenant", "show", "alpha", "--json")
    assert json.loads(out)["tags"] == {"segment": "smb"}
    code, _, err = lisens("tenant", "tag", "add", "alpha", "Segment")
    assert (code, err.split(":")[0]) == (1, "error INVALID_TAG")
    assert lisens("tenant", "tag", "remove", "alpha", "segment")[0] == 0
    code, _, err = lisens("tenant", "tag", "remove", "alpha", "segment")
    assert (code, err.split(":")[0]) == (1, "error NO_TAG")


def test_move_plan_speaks_json_csv_and_a_table(lisens, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    two_tenants(lisens)
    lisens("tenant", "tag", "add", "beta", "segment=smb")
    code, out, err = lisens("move", "plan", "--to", "suite", "--generation", "11", "--json")
    assert (code, err) == (0, "")
    view = json.loads(out)
    assert [t["tenant"] for t in view["tenants"]] == ["alpha", "beta"]
    assert view["summary"]["yearly_before"] == "2352.00"  # (2 x 39.00 + 2 x 59.00) x 12
    code, again, _ = lisens("move", "plan", "--to", "suite", "--generation", "11", "--json")
    assert again == out
    code, out, _ = lisens("move", "plan", "--to", "suite", "--tag", "segment=smb", "--csv")
    assert code == 0
    assert out.splitlines()[0].startswith("tenant,from,to,tenant_plan")
    assert [line.split(",")[0] for line in out.splitlines()[1:]] == ["beta"]
    code, out, _ = lisens("move", "plan", "--to", "suite", "--tenant", "alpha", "--min-users", "1")
    assert (code, "alpha" in out) == (0, True)
    cheaper = tmp_path / "what-if.toml"
    cheaper.write_text((DATA_DIR / "prices-suite.toml").read_text().replace('"core" = "45.00"', '"core" = "30.00"'))
    code, out, _ = lisens("move", "plan", "--to", "suite", "--tenant", "alpha", "--prices", str(cheaper), "--json")
    assert json.loads(out)["tenants"][0]["monthly_after"] == "60.00"
    code, _, err = lisens("move", "plan", "--to", "suite", "--sample", "0")
    assert (code, err.split(":")[0]) == (1, "error INVALID_NUMBER")


def test_move_plan_streams_its_rows_and_a_table_shows_a_bounded_number(lisens) -> None:  # type: ignore[no-untyped-def]
    two_tenants(lisens)
    code, out, _ = lisens("move", "plan", "--to", "suite", "--json")
    view = json.loads(out)
    assert list(view) == ["to", "prices", "example_prices", "selection", "summary", "tenants", "skipped"]
    assert out.splitlines()[0].endswith('"tenants":[')  # the summary first, then a tenant a line
    assert [json.loads(line.rstrip(","))["tenant"] for line in out.splitlines()[1:-1]] == ["alpha", "beta"]
    code, out, _ = lisens("move", "plan", "--to", "suite", "--csv")
    assert [line.split(",")[0] for line in out.splitlines()] == ["tenant", "alpha", "beta"]
    code, out, _ = lisens("move", "plan", "--to", "suite", "--limit", "1")
    assert (code, "Tenants: 1 of 2" in out, "Tenants by yearly change" in out) == (0, True, True)
    assert "beta" in out  # beta's revenue changes most (Sales Premium -> Growth)
    code, out, err = lisens("move", "plan", "--to", "suite", "--csv", "--save", "Bad Name")
    assert (code, out, err.split(":")[0]) == (1, "", "error INVALID_NAME")
    code, _, err = lisens("move", "plan", "--to", "suite", "--limit", "0")
    assert code == 2
