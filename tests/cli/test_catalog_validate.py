"""`lisens catalog validate` on hostile files: exit 1 with `error CODE: message`, cycles named, never a traceback."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lisens.catalog.loader import DATA_DIR, MAX_FILE_BYTES, MAX_STRING
from lisens.cli.main import run


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("name", "text", "code"),
    [
        ("deep.toml", "x = " + "[" * 5000 + "]" * 5000 + "\n", "CATALOG_TOO_DEEP"),
        ("table.toml", "x = " + "{a = " * 3000 + "1" + "}" * 3000 + "\n", "CATALOG_TOO_DEEP"),
        ("long.toml", f'[[license]]\nname = "{"a" * (MAX_STRING + 1)}"\n', "CATALOG_VALUE_TOO_LONG"),
        ("huge.toml", "#\n" * (MAX_FILE_BYTES // 2 + 1), "CATALOG_FILE_TOO_LARGE"),
        ("broken.toml", "x = [1,\n", "CATALOG_INVALID"),
    ],
)
def test_a_hostile_file_exits_1_with_its_code_and_no_traceback(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, name: str, text: str, code: str
) -> None:
    path = _write(tmp_path / name, text)
    assert run(["catalog", "validate", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error {code}: {path}")
    assert "Traceback" not in err
    assert len(err) < 1000


def test_the_installed_command_reports_a_deep_file_without_a_traceback(tmp_path: Path) -> None:
    path = _write(tmp_path / "deep.toml", "x = " + "[" * 5000 + "]" * 5000 + "\n")
    done = subprocess.run(
        [sys.executable, "-m", "lisens.cli", "catalog", "validate", str(path)], capture_output=True, text=True
    )
    assert done.returncode == 1
    assert done.stderr.startswith("error CATALOG_TOO_DEEP:")
    assert "Traceback" not in done.stderr + done.stdout


def test_a_catalog_with_a_prerequisite_cycle_is_not_valid(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    directory = tmp_path / "catalog"
    shutil.copytree(DATA_DIR, directory)
    licenses = directory / "module-licenses.toml"
    text = licenses.read_text(encoding="utf-8")
    licenses.write_text(
        text.replace('name = "user"\nconstants', 'name = "user"\nprerequisite = "ej-client"\nconstants', 1),
        encoding="utf-8",
    )
    assert run(["catalog", "validate", str(directory), "--json"]) == 1
    captured = capsys.readouterr()
    assert "valid" not in captured.out
    assert "prerequisite cycle: ej-client -> user -> ej-client" in captured.err


def test_a_catalog_with_an_add_on_cycle_is_not_valid(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    directory = tmp_path / "catalog"
    shutil.copytree(DATA_DIR, directory)
    addons = directory / "addons.toml"
    text = addons.read_text(encoding="utf-8")
    addons.write_text(text.replace('key = "cep"\n', 'key = "cep"\nrequires = "cep"\n', 1), encoding="utf-8")
    assert run(["catalog", "validate", str(addons)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error CATALOG_INVALID:")
    assert "requires cycle: cep -> cep" in err


def test_the_shipped_catalog_still_validates(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["catalog", "validate", str(DATA_DIR), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["valid"] is True


def test_a_directory_with_a_missing_price_is_refused_naming_the_item(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog = tmp_path / "catalog"
    shutil.copytree(DATA_DIR, catalog)
    prices = catalog / "prices-11.toml"
    lines = prices.read_text(encoding="utf-8").splitlines()
    prices.write_text("\n".join(line for line in lines if not line.startswith('"sales-premium" =')) + "\n")
    assert run(["catalog", "validate", str(catalog)]) == 1
    assert "no price for 'sales-premium'" in capsys.readouterr().err
    assert run(["catalog", "validate", str(prices)]) == 1
    assert "no price for 'sales-premium'" in capsys.readouterr().err


def test_a_price_list_file_is_validated_as_a_price_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["catalog", "validate", str(DATA_DIR / "prices-11.toml"), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["kind"], summary["generation"]) == ("price list", "11")
    assert run(["catalog", "validate", str(DATA_DIR), "--json"]) == 0
    assert set(json.loads(capsys.readouterr().out)["price_lists"]) == {"7", "9", "11", "suite"}
