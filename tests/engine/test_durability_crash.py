"""Worker processes killed with SIGKILL, per durability: what runs again after the crash.

In both modes a handler whose result was committed never runs again, every execution ends
SUCCEEDED and every transition happens once. Per step, besides, no handler starts before
the previous Task's result is committed: a crash repeats only the step in flight.
Each handler logs, as it starts, how many of its execution's results were committed then
(see ``durability_handlers``); the assertions read that log. The machines set their own
durability, and the workers' default is the other one: the machine's setting decides.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from invoiceflow.engine import Engine, StepFunctionsClient
from invoiceflow.store.sqlite import SQLiteDatabase

ROOT = Path(__file__).resolve().parents[2]


def task(k: int, **more: Any) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Resource": "step",
        "Parameters": {"name.$": "$$.Execution.Name", "k": k},
        "ResultPath": f"$.t{k}",
        **more,
    }


THREE = {
    "StartAt": "T1",
    "States": {"T1": task(1, Next="T2"), "T2": task(2, Next="T3"), "T3": task(3, End=True)},
}


class Run:
    """An engine database with ``n`` executions of THREE waiting per machine (named by
    durability, their executions by the machine's first letter), and the effects log."""

    def __init__(self, tmp: Path, durabilities: list[str], n: int) -> None:
        self.db_path, self.effects = tmp / "engine.db", tmp / "effects.db"
        with sqlite3.connect(self.effects) as conn:
            conn.execute(
                "CREATE TABLE attempts (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL,"
                " k INTEGER NOT NULL, done INTEGER NOT NULL)"
            )
            conn.execute("CREATE TABLE ledger (key TEXT PRIMARY KEY)")
            conn.execute("CREATE TABLE kills (k INTEGER PRIMARY KEY, name TEXT NOT NULL)")
        self.db = SQLiteDatabase(str(self.db_path))
        self.db.migrate()
        self.client: StepFunctionsClient = Engine.open(self.db).client
        self.machines: dict[str, str] = {}  # execution name prefix -> machine ARN
        for durability in durabilities:
            arn = self.client.create_state_machine(
                name=durability, definition=json.dumps(THREE), durability=durability
            )["stateMachineArn"]
            assert self.client.describe_state_machine(stateMachineArn=arn)["durability"] == (
                durability
            )
            self.machines[durability[0]] = arn
        self.n = n
        for i in range(n):  # interleaved: a round takes executions of every machine
            for prefix, arn in self.machines.items():
                self.client.start_execution(stateMachineArn=arn, name=f"{prefix}{i}")

    def spawn(
        self, name: str, kill_at: int | None = None, default: str | None = None
    ) -> subprocess.Popen[bytes]:
        """A worker process: ``invoiceflow worker``, with ``default`` as its default
        durability when given (``--durability``)."""
        command = [sys.executable, "-m", "invoiceflow", "worker", "--name", name]
        command += ["--database-url", f"sqlite:///{self.db_path}", "--lease", "1.0"]
        command += ["--handlers", "tests.engine.durability_handlers"]
        if default is not None:
            command += ["--durability", default]
        env = {
            **os.environ,
            "INVOICEFLOW_CRASH_EFFECTS": str(self.effects),
            "INVOICEFLOW_ENGINE_DB": str(self.db_path),
        }
        if kill_at is not None:
            env["INVOICEFLOW_KILL_AT"] = str(kill_at)
        return subprocess.Popen(command, cwd=ROOT, env=env)

    def attempts(self) -> list[tuple[str, int, int]]:
        """Every handler run so far, in order: (execution, k, results committed then)."""
        with sqlite3.connect(self.effects, timeout=30) as conn:
            return list(conn.execute("SELECT name, k, done FROM attempts ORDER BY id"))

    def finish(self, default: str | None = None) -> None:
        """A worker under a new name, so it waits for the dead one's leases to run out,
        runs until nothing is RUNNING."""
        worker = self.spawn("survivor", default=default)
        try:
            deadline = time.monotonic() + 120
            while self.running():
                assert time.monotonic() < deadline, "executions still running"
                assert worker.poll() is None, "the survivor exited on its own"
                time.sleep(0.05)
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=30)

    def running(self) -> int:
        with self.db.transaction(write=False) as tx:
            rows = tx.fetch_raw("SELECT COUNT(*) FROM executions WHERE status = 'RUNNING'")
        return int(rows[0][0])

    def check_exactly_once(self) -> list[tuple[str, int, int]]:
        """Every execution SUCCEEDED with every transition once and every effect made;
        no handler ran although its result was committed. Returns the attempts."""
        names = []
        for prefix, arn in self.machines.items():
            base = arn.replace(":stateMachine:", ":execution:")
            for i in range(self.n):
                names.append(f"{prefix}{i}")
                described = self.client.describe_execution(executionArn=f"{base}:{prefix}{i}")
                assert described["status"] == "SUCCEEDED", described
                assert json.loads(described["output"]) == {"t1": 1, "t2": 2, "t3": 3}
                history = self.client.get_execution_history(executionArn=f"{base}:{prefix}{i}")
                events = history["events"]
                assert [e["id"] for e in events] == list(range(1, len(events) + 1))
                types = [e["type"] for e in events]
                assert types.count("LambdaFunctionSucceeded") == 3, (prefix, i, types)
                assert types.count("TaskStateEntered") == 3, (prefix, i, types)
        with sqlite3.connect(self.effects) as conn:
            ledger = {key for (key,) in conn.execute("SELECT key FROM ledger")}
        assert ledger == {f"{name}:{k}" for name in names for k in (1, 2, 3)}
        with self.db.transaction(write=False) as tx:
            left = [tx.fetch_raw(f"SELECT COUNT(*) FROM {t}")[0][0] for t in ("mailbox", "tasks")]
        assert left == [0, 0]
        attempts = self.attempts()
        again = [(name, k, done) for name, k, done in attempts if done >= k]
        assert again == [], "handlers ran again although their results were committed"
        return attempts


