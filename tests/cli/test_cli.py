"""The `lisens` command: tables for people, --json for machines, `error CODE: message` and no traceback."""

import json
import shutil
from pathlib import Path

import pytest

from lisens.catalog.loader import DATA_DIR
from lisens.cli.main import run


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> object:
    assert run([*args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_catalog_generations_lists_7_9_11_and_suite(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(capsys, "catalog", "generations")
    assert isinstance(data, list)
    assert [g["key"] for g in data] == ["7", "9", "11", "suite"]


def test_catalog_plans_gives_each_plan_with_its_plan_license_extra_info_and_sorted_licenses(
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = run_json(capsys, "catalog", "plans", "--generation", "11")
    assert isinstance(data, list)
    first = data[0]
    assert first["key"] == "sales-essential"
    assert first["plan_license"] == "ten-sales"
    assert first["extra_info"] == "set=user,web,pocket-crm-cal,visible-for,relation-cal,sale-cal"
    assert first["licenses"] == sorted(first["licenses"])
    assert len(first["licenses"]) == 15
    assert {"key", "name", "plan_license", "extra_info", "licenses"} <= set(first)


def test_catalog_plan_shows_one_plan_and_accepts_a_combined_key(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(capsys, "catalog", "plan", "service-premium+marketing-essential", "--generation", "11")
    assert isinstance(data, dict)
    assert data["plan_license"] == "ten-servicemarketing"
    assert data["parts"] == ["service-premium", "marketing-essential"]


def test_catalog_combine_prints_the_combined_plan(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(capsys, "catalog", "combine", "sales-premium", "service-premium", "marketing-premium", "-g", "11")
    assert isinstance(data, dict)
    assert data["plan_license"] == "ten-salesservicemarketing"
    assert data["extra_info"].startswith(
        "set=user,web,pocket-crm-cal,selection-cal,relation-cal,report-cal,project-cal"
    )


def test_catalog_combine_of_a_clash_exits_1_with_invalid_combination(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["catalog", "combine", "sales-essential", "sales-premium", "--generation", "11"]) == 1
    captured = capsys.readouterr()
    assert captured.err.startswith("error INVALID_COMBINATION: sales-essential and sales-premium")
    assert "Traceback" not in captured.err


def test_catalog_combine_with_json_also_prints_the_error_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["catalog", "combine", "sales-essential", "sales-premium", "-g", "11", "--json"]) == 1
    error = json.loads(capsys.readouterr().out)["error"]
    assert error["code"] == "INVALID_COMBINATION"
    assert error["clash"] == ["sales-essential", "sales-premium"]


def test_catalog_licenses_filters_by_type_and_shows_the_required_fields(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(capsys, "catalog", "licenses", "--generation", "11", "--type", "system")
    assert isinstance(data, list)
    assert {row["type"] for row in data} == {"system"}
    required = {"name", "owner", "type", "hidden", "unrestricted", "prerequisite", "extra_flags", "extra_info"}
    assert required | {"description"} <= set(data[0])
    marker = next(row for row in data if row["name"] == "sales-t2")
    assert marker["extra_flags"] == 2


def test_catalog_features_speaks_swedish_and_german(capsys: pytest.CaptureFixture[str]) -> None:
    swedish = run_json(capsys, "catalog", "features", "-g", "11", "--lang", "sv")
    german = run_json(capsys, "catalog", "features", "-g", "11", "--lang", "de")
    assert isinstance(swedish, list)
    assert isinstance(german, list)
    assert "Försäljningsprognoser" in {f["name"] for f in swedish}
    assert "Verkaufsprognosen" in {f["name"] for f in german}


def test_catalog_matrix_marks_which_plan_issues_which_license(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(capsys, "catalog", "matrix", "--generation", "11")
    assert isinstance(data, dict)
    quote = next(row for row in data["rows"] if row["license"] == "quote-cal")
    assert quote["plans"] == ["sales-premium"]
    assert run(["catalog", "matrix", "--generation", "11"]) == 0
    assert "quote-cal" in capsys.readouterr().out


def test_catalog_matrix_of_generation_7_lists_the_licenses_sold_one_by_one(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(capsys, "catalog", "matrix", "--generation", "7")
    assert isinstance(data, dict)
    assert data["plans"] == []
    assert {"name": "travel", "prerequisite": "windows"}.items() <= next(
        row for row in data["sold"] if row["name"] == "travel"
    ).items()


def test_catalog_explain_exits_0_when_held_and_1_when_not(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["catalog", "explain", "quote-cal", "-g", "11", "--plan", "sales-premium"]) == 0
    assert "granted by plan sales-premium" in capsys.readouterr().out
    assert run(["catalog", "explain", "quote-cal", "-g", "11", "--plan", "sales-essential"]) == 1
    assert "would be granted by plan sales-premium" in capsys.readouterr().out


def test_catalog_validate_accepts_the_shipped_catalog_and_refuses_a_broken_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert run(["catalog", "validate", str(DATA_DIR)]) == 0
    assert "valid directory catalog" in capsys.readouterr().out
    broken = tmp_path / "generation-11.toml"
    shutil.copy(DATA_DIR / "generation-11.toml", broken)
    broken.write_text(broken.read_text(encoding="utf-8").replace("sale-cal", "sale-kal", 1), encoding="utf-8")
    assert run(["catalog", "validate", str(broken)]) == 1
    err = capsys.readouterr().err
    assert "error CATALOG_INVALID" in err
    assert "sale-kal" in err


def test_extrainfo_parse_and_format_round_trip(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_json(capsys, "extrainfo", "parse", "set=user,web,sale-cal") == ["user", "web", "sale-cal"]
    assert run(["extrainfo", "format", "user", "web", "sale-cal"]) == 0
    assert capsys.readouterr().out.strip() == "set=user,web,sale-cal"


def test_extrainfo_parse_of_malformed_text_exits_1_with_its_code(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["extrainfo", "parse", "set=user,,web"]) == 1
    assert capsys.readouterr().err.startswith("error EXTRAINFO_EMPTY_ITEM:")
    assert run(["extrainfo", "parse", "set=user,nope", "--generation", "11"]) == 1
    assert capsys.readouterr().err.startswith("error EXTRAINFO_UNKNOWN_LICENSE:")


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["catalog", "plans", "--generation", "12"], "UNKNOWN_GENERATION"),
        (["catalog", "plan", "gold", "--generation", "11"], "UNKNOWN_PLAN"),
        (["catalog", "explain", "web", "-g", "11", "--license", "no-such"], "UNKNOWN_LICENSE"),
        (["catalog", "explain", "web", "-g", "11", "--addon", "no-such"], "UNKNOWN_ADDON"),
        (["catalog", "combine", "sales", "service", "-g", "9"], "INVALID_COMBINATION"),
        (["catalog", "combine", "sales-premium", "-g", "11"], "INVALID_INPUT"),
    ],
)
def test_bad_input_exits_1_with_the_error_code_and_never_a_traceback(
    capsys: pytest.CaptureFixture[str], args: list[str], code: str
) -> None:
    assert run(args) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error {code}:")
    assert "Traceback" not in err


def test_a_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["catalog", "plans"]) == 2
    assert "Missing option" in capsys.readouterr().err


def test_a_table_wraps_long_names_on_a_narrow_terminal_instead_of_cutting_them() -> None:
    from rich.console import Console

    from lisens.cli.output import table

    narrow = Console(width=40, record=True)
    name = "superoffice.selection-combined-cal-with-a-long-tail"
    narrow.print(table("licenses", ["license", "in use"], [(name, 3)]))
    text = narrow.export_text()
    assert "…" not in text
    cells = [line.split("│")[1].strip() for line in text.splitlines() if line.startswith("│")]
    assert "".join(cells) == name


def test_help_imports_no_database_web_or_migration_code() -> None:
    import subprocess
    import sys

    heavy = ("sqlalchemy.orm", "fastapi.routing", "uvicorn.config", "alembic.command", "pydantic.main")
    code = (
        "import sys\n"
        "from lisens.cli.main import run\n"
        "run(['--help'])\n"
        f"print('loaded:' + ','.join(m for m in {heavy!r} if m in sys.modules))"
    )
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert found.stdout.strip().splitlines()[-1] == "loaded:"
