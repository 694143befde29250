"""docs/moving-customers.md, its waves: the commands of the example run as written, with time passing as
the comments say (the worker runs on the day it is given with --until)."""

from __future__ import annotations

import json
import re
import shlex
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lisens.cli.main import run
from lisens.service.context import parse_time

DOC = Path(__file__).parents[2] / "docs" / "moving-customers.md"


def example_commands() -> list[list[str]]:
    """Every `lisens …` command of the sh blocks after the heading on waves, in order."""
    text = DOC.read_text(encoding="utf-8").split("## Waves", 1)[1]
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S):
        for line in block.splitlines():
            line = line.split("#", 1)[0].strip()
            for command in filter(None, (part.strip() for part in line.split("&&"))):
                words = shlex.split(command)
                assert words[0] == "lisens", command
                commands.append(words[1:])
    return commands


def test_the_wave_example_runs_as_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'lisens.db'}"
    clock = {"now": datetime(2026, 6, 1, 9, 0, tzinfo=UTC)}
    outputs = []
    for args in example_commands():
        if args[0] == "worker" and "--until" in args:
            clock["now"] = parse_time(args[args.index("--until") + 1]) + timedelta(hours=1)
        code = run(["--db", url, *args], clock=lambda: clock["now"])
        out = capsys.readouterr().out
        assert code == 0, (args, out)
        outputs.append((args, out))
    worker_lines = [out for args, out in outputs if args[0] == "worker"]
    assert [line.split(",")[0] for line in worker_lines] == [
        "moved 1 tenants of waves",
        "moved 0 tenants of waves",
        "moved 1 tenants of waves",
    ]
    report = next(out for args, out in outputs if args[-1] == "--csv" and args[1] == "wave")
    assert [line.split(",")[:3] for line in report.splitlines()[1:]] == [
        ["north", "moved", "2027-01-01"],
        ["south", "moved", "2027-01-15"],
    ]
    code = run(["--db", url, "move", "wave", "report", "1", "--json"], clock=lambda: clock["now"])
    final = json.loads(capsys.readouterr().out)
    assert (code, final["status"], final["counts"]["rolled-back"]) == (0, "cancelled", 2)
    assert {t["tenant"]: t["generation"] for t in final["tenants"]} == {"north": "11", "south": "11"}
    assert run(["--db", url, "audit", "verify", "--vendor"], clock=lambda: clock["now"]) == 0