def by_execution(attempts: list[tuple[str, int, int]]) -> dict[str, list[int]]:
    out: defaultdict[str, list[int]] = defaultdict(list)
    for name, k, _ in attempts:
        out[name].append(k)
    return out


@pytest.mark.parametrize(
    ("durability", "default"), [("batched", "per-step"), ("per-step", "batched")]
)
def test_a_worker_killed_inside_a_handler(tmp_path: Path, durability: str, default: str) -> None:
    """The first run of the second Task anywhere kills its worker: per step, the first
    Task's result was committed before it started, so only the second runs again; batched,
    the round had committed nothing, so the first runs again too."""
    run = Run(tmp_path, [durability], n=40)
    doomed = run.spawn("doomed", kill_at=2, default=default)
    assert doomed.wait(timeout=120) == -signal.SIGKILL
    with sqlite3.connect(run.effects) as conn:
        [(victim,)] = conn.execute("SELECT name FROM kills").fetchall()
    # (Another T2 may have started too if the victim's was slow to die: it counts as any.)
    [done] = [d for name, k, d in run.attempts() if (name, k) == (victim, 2)]
    run.finish(default)

    attempts = run.check_exactly_once()
    runs = by_execution(attempts)
    if durability == "per-step":
        assert done == 1
        assert [a for a in attempts if a[2] != a[1] - 1] == []  # each result before the next
        assert runs[victim] == [1, 2, 2, 3]
        assert all(ks == sorted(ks) for ks in runs.values())  # nothing went back
    else:
        # Its T1 ran in the same round, uncommitted (unless it went on in the background,
        # committed on its own): then it ran again after the crash.
        assert runs[victim] == ([1, 2, 1, 2, 3] if done == 0 else [1, 2, 2, 3])
    print(f"{durability}: {victim} ran {runs[victim]}")


def test_workers_killed_at_random_moments(tmp_path: Path) -> None:
    """``invoiceflow worker`` (default batched) killed four times, over a per-step machine
    and a batched one whose executions share its rounds."""
    seed = int(os.environ.get("CRASH_SEED", time.time_ns()))
    print(f"CRASH_SEED={seed}")
    rng = random.Random(seed)
    run = Run(tmp_path, ["per-step", "batched"], n=150)
    for _ in range(4):
        seen = len(run.attempts())
        worker = run.spawn("crash-worker")  # the same name: takes its leases over at once
        deadline = time.monotonic() + 60
        while len(run.attempts()) == seen and time.monotonic() < deadline:
            assert worker.poll() is None, "the worker exited on its own"
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.3))
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    run.finish()

    attempts = run.check_exactly_once()  # in both modes: nothing committed ran again
    for prefix in ("p", "b"):
        mine = [a for a in attempts if a[0].startswith(prefix)]
        print(f"{prefix}: {len(mine) - 3 * run.n} handler runs repeated (seed {seed})")
    per_step = [a for a in attempts if a[0].startswith("p")]
    early = [a for a in per_step if a[2] != a[1] - 1]
    assert early == [], f"handlers ran before the previous result was committed (seed {seed})"
    # What a crash repeats is at most the step in flight: an execution never goes back.
    for name, ks in by_execution(per_step).items():
        assert ks == sorted(ks), (name, ks, seed)
