"""`invoiceflow serve`: one process serves the API and does the work, logs JSON lines, and
on SIGTERM stops taking requests and hands its work back."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from invoiceflow.engine import Engine
from invoiceflow.functions import Registry
from invoiceflow.functions.worker import full_worker
from invoiceflow.samples import SAMPLES
from invoiceflow.serve import WorkerLoop
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


HANGING = {
    "StartAt": "Hang",
    "States": {
        "Hang": {
            "Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:000000000000:function:hang",
            "End": True,
        }
    },
}


def test_serve_stops_within_its_drain_timeout_whatever_is_running(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/serve.db"
    key = cli("keys", "create", "--tenant", "acme", "--database-url", url)
    db = SQLiteDatabase(str(tmp_path / "serve.db"))
    engine = Engine.open(db, invoker=Registry())
    machine = engine.client.create_state_machine(name="hang", definition=json.dumps(HANGING))
    arn = engine.client.start_execution(stateMachineArn=machine["stateMachineArn"])
    command = [sys.executable, "-m", "tests.api.hanging", url, "2"]
    with subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE) as proc:
        try:
            assert proc.stderr is not None
            serving = json.loads(proc.stderr.readline())
            assert serving["event"] == "serving"
            while json.loads(proc.stderr.readline())["event"] != "hanging":
                pass
            with connect(serving["url"]) as sock:  # an upload whose body never comes
                auth = ("Authorization", f"Bearer {key}")
                sock.sendall(head("POST", "/v1/containers", auth, ("Content-Length", "999")))
                sock.sendall(b"invoice_number,total\n")
                proc.send_signal(signal.SIGTERM)
                code = proc.wait(timeout=60)
            events = [json.loads(line)["event"] for line in proc.stderr.read().splitlines()]
        finally:
            proc.kill()
    # Whether the worker could let go of the handler (the engine runs handlers in a pool of
    # its own) or the process had to abandon it, serve ended, and said which.
    abandoned = "stopped, abandoning work still running" in events
    assert "stopping" in events and code == (1 if abandoned else 0), events
    assert abandoned or events[-1] == "stopped", events
    with db.transaction(write=False) as tx:  # the leases were handed back ...
        held = tx.fetch_raw(
            "SELECT (SELECT COUNT(*) FROM executions WHERE lease_owner IS NOT NULL)"
            " + (SELECT COUNT(*) FROM tasks WHERE lease_owner IS NOT NULL)"
        )
    assert held == [(0,)]
    registry = Registry()  # ... so another worker takes the work over at once
    registry.register("hang", lambda event, context: "done")
    worker = full_worker(Engine.open(db, invoker=registry).runtime, registry)
    working = threading.Thread(target=worker.run)
    working.start()
    try:
        deadline = time.monotonic() + 30
        while (
            engine.client.describe_execution(executionArn=arn["executionArn"])["status"]
            == "RUNNING"
        ):
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        worker.stop()
        working.join()
    described = engine.client.describe_execution(executionArn=arn["executionArn"])
    db.close()
    assert described["status"] == "SUCCEEDED" and described["output"] == '"done"'


class Dying:
    """A worker whose loop dies of a defect."""

    owner = "dying"

    def run(self) -> None:
        raise RuntimeError("the loop broke")

    def stop(self) -> None:
        pass


def test_readiness_fails_with_the_reason_once_the_worker_loop_dies() -> None:
    loop = WorkerLoop(Dying())  # type: ignore[arg-type]
    assert loop.ready() is not True  # not started: not ready
    loop.thread.start()
    loop.thread.join()
    assert loop.ready() == "The worker stopped: RuntimeError('the loop broke')."
