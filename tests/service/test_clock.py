"""The server's clock is read in one place: every other time is an input (Context.clock)."""

import ast
from pathlib import Path

import lisens

SOURCE = Path(lisens.__file__).parent
# The one reader of the server's clock; the offline client, which runs on an app server with its own; and
# the request log, whose lines carry the moment they are written, as every log record does (never the
# time of a change).
ALLOWED = {"service/context.py", "offline.py", "api/observability.py"}
CLOCK_CALLS = {("datetime", "now"), ("datetime", "utcnow"), ("datetime", "today"), ("date", "today"), ("time", "time")}


def clock_reads(path: Path) -> list[int]:
    """Line numbers where `path` reads the wall clock (datetime.now(), date.today(), time.time, ...)."""
    lines = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and (node.value.id, node.attr) in CLOCK_CALLS
        ):
            lines.append(node.lineno)
    return sorted(lines)


def test_only_the_context_reads_the_server_clock() -> None:
    offenders = {}
    for path in sorted(SOURCE.rglob("*.py")):
        relative = path.relative_to(SOURCE).as_posix()
        if relative in ALLOWED or "/migrations/versions/" in relative:
            continue
        found = clock_reads(path)
        if found:
            offenders[relative] = found
    assert offenders == {}


def test_the_clock_check_would_notice_a_clock_read(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from datetime import UTC, date, datetime\nimport time\n"
        "x = datetime.now(UTC)\ny = date.today()\nz = time.time\n"
    )
    assert clock_reads(sample) == [3, 4, 5]
