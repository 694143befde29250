"""The database commands of `lisens`, against a fresh SQLite file: the first command creates the schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lisens.cli.main import run
from tests.db.conftest import LATER


@pytest.fixture
def lisens(tmp_path: Path, capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'cli.db'}"

    def call(*args: str) -> tuple[int, str, str]:
        code = run(["--db", url, *args], clock=lambda: LATER)
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return call


def test_a_tenant_is_set_up_and_checked_from_the_command_line(lisens) -> None:  # type: ignore[no-untyped-def]
    assert lisens("tenant", "create", "acme", "--generation", "11", "--company", "Acme AS")[0] == 0
    assert lisens("seats", "set", "acme", "sales-premium+service-essential", "2")[0] == 0
    assert lisens("user", "add", "acme", "alice")[0] == 0
    code, out, _ = lisens("assign", "acme", "alice", "--plan", "service-essential", "--plan", "sales-premium", "--json")
    assert code == 0
    assert json.loads(out)["after"]["plan"] == "sales-premium+service-essential"
    assert lisens("check", "acme", "alice", "quote-cal", "ej-client")[0] == 0
    code, out, _ = lisens("check", "acme", "alice", "quote-cal", "mktg-auto-cal", "--json")
    assert code == 1
    assert [d["held"] for d in json.loads(out)] == [True, False]


def test_refusals_exit_1_with_the_error_code(lisens) -> None:  # type: ignore[no-untyped-def]
    lisens("tenant", "create", "acme", "-g", "11")
    lisens("user", "add", "acme", "alice")
    code, _, err = lisens("assign", "acme", "alice", "--plan", "sales-premium")
    assert code == 1
    assert err.startswith("error SEAT_LIMIT_REACHED: no free seat of plan sales-premium (ten-sales): 0 in use of 0")
    code, _, err = lisens("tenant", "show", "nowhere")
    assert (code, err.split(":")[0]) == (1, "error UNKNOWN_TENANT")
    code, _, err = lisens("assign", "acme", "alice", "--plan", "sales-premium", "--at", "yesterday")
    assert (code, err.split(":")[0]) == (1, "error INVALID_TIME")


def test_an_unusable_database_url_is_refused_with_a_code(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--db", "mysql://nobody@nowhere/x", "tenant", "list"]) == 1
    assert capsys.readouterr().err.startswith("error INVALID_DATABASE_URL")


def test_panel_user_show_and_audit_speak_json(lisens) -> None:  # type: ignore[no-untyped-def]
    lisens("tenant", "create", "acme", "-g", "11", "--at", "2026-01-01")
    lisens("seats", "set", "acme", "sales-essential", "1", "--at", "2026-01-01")
    lisens("user", "add", "acme", "alice", "--at", "2026-01-01")
    lisens("assign", "acme", "alice", "--plan", "sales-essential", "--at", "2026-02-01")
    panel = json.loads(lisens("panel", "acme", "--json")[1])
    assert panel["user_licenses"][0]["in_use"] == 1
    shown = json.loads(lisens("user", "show", "acme", "alice", "--json")[1])
    assert "superoffice.sale-cal" in {e["license"] for e in shown["effective"]}
    assert len(shown["effective"]) == 15  # exactly seed 004's Sales-Essential table
    before = json.loads(lisens("audit", "acme", "--user", "alice", "--at", "2026-01-15", "--json")[1])
    after = json.loads(lisens("audit", "acme", "--user", "alice", "--at", "2026-03-01", "--json")[1])
    assert before["holdings"]["plan"] is None
    assert after["holdings"]["plan"] == "sales-essential"


def test_bulk_assign_reads_a_csv_file(lisens, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    lisens("tenant", "create", "acme", "-g", "11")
    lisens("seats", "set", "acme", "sales-premium", "1")
    csv_file = tmp_path / "users.csv"
    csv_file.write_text("user,plans,licenses\nalice,sales-premium,\nbob,sales-premium,\n", encoding="utf-8")
    code, out, err = lisens("bulk-assign", "acme", str(csv_file), "--create-users")
    assert code == 1
    assert "error BULK_ASSIGN_FAILED: 1 of 2 rows failed; nothing was applied" in err
    assert json.loads(lisens("tenant", "show", "acme", "--json")[1])["users"] == 0
    code, out, _ = lisens("bulk-assign", "acme", str(csv_file), "--create-users", "--partial", "--json")
    assert code == 0
    assert json.loads(out)["applied"] == 1


def test_db_upgrade_reports_the_head_revision(lisens) -> None:  # type: ignore[no-untyped-def]
    from alembic.script import ScriptDirectory

    from lisens.db.migrate import alembic_config

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    code, out, _ = lisens("db", "upgrade")
    assert code == 0
    assert out.strip() == f"database at revision {head}"


def test_users_are_listed_and_filtered_by_plan_and_login(lisens) -> None:  # type: ignore[no-untyped-def]
    lisens("tenant", "create", "acme", "-g", "11")
    lisens("seats", "set", "acme", "sales-premium", "1")
    for name in ("alice", "bob"):
        lisens("user", "add", "acme", name)
    lisens("assign", "acme", "alice", "--plan", "sales-premium")
    assert lisens("user", "set", "acme", "bob", "--no-log-in")[0] == 0
    by_plan = json.loads(lisens("user", "list", "acme", "--plan", "sales-premium", "--json")[1])
    no_login = json.loads(lisens("user", "list", "acme", "--no-log-in", "--json")[1])
    assert [u["user"] for u in by_plan] == ["alice"]
    assert [u["user"] for u in no_login] == ["bob"]


def test_a_subscription_is_created_renewed_and_invoiced_from_the_command_line(lisens) -> None:  # type: ignore[no-untyped-def]
    lisens("tenant", "create", "acme", "-g", "11", "--at", "2026-01-01")
    lisens("seats", "set", "acme", "sales-premium", "4", "--at", "2026-01-01T08:00:00")
    code, out, _ = lisens(
        "subscription",
        "create",
        "acme",
        "--period",
        "6",
        "--start",
        "2026-01-01",
        "--at",
        "2026-01-01T09:00:00",
        "--json",
    )
    assert code == 0
    assert json.loads(out)["license"]["expiry"] == "2027-01-01"
    code, out, _ = lisens("seats", "set", "acme", "sales-premium", "2", "--at", "2026-03-01", "--json")
    assert json.loads(out)["scheduled"] == {"effective": "2027-01-01", "number": 2}
    preview = json.loads(lisens("invoice", "preview", "acme", "--at", "2026-02-01", "--json")[1])
    assert (preview["issued"], preview["total"]) == ("2026-07-01", "1416.00")
    renewed = json.loads(lisens("subscription", "renew", "acme", "--at", "2027-01-01", "--json")[1])
    assert [i["issued"] for i in renewed["issued"]] == ["2026-01-01", "2026-07-01", "2027-01-01"]
    listed = json.loads(lisens("invoices", "acme", "--from", "2026-01-01", "--to", "2027-08-01", "--json")[1])
    assert [(i["issued"], i["final"]) for i in listed] == [
        ("2026-01-01", True), ("2026-07-01", True), ("2027-01-01", True), ("2027-07-01", False)
    ]  # fmt: skip
    assert lisens("subscription", "cancel", "acme", "--at", "2027-02-01")[0] == 0
    lisens("user", "add", "acme", "alice", "--at", "2027-02-02")
    lisens("assign", "acme", "alice", "--plan", "sales-premium", "--at", "2027-02-03")
    assert lisens("check", "acme", "alice", "quote-cal", "--at", "2027-06-01")[0] == 0
    code, out, _ = lisens("check", "acme", "alice", "quote-cal", "--at", "2027-07-20", "--json")
    assert (code, json.loads(out)[0]["reason"]) == (1, "LICENSE_EXPIRED")


def test_prices_show_labels_the_shipped_prices_as_examples(lisens) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = lisens("prices", "show", "--generation", "11", "--json")
    data = json.loads(out)
    assert (code, data["example"], data["monthly"]["sales-premium"]) == (0, True, "59.00")
    assert len(data["monthly"]) == 26


def test_keys_packages_and_snapshots_from_the_command_line(lisens, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    keys = tmp_path / "keys"
    assert lisens("keys", "generate", "--dir", str(keys))[0] == 0
    private, public = keys / "lisens.key", keys / "lisens.pub"
    lisens("tenant", "create", "acme", "-g", "11")
    lisens("seats", "set", "acme", "sales-premium", "2")
    lisens("user", "add", "acme", "alice")
    lisens("assign", "acme", "alice", "--plan", "sales-premium")
    out = tmp_path / "acme.json"
    assert (
        lisens(
            "package", "issue", "acme", "--key", str(private), "--out", str(out), "--xml", str(tmp_path / "acme.xml")
        )[0]
        == 0
    )
    assert lisens("package", "verify", str(out), "--public-key", str(public))[0] == 0
    assert lisens("package", "activate", "acme", str(out), "--public-key", str(public), "--json")[0] == 0
    tampered = tmp_path / "tampered.json"
    tampered.write_text(out.read_text().replace('"sales-premium": 2', '"sales-premium": 200'))
    code, _, err = lisens("package", "verify", str(tampered), "--public-key", str(public))
    assert (code, err.split(":")[0]) == (1, "error SIGNATURE_INVALID")
    snapshot = tmp_path / "snap.json"
    assert lisens("snapshot", "issue", "acme", "--key", str(private), "--ttl", "1h", "--out", str(snapshot))[0] == 0
    assert (
        lisens(
            "snapshot", "check", str(snapshot), "alice", "quote-cal", "--public-key", str(public), "--tenant", "acme"
        )[0]
        == 0
    )
    assert (
        lisens(
            "snapshot",
            "check",
            str(snapshot),
            "alice",
            "mktg-auto-cal",
            "--public-key",
            str(public),
            "--tenant",
            "acme",
        )[0]
        == 1
    )
    code, _, err = lisens("snapshot", "issue", "acme", "--key", str(private), "--ttl", "forever")
    assert (code, err.split(":")[0]) == (1, "error INVALID_TTL")


def test_crm_suite_plan_limits_and_plan_changes_from_the_command_line(lisens) -> None:  # type: ignore[no-untyped-def]
    lisens("tenant", "create", "acme", "-g", "suite")
    lisens("seats", "set", "acme", "core", "2")
    assert lisens("user", "add", "acme", "ann")[0] == 0
    assert lisens("usage", "set", "acme", "projects", "99")[0] == 0
    code, _, err = lisens("usage", "add", "acme", "projects", "--count", "2")
    assert (code, err.split(":")[0]) == (1, "error PLAN_LIMIT_REACHED")
    limits = json.loads(lisens("fencing", "acme", "--json")[1])
    projects = next(m for m in limits["metrics"] if m["metric"] == "projects")
    assert (projects["ActiveCount"], projects["Maximum"], projects["IsNearingMaximum"]) == (99, 100, True)
    assert json.loads(lisens("plan", "change", "acme", "growth", "--json")[1])["plan"] == "growth"
    assert json.loads(lisens("user", "show", "acme", "ann", "--json")[1])["plan"] == "growth"
    report = json.loads(lisens("tenant", "report", "--json")[1])
    assert report["suite"]["seats"] == {"growth": 2}


def test_times_at_the_edges_of_the_calendar_are_refused_with_a_code(lisens) -> None:  # type: ignore[no-untyped-def]
    lisens("tenant", "create", "acme", "-g", "11")
    for args in (
        ("subscription", "create", "acme", "--start", "9999-12-31", "--period", "12"),
        ("subscription", "create", "acme", "--start", "0001-01-01", "--period", "12"),
        ("seats", "set", "acme", "sales-premium", "3", "--at", "9999-12-31T23:59:59"),
        ("check", "acme", "alice", "quote-cal", "--at", "0001-01-01"),
    ):
        code, _, err = lisens(*args)
        assert (code, err.split(":")[0]) == (1, "error INVALID_TIME"), args
        assert "Traceback" not in err


def test_packages_from_the_command_line_only_move_forward(lisens, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    keys = tmp_path / "keys"
    lisens("keys", "generate", "--dir", str(keys))
    private, public = keys / "lisens.key", keys / "lisens.pub"
    lisens("tenant", "create", "acme", "-g", "11")
    lisens("seats", "set", "acme", "sales-premium", "8")
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    assert lisens("package", "issue", "acme", "--key", str(private), "--out", str(old))[0] == 0
    lisens("seats", "set", "acme", "sales-premium", "3")
    assert lisens("package", "issue", "acme", "--key", str(private), "--out", str(new), "--lower-now")[0] == 0
    assert json.loads(new.read_text())["lowering"] == "now"
    assert lisens("package", "activate", "acme", str(new), "--public-key", str(public))[0] == 0
    code, _, err = lisens("package", "activate", "acme", str(old), "--public-key", str(public))
    assert (code, err.split(":")[0]) == (1, "error PACKAGE_SUPERSEDED")
    shown = json.loads(lisens("tenant", "show", "acme", "--json")[1])
    assert shown["seats"] == {"sales-premium": 3}


def test_lisens_migrate_is_the_earlier_name_of_lisens_move(lisens) -> None:  # type: ignore[no-untyped-def]
    lisens("tenant", "create", "acme", "-g", "11")
    now = lisens("move", "preview", "acme", "--to", "suite", "--json")
    earlier = lisens("migrate", "preview", "acme", "--to", "suite", "--json")
    assert now[0] == 0
    assert earlier == now


def test_a_negative_number_is_refused_with_the_error_naming_it(lisens) -> None:  # type: ignore[no-untyped-def]
    lisens("tenant", "create", "acme", "-g", "11")
    code, _, err = lisens("seats", "set", "acme", "sales-premium", "-3")
    assert code == 1
    assert err.startswith("error INVALID_NUMBER:")
    assert "-3" in err
