"""Tests mirror src/: each directory of tests/ is a package of lisens (or holds data or the docs' tests)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOT_PACKAGES = {"data", "docs", "__pycache__"}


def test_every_test_directory_mirrors_a_package_of_lisens() -> None:
    packages = {p.name for p in (ROOT / "src" / "lisens").iterdir() if (p / "__init__.py").exists()}
    directories = {p.name for p in (ROOT / "tests").iterdir() if p.is_dir()} - NOT_PACKAGES
    assert directories - packages == set()


def test_use_case_tests_live_under_tests_service() -> None:
    """tests/db tests the persistence layer itself; a test that drives use cases belongs in tests/service."""
    misplaced = [
        p.name
        for p in (ROOT / "tests" / "db").glob("test_*.py")
        if "from lisens.service import" in p.read_text(encoding="utf-8")
    ]
    assert misplaced == []
