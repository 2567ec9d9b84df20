"""`invoiceflow serve`: one process serves the API and does the work, logs JSON lines, and
on SIGTERM stops taking requests and hands its work back."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from invoiceflow.samples import SAMPLES
from invoiceflow.store.sqlite import SQLiteDatabase

ROOT = Path(__file__).resolve().parents[1]


def cli(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "invoiceflow", *args], cwd=ROOT, capture_output=True, check=True
    )
    return done.stdout.decode().strip()


def test_serve_works_alone_and_stops_gracefully(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/serve.db"
    key = cli("keys", "create", "--tenant", "acme", "--database-url", url)
    listed = cli("keys", "list", "--tenant", "acme", "--json", "--database-url", url)
    assert json.loads(listed)["revoked"] is None
    command = [sys.executable, "-m", "invoiceflow", "serve", "--port", "0", "--json-logs"]
    with subprocess.Popen(
        [*command, "--database-url", url], cwd=ROOT, stderr=subprocess.PIPE
    ) as proc:
        try:
            assert proc.stderr is not None
            first = json.loads(proc.stderr.readline())
            assert first["event"] == "serving" and first["url"].startswith("http://127.0.0.1:")
            headers = {"Authorization": f"Bearer {key}"}
            with httpx.Client(base_url=first["url"], headers=headers, timeout=30) as client:
                sample = SAMPLES / "edifact" / "en16931-EDIFACT_EXAMPLE0.edi"
                made = client.post(
                    "/v1/containers", files={"file": (sample.name, sample.read_bytes())}
                )
                assert made.status_code == 201
                deadline = time.monotonic() + 30
                while client.get(made.headers["Location"]).json()["state"] != "Done":
                    assert time.monotonic() < deadline
                    time.sleep(0.05)
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=20) == 0
            lines = [json.loads(line) for line in proc.stderr.read().splitlines() if line]
        finally:
            proc.kill()
    assert [e["event"] for e in lines][-2:] == ["stopping", "stopped"]
    db = SQLiteDatabase(str(tmp_path / "serve.db"))
    with db.transaction(write=False) as tx:
        held = tx.fetch_raw("SELECT COUNT(*) FROM executions WHERE lease_owner IS NOT NULL")
    db.close()
    assert held == [(0,)]  # every lease handed back
