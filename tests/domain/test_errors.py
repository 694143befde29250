"""The error registry: every code in one enumeration with its status, every raise naming its code from it."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import lisens
from lisens.domain import decide, engine
from lisens.domain.errors import Code, LisensError, Reason, UnknownUser

SOURCE = Path(lisens.__file__).parent
API_DOC = SOURCE.parents[1] / "docs" / "api.md"
ERROR_TABLE_HEADING = "### Every error code"
ROW = re.compile(r"^\| `([A-Z0-9_]+)` \| (\d{3}) \| (.+) \|$")


def _string_codes(path: Path) -> list[str]:
    """`code="..."` arguments and `default_code = "..."` assignments written as bare strings in `path`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            values = [keyword.value for keyword in node.keywords if keyword.arg == "code"]
        elif isinstance(node, ast.Assign):
            values = [node.value] if any(getattr(t, "id", None) == "default_code" for t in node.targets) else []
        elif isinstance(node, ast.AnnAssign):
            values = [node.value] if getattr(node.target, "id", None) == "default_code" and node.value else []
        else:
            continue
        found += [f"{path.name}:{v.lineno}: {v.value!r}" for v in values if isinstance(v, ast.Constant)]
    return found


def _documented_codes() -> dict[str, int]:
    text = API_DOC.read_text(encoding="utf-8")
    section = text.split(ERROR_TABLE_HEADING, 1)[1].split("\n#", 1)[0]
    rows = {}
    for line in section.splitlines():
        match = ROW.match(line)
        if match:
            assert match.group(1) not in rows, f"{match.group(1)} is listed twice"
            rows[match.group(1)] = int(match.group(2))
    return rows


def _all_modules() -> None:
    for module in pkgutil.walk_packages(lisens.__path__, "lisens."):
        if ".migrations.versions" not in module.name and not module.name.endswith(".__main__"):
            importlib.import_module(module.name)


def _subclasses(cls: type[LisensError]) -> set[type[LisensError]]:
    found = set(cls.__subclasses__())
    for sub in list(found):
        found |= _subclasses(sub)
    return found


def test_no_raise_in_the_source_names_its_code_as_a_bare_string() -> None:
    offenders = [hit for path in sorted(SOURCE.rglob("*.py")) for hit in _string_codes(path)]
    assert offenders == []


def test_the_source_scan_would_notice_a_code_written_as_a_string(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        'class Gone(LisensError):\n    default_code = "GONE"\n\n'
        'raise InvalidInput("no", code="NEW_CODE")\nraise InvalidInput("yes", code=Code.INVALID_INPUT)\n'
    )
    assert _string_codes(sample) == ["sample.py:2: 'GONE'", "sample.py:4: 'NEW_CODE'"]


def test_every_code_has_an_http_error_status() -> None:
    assert {code: code.status for code in Code if not 400 <= code.status <= 599} == {}


def test_every_code_has_a_row_with_its_status_in_the_error_table_of_the_api_docs() -> None:
    documented = _documented_codes()
    assert {code.value: code.status for code in Code} == documented


def test_a_code_equals_its_string_and_is_found_by_it() -> None:
    assert Code.UNKNOWN_USER == "UNKNOWN_USER"
    assert f"{Code.UNKNOWN_USER}" == "UNKNOWN_USER"
    assert Code.of("UNKNOWN_USER") is Code.UNKNOWN_USER
    assert Code.of("NO_SUCH_CODE") is None


def test_an_error_carries_its_class_code_unless_the_raise_names_another() -> None:
    assert UnknownUser("no user 'x'").code is Code.UNKNOWN_USER
    assert UnknownUser("no associate 7", code=Code.NOT_FOUND).code is Code.NOT_FOUND


def test_every_error_class_is_defined_in_the_registry_module_with_a_registered_default_code() -> None:
    _all_modules()
    classes = _subclasses(LisensError) | {LisensError}
    assert sorted(c.__qualname__ for c in classes if c.__module__ != "lisens.domain.errors") == []
    assert sorted(c.__qualname__ for c in classes if Code.of(c.default_code) is None) == []


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("lisens.api.problems", "ApiError"),
        ("lisens.api.security", "TooManyFailedAuthentications"),
        ("lisens.signing", "SignatureError"),
        ("lisens.service.bulk", "BulkFailed"),
        ("lisens.db.transaction", "DatabaseUnavailable"),
        ("lisens.packages", "PackageError"),
        ("lisens.offline", "SnapshotError"),
        ("lisens.api.inputs", "InvalidText"),
        ("lisens.service.users", "BatchTooLarge"),
        ("lisens.service.fencing", "PlanLimitReached"),
    ],
)
def test_an_error_class_is_still_importable_from_where_it_used_to_live(module: str, name: str) -> None:
    errors = importlib.import_module("lisens.domain.errors")
    assert getattr(importlib.import_module(module), name) is getattr(errors, name)


def test_every_decision_reason_is_a_registered_reason() -> None:
    reasons = [engine.HELD, engine.NOT_ASSIGNED, engine.NOT_IN_TENANT, engine.UNKNOWN_LICENSE]
    reasons += [decide.UNKNOWN_USER, decide.USER_RETIRED, decide.LICENSE_EXPIRED, decide.LICENSE_IN_GRACE]
    reasons += [decide.LICENSE_NOT_STARTED]
    assert all(isinstance(reason, Reason) for reason in reasons)
    assert set(Reason) == set(reasons)


def test_every_decision_reason_is_named_in_the_api_docs() -> None:
    text = API_DOC.read_text(encoding="utf-8")
    assert [reason.value for reason in Reason if f"`{reason.value}`" not in text] == []
