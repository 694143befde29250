"""Plan keys and seat items are parsed in `lisens.domain.names` and nowhere else."""

import re
from pathlib import Path

import lisens
from lisens.domain.names import is_combined, is_superoffice_item, plan_key, plan_parts, seat_kind

SOURCE = Path(lisens.__file__).parent
# A plan key split on "+", or "is it a license?" decided by looking for a dot.
PARSING = re.compile(r"""split\(\s*["']\+["']\s*\)|["']\.["']\s+(?:not\s+)?in\s|["']\+["']\s+(?:not\s+)?in\s""")


def test_plan_keys_and_seat_items_are_parsed_only_in_the_names_module() -> None:
    offenders = {}
    for path in sorted(SOURCE.rglob("*.py")):
        relative = path.relative_to(SOURCE).as_posix()
        if relative == "domain/names.py":
            continue
        lines = [n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if PARSING.search(line)]
        if lines:
            offenders[relative] = lines
    assert offenders == {}


def test_the_parsing_check_would_notice_a_split_or_a_dot_test() -> None:
    assert PARSING.search('parts = key.split("+")')
    assert PARSING.search('kind = "license" if "." in item else "plan"')
    assert not PARSING.search("parts = plan_parts(key)")


def test_plan_keys_and_seat_items_read_as_the_catalog_writes_them() -> None:
    assert plan_parts("sales-premium+service-essential") == ("sales-premium", "service-essential")
    assert plan_parts(" sales-premium + ") == ("sales-premium",)
    assert plan_key(["service-essential", "sales-premium"]) == "sales-premium+service-essential"
    assert is_combined("a+b")
    assert not is_combined("a")
    assert (seat_kind("sales-premium"), seat_kind("superoffice.web")) == ("plan", "license")
    assert is_superoffice_item("sales-premium")
    assert is_superoffice_item("superoffice.web")
    assert not is_superoffice_item("globexco.widget")
