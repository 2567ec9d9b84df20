"""`invoiceflow serve`: one process serves the API and does the work, logs JSON lines, and
on SIGTERM stops taking requests and hands its work back."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from invoiceflow.samples import SAMPLES
from invoiceflow.store.sqlite import SQLiteDatabase
from tests.api.rawhttp import connect, head, read_answer, send_quietly

MiB = 1024 * 1024
JSON = ("Content-Type", "application/json")

ROOT = Path(__file__).resolve().parents[1]


def cli(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "invoiceflow", *args], cwd=ROOT, capture_output=True, check=True
    )
    return done.stdout.decode().strip()


@contextmanager
def serving(tmp_path: Path, *extra: str) -> Iterator[tuple[subprocess.Popen[bytes], str, str]]:
    """A running ``invoiceflow serve`` on 127.0.0.1: (process, its URL, a key of acme's)."""
    url = f"sqlite:///{tmp_path}/serve.db"
    key = cli("keys", "create", "--tenant", "acme", "--database-url", url)
    command = [sys.executable, "-m", "invoiceflow", "serve", "--port", "0", "--json-logs"]
    with subprocess.Popen(
        [*command, "--database-url", url, *extra], cwd=ROOT, stderr=subprocess.PIPE
    ) as proc:
        try:
            assert proc.stderr is not None
            first = json.loads(proc.stderr.readline())
            assert first["event"] == "serving" and first["url"].startswith("http://127.0.0.1:")
            yield proc, first["url"], key
        finally:
            proc.kill()


def peak_memory(pid: int) -> int:
    """The process's peak resident set so far, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def test_huge_heads_and_bodies_cost_the_server_little(tmp_path: Path) -> None:
    with serving(tmp_path) as (proc, url, key):
        with httpx.Client(base_url=url) as client:  # warm: the first requests import things
            assert client.get("/healthz").status_code == 200
            assert client.post("/v1/tasks/success", json={}).status_code == 401
        before = peak_memory(proc.pid)
        body = b"[" + b"1," * (50 * MiB) + b"1]"  # 100 MB of JSON
        anonymous = head("POST", "/v1/tasks/success", JSON, ("Content-Length", str(len(body))))
        with connect(url) as sock:
            sock.sendall(anonymous)
            send_quietly(sock, body)
            assert read_answer(sock).status == 401
        auth = ("Authorization", f"Bearer {key}")
        chunked = head("POST", "/v1/tasks/success", JSON, auth, ("Transfer-Encoding", "chunked"))
        with connect(url) as sock:
            sock.sendall(chunked)
            send_quietly(sock, b"%x\r\n%s\r\n" % (len(body), body))
            assert read_answer(sock).status == 413
        with connect(url) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ")
            send_quietly(sock, b"x" * 32 * MiB)
            assert read_answer(sock).status == 431
        grew = peak_memory(proc.pid) - before
    assert grew < 16 * MiB, f"the server grew by {grew // MiB} MiB"


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
