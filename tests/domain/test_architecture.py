"""The domain imports nothing but the standard library and itself."""

import sys
from pathlib import Path

import lisens.domain
from tests.imports import imported_modules

DOMAIN = Path(lisens.domain.__file__).parent


def test_the_domain_imports_only_the_standard_library_and_itself() -> None:
    offenders = {}
    for path in sorted(DOMAIN.glob("*.py")):
        foreign = {
            name
            for name in imported_modules(path)
            if name.split(".")[0] not in sys.stdlib_module_names and not name.startswith("lisens.domain")
        }
        if foreign:
            offenders[path.name] = sorted(foreign)
    assert offenders == {}


def test_the_import_check_would_notice_a_third_party_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import pydantic\nfrom lisens.catalog import loader\nimport json\n")
    names = imported_modules(sample)
    assert "pydantic" in names
    assert "lisens.catalog" in names
