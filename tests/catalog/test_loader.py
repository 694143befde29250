"""A broken catalog file is refused with an error naming the file, the entry and the bad value."""

import shutil
from pathlib import Path

import pytest

from lisens.catalog import validate_path
from lisens.catalog.loader import DATA_DIR, load_catalogs
from lisens.domain.errors import CatalogError


@pytest.fixture
def catalog_dir(tmp_path: Path) -> Path:
    target = tmp_path / "catalog"
    shutil.copytree(DATA_DIR, target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"fixture text {old!r} not found in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def refused(directory: Path) -> CatalogError:
    with pytest.raises(CatalogError) as caught:
        validate_path(directory)
    assert caught.value.code == "CATALOG_INVALID"
    return caught.value


def test_the_shipped_catalog_directory_is_valid() -> None:
    summary = validate_path(DATA_DIR)
    assert set(summary["generations"]) == {"7", "9", "11", "suite"}


def test_a_copy_of_the_shipped_catalog_loads_the_same_generations(catalog_dir: Path) -> None:
    assert list(load_catalogs(catalog_dir)) == ["7", "9", "11", "suite"]


def test_an_unknown_key_is_refused_naming_the_entry_and_the_key(catalog_dir: Path) -> None:
    g11 = catalog_dir / "generation-11.toml"
    edit(g11, 'key = "sales-premium"', 'key = "sales-premium"\ncolour = "blue"')
    error = refused(catalog_dir)
    assert str(g11) in error.message
    assert "plan[1] (key='sales-premium')" in error.message
    assert "colour" in error.message
    assert "'blue'" in error.message


def test_a_value_of_the_wrong_type_is_refused_naming_the_value(catalog_dir: Path) -> None:
    edit(
        catalog_dir / "module-licenses.toml",
        'name = "visible-for"\nconstants = ["VisibleFor"]\ntype = "user"',
        'name = "visible-for"\nconstants = ["VisibleFor"]\ntype = "personal"',
    )
    error = refused(catalog_dir)
    assert "module-licenses.toml" in error.message
    assert "name='visible-for'" in error.message
    assert "'personal'" in error.message


def test_an_extra_info_naming_an_unknown_license_is_refused(catalog_dir: Path) -> None:
    edit(
        catalog_dir / "generation-11.toml",
        "set=user,web,pocket-crm-cal,visible-for,relation-cal,sale-cal",
        "set=user,web,pocket-crm-cal,visible-for,relation-cal,sale-kal",
    )
    error = refused(catalog_dir)
    assert "plan[0] (key='sales-essential')" in error.message
    assert "EXTRAINFO_UNKNOWN_LICENSE" in error.message
    assert "'sale-kal'" in error.message


def test_a_system_list_naming_a_user_license_is_refused(catalog_dir: Path) -> None:
    edit(catalog_dir / "generation-11.toml", '"sale", "sales-t1"]', '"sale", "sales-t1", "quote-cal"]')
    error = refused(catalog_dir)
    assert "'quote-cal', which is a user license" in error.message


def test_a_plan_that_issues_a_license_without_its_prerequisite_is_refused(catalog_dir: Path) -> None:
    edit(
        catalog_dir / "generation-11.toml",
        "set=user,web,pocket-crm-cal,visible-for,relation-cal,sale-cal",
        "set=web,pocket-crm-cal,visible-for,relation-cal,sale-cal",
    )
    error = refused(catalog_dir)
    assert "plan 'sales-essential'" in error.message
    assert "'web' needs 'user'" in error.message


def test_a_documented_combination_that_is_not_the_union_of_its_plans_is_refused(catalog_dir: Path) -> None:
    edit(
        catalog_dir / "generation-11.toml",
        "stakeholder-cal,ej-mod-spm-cal,mktg-auto-cal",
        "stakeholder-cal,ej-mod-spm-cal,mktg-auto-cal,visible-for",
    )
    error = refused(catalog_dir)
    assert "is not the union of its plans" in error.message
    assert "['visible-for']" in error.message


def test_a_missing_combined_plan_license_is_refused(catalog_dir: Path) -> None:
    edit(
        catalog_dir / "generation-11.toml",
        '[[combination_license]]\nsolutions = ["sales", "marketing"]\nplan_license = "ten-salesmarketing"',
        "",
    )
    error = refused(catalog_dir)
    assert "no combined plan license for sales + marketing" in error.message


def test_a_feature_mapped_to_a_license_its_plan_does_not_issue_is_refused(catalog_dir: Path) -> None:
    path = catalog_dir / "generation-11.toml"
    path.write_text(
        path.read_text(encoding="utf-8")
        + '\n[[feature]]\nkey = "sales.quotes-test"\ngroup = "sales-essential"\nen = "Quotes"\nsv = "Offerter"\n'
        'de = "Angebote"\nlicenses = ["quote-cal"]\nprovenance = { kind = "derived", source = "test" }\n',
        encoding="utf-8",
    )
    error = refused(catalog_dir)
    assert "feature[" in error.message
    assert "'quote-cal', which plan(s) ['sales-essential']" in error.message


def test_a_file_that_is_not_toml_is_refused_naming_the_file_and_line(catalog_dir: Path) -> None:
    path = catalog_dir / "generation-9.toml"
    path.write_text("[generation\nkey = 9\n", encoding="utf-8")
    error = refused(catalog_dir)
    assert "generation-9.toml: not valid TOML" in error.message
    assert "line 1" in error.message


def test_a_generation_key_that_does_not_match_its_file_name_is_refused(catalog_dir: Path) -> None:
    (catalog_dir / "generation-9.toml").rename(catalog_dir / "generation-10.toml")
    error = refused(catalog_dir)
    assert "generation key '9' does not match the file name ('10')" in error.message


def test_a_license_listed_twice_is_refused(catalog_dir: Path) -> None:
    path = catalog_dir / "module-licenses.toml"
    text = path.read_text(encoding="utf-8")
    start = text.index('[[license]]\nname = "web"')
    end = text.index("[[license]]", start + 1)
    path.write_text(text + "\n" + text[start:end], encoding="utf-8")
    error = refused(catalog_dir)
    assert "module name 'web' is listed twice" in error.message


def test_every_problem_of_a_file_is_reported_at_once(catalog_dir: Path) -> None:
    g11 = catalog_dir / "generation-11.toml"
    edit(g11, '"sale", "sales-t1"]', '"sale", "sales-t1", "no-such-one"]')
    edit(g11, 'addons = ["cep"', 'addons = ["no-such-addon", "cep"')
    error = refused(catalog_dir)
    assert len(error.details["problems"]) == 2


def test_a_single_generation_file_is_validated_against_the_shipped_licenses(tmp_path: Path) -> None:
    path = tmp_path / "generation-11.toml"
    shutil.copy(DATA_DIR / "generation-11.toml", path)
    summary = validate_path(path)
    assert summary["kind"] == "generation"
    assert summary["plans"] == 6


def test_a_file_that_is_no_catalog_file_is_refused_saying_what_was_expected(tmp_path: Path) -> None:
    path = tmp_path / "other.toml"
    path.write_text('[tool]\nname = "x"\n', encoding="utf-8")
    with pytest.raises(CatalogError, match=r"expected \[\[license\]\], \[\[addon\]\] or \[generation\]"):
        validate_path(path)


def test_a_missing_path_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="no such file or directory"):
        validate_path(tmp_path / "nowhere.toml")
