"""`lisens webhook …` and `lisens worker`: a real worker process killed while an endpoint holds its request."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from lisens.cli.main import run
from tests.service.test_webhooks import free_port


def lisens(capsys: pytest.CaptureFixture[str], db: str, *args: str) -> Any:
    assert run(["--db", db, *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_a_worker_killed_mid_delivery_is_replaced_and_the_delivery_keeps_its_id(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = f"sqlite:///{tmp_path / 'lisens.db'}"
    received: list[str] = []
    hold = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["content-length"]))
            received.append(self.headers["webhook-id"])
            if len(received) == 1:
                hold.set()
                time.sleep(3)  # the first attempt hangs: the worker is killed while waiting
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        lisens(capsys, db, "tenant", "create", "acme", "--generation", "11")
        hook = lisens(capsys, db, "webhook", "add", f"http://127.0.0.1:{server.server_port}/", "--tenant", "acme")
        lisens(capsys, db, "user", "add", "acme", "ann")
        env = {**os.environ, "LISENS_DATABASE_URL": db}
        worker = subprocess.Popen(
            [sys.executable, "-m", "lisens.cli", "worker", "--lease", "1"], env=env, stdout=subprocess.DEVNULL
        )
        try:
            assert hold.wait(30)
            worker.send_signal(signal.SIGKILL)
            worker.wait(10)
        finally:
            if worker.poll() is None:
                worker.kill()
        time.sleep(1.1)  # the killed worker's lease runs out
        report = lisens(capsys, db, "worker", "--once")
        assert report["attempts"] == 1
        assert received == [received[0], received[0]]
        (delivery,) = lisens(capsys, db, "webhook", "deliveries", str(hook["id"]), "--tenant", "acme")
        assert delivery["state"] == "delivered"
        assert delivery["attempts"] == 2
        assert delivery["message_id"] == received[0]
        listed = lisens(capsys, db, "webhook", "list")
        assert [w["id"] for w in listed] == [hook["id"]]
        assert lisens(capsys, db, "webhook", "replay", str(hook["id"]), "--from", "1")["streams"] == 1
    finally:
        server.shutdown()
        server.server_close()


def test_webhook_add_disable_and_remove_are_written_to_the_tenant_log_and_the_vendor_log(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = f"sqlite:///{tmp_path / 'lisens.db'}"
    lisens(capsys, db, "tenant", "create", "acme", "--generation", "11")
    hook = lisens(capsys, db, "webhook", "add", "https://crm.example.com/hook", "--tenant", "acme")
    lisens(capsys, db, "webhook", "disable", str(hook["id"]), "--tenant", "acme")
    lisens(capsys, db, "webhook", "remove", str(hook["id"]), "--tenant", "acme")
    entries = lisens(capsys, db, "audit", "acme")
    logged = [(e["action"], e["subject"]) for e in entries if e["action"].startswith("webhook.")]
    subject = f"webhook {hook['id']}"
    assert logged == [("webhook.create", subject), ("webhook.disable", subject), ("webhook.remove", subject)]
    assert hook["secret"] not in json.dumps(entries)
    vendor_before = lisens(capsys, db, "audit", "verify", "--vendor")["entries"]
    everyone = lisens(capsys, db, "webhook", "add", "https://billing.example.com/lisens")
    lisens(capsys, db, "webhook", "remove", str(everyone["id"]))
    verified = lisens(capsys, db, "audit", "verify", "--vendor")
    assert verified["ok"] is True
    assert verified["entries"] == vendor_before + 2
