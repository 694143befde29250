"""`lisens move plan --save`, `lisens move wave …` and the worker's wave moves, against a fresh SQLite file."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from lisens.cli.main import run

NOW = datetime(2026, 2, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def lisens(tmp_path: Path, capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    clock = {"now": NOW}

    def call(*args: str) -> tuple[int, str, str]:
        code = run(["--db", url, *args], clock=lambda: clock["now"])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    call.clock = clock  # type: ignore[attr-defined]
    return call


def cohort(lisens) -> None:  # type: ignore[no-untyped-def]
    for name, plan, start in (("alpha", "sales-essential", "2026-01-01"), ("beta", "sales-premium", "2026-01-15")):
        assert lisens("tenant", "create", name, "-g", "11")[0] == 0
        assert lisens("seats", "set", name, plan, "2")[0] == 0
        assert lisens("user", "add", name, "ann")[0] == 0
        assert lisens("assign", name, "ann", "--plan", plan)[0] == 0
        assert lisens("subscription", "create", name, "--start", start, "--period", "12")[0] == 0
        assert lisens("tenant", "tag", "add", name, "segment=smb")[0] == 0


def test_a_saved_plan_runs_as_a_wave_at_renewal_with_a_pause_and_a_rollback(lisens) -> None:  # type: ignore[no-untyped-def]
    cohort(lisens)
    code, out, _ = lisens("move", "plan", "--to", "suite", "--tag", "segment=smb", "--save", "smb")
    assert (code, "saved as plan 'smb'" in out) == (0, True)
    code, out, _ = lisens("move", "plans", "--json")
    assert [p["name"] for p in json.loads(out)] == ["smb"]
    code, out, _ = lisens("move", "wave", "create", "smb", "--at", "renewal", "--json")
    assert code == 0
    wave = json.loads(out)
    assert [(t["tenant"], t["effective"]) for t in wave["tenants"]] == [("alpha", "2027-01-01"), ("beta", "2027-01-15")]
    lisens.clock["now"] = datetime(2027, 2, 1, tzinfo=UTC)
    code, out, _ = lisens("worker", "--once", "--until", "2026-12-31", "--json")
    assert (code, json.loads(out)["waves"]) == (0, {})
    assert lisens("move", "wave", "pause", "1")[0] == 0
    code, out, _ = lisens("worker", "--once", "--until", "2027-01-20", "--json")
    assert json.loads(out)["waves"] == {}  # paused: due moves wait
    assert lisens("move", "wave", "resume", "1")[0] == 0
    code, out, _ = lisens("worker", "--once", "--until", "2027-01-20")
    assert (code, out.startswith("moved 2 tenants of waves")) == (0, True)
    code, out, _ = lisens("move", "wave", "report", "1", "--csv")
    assert out.splitlines()[0] == "tenant,state,effective,from,to,generation,reason,detail,done_at"
    assert [line.split(",")[:2] for line in out.splitlines()[1:]] == [["alpha", "moved"], ["beta", "moved"]]
    code, out, _ = lisens("move", "wave", "report", "1")
    assert (code, "2 moved" in out) == (0, True)
    code, out, _ = lisens("move", "wave", "rollback", "1", "--tenant", "beta", "--json")
    assert (code, json.loads(out)["state"], json.loads(out)["generation"]) == (0, "rolled-back", "11")
    code, out, _ = lisens("move", "wave", "rollback", "1", "--json")
    assert code == 0
    assert json.loads(out)["counts"]["rolled-back"] == 2
    code, out, _ = lisens("tenant", "show", "alpha", "--json")
    assert json.loads(out)["generation"] == "11"
    code, out, _ = lisens("move", "wave", "list")
    assert (code, "wave 1: to suite at renewal, cancelled" in out) == (0, True)


def test_bad_wave_commands_exit_1_with_a_stable_code(lisens) -> None:  # type: ignore[no-untyped-def]
    cohort(lisens)
    code, _, err = lisens("move", "wave", "create", "nothing")
    assert (code, err.split(":")[0]) == (1, "error UNKNOWN_MOVE_PLAN")
    code, _, err = lisens("move", "wave", "create", "--to", "suite", "--tenant", "alpha", "--at", "2020-01-01")
    assert (code, err.split(":")[0]) == (1, "error WAVE_DATE_PASSED")
    code, _, err = lisens("move", "wave", "show", "7")
    assert (code, err.split(":")[0]) == (1, "error UNKNOWN_WAVE")
    assert lisens("move", "wave", "create", "--to", "suite", "--tenant", "alpha", "--at", "2026-03-01")[0] == 0
    assert lisens("move", "wave", "cancel", "1")[0] == 0
    code, _, err = lisens("move", "wave", "pause", "1")
    assert (code, err.split(":")[0]) == (1, "error WAVE_CANCELLED")
    code, _, _ = lisens("move", "wave", "pause", "x")
    assert code == 2
