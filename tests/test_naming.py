"""Names in code: one spelling of license, and "migration" only for schema migrations."""

from __future__ import annotations

import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "lisens"
# The schema migrations' runner, and the earlier names of moves that still answer (paths, `lisens migrate`).
EARLIER_NAMES = re.compile(
    r"lisens\.db\.migrate\b|\{tenant\}/migration\b[/a-z]*|/migrations/report"
    r"|lisens migrate|name=\"migrate\"|\"migrat\w+\."
)
# SuperOffice's own identifiers keep their spelling: the agent method and its carrier.
SUPEROFFICE_NAMES = re.compile(r"UserAndInstallationLicenceStatus|user_and_installation_licence_status")


def _code_files() -> list[Path]:
    return [p for p in SRC.rglob("*") if p.suffix in {".py", ".html", ".po"} and "migrations" not in p.parts]


def test_code_spells_license_one_way() -> None:
    found = []
    for path in _code_files():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if path.suffix == ".po" and not line.startswith("msgid"):
                continue  # translations are Swedish and German
            if re.search(r"licence", SUPEROFFICE_NAMES.sub("", line), re.IGNORECASE):
                found.append(f"{path.relative_to(SRC)}:{number}: {line.strip()}")
    assert found == []


def test_migration_means_a_schema_migration_only() -> None:
    allowed = {Path("db/migrate.py"), Path("db/__init__.py"), Path("db/models.py"), Path("db/repositories.py")}
    found = []
    for path in _code_files():
        relative = path.relative_to(SRC)
        if relative in allowed:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if re.search(r"migrat", EARLIER_NAMES.sub("", line), re.IGNORECASE):
                found.append(f"{relative}:{number}: {line.strip()}")
    assert found == []
