"""Worker processes killed with SIGKILL, per durability: what runs again after the crash.

In both modes a handler whose result was committed never runs again, every execution ends
SUCCEEDED and every transition happens once. Per step, besides, no handler starts before
the previous Task's result is committed: a crash repeats only the step in flight.
Each handler logs, as it starts, how many of its execution's results were committed then
(see ``durability_handlers``); the assertions read that log. The machines set their own
durability, and the workers' default is the other one: the machine's setting decides.
On a SQLite file one worker runs at a time; on PostgreSQL four share the database.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import time
from collections import defaultdict
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from invoiceflow.engine import Engine, StepFunctionsClient
from invoiceflow.store import open_database
from tests.crash_workers import Workers, seeded, wait_for
from tests.postgres_server import POSTGRESQL, SQLITE, Backend
from tests.postgres_server import backend as backend  # the fixture: SQLite, then PostgreSQL

PROCESSES = {SQLITE: 1, POSTGRESQL: 4}
RANDOM_N = {SQLITE: 300, POSTGRESQL: 120}  # per machine


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

    def __init__(self, backend: Backend, tmp: Path, durabilities: list[str], n: int) -> None:
        self.backend, self.effects = backend, tmp / "effects.db"
        with sqlite3.connect(self.effects) as conn:
            conn.execute(
                "CREATE TABLE attempts (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL,"
                " k INTEGER NOT NULL, done INTEGER NOT NULL)"
            )
            conn.execute("CREATE TABLE ledger (key TEXT PRIMARY KEY)")
            conn.execute("CREATE TABLE kills (k INTEGER PRIMARY KEY, name TEXT NOT NULL)")
        self.db = open_database(backend.url)
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

    def workers(self, kill_at: int | None = None, default: str | None = None) -> Workers:
        """The backend's worker processes (``invoiceflow worker``), with ``default`` as their
        default durability when given (``--durability``)."""
        args = ["--handlers", "tests.engine.durability_handlers"]
        if default is not None:
            args += ["--durability", default]
        env = {"INVOICEFLOW_CRASH_EFFECTS": str(self.effects)}
        env["INVOICEFLOW_ENGINE_DB"] = self.backend.url
        if kill_at is not None:
            env["INVOICEFLOW_KILL_AT"] = str(kill_at)
        return Workers(self.backend.url, PROCESSES[self.backend.kind], args=args, env=env, lease=1)

    def attempts(self) -> list[tuple[str, int, int]]:
        """Every handler run so far, in order: (execution, k, results committed then)."""
        with sqlite3.connect(self.effects, timeout=30) as conn:
            return list(conn.execute("SELECT name, k, done FROM attempts ORDER BY id"))

    def finish(self, workers: Workers) -> None:
        """Runs ``workers`` until nothing is RUNNING."""
        workers.until(lambda: not self.running(), 120, "executions still running")

    def results(self, name: str) -> int:
        """How many of execution ``name``'s Task results are committed."""
        with self.db.transaction(write=False) as tx:
            pages = tx.fetch_raw(
                "SELECT h.events FROM history h JOIN executions e ON e.id = h.execution_id"
                " WHERE e.name = ?",
                (name,),
            )
        return sum(
            1 for (page,) in pages for e in json.loads(page) if e[2] == "LambdaFunctionSucceeded"
        )

    def moved_on(self, seen: int) -> bool:
        """Whether a handler ran since ``seen`` had, or nothing is left to run."""
        return len(self.attempts()) > seen or not self.running()

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
def test_a_worker_killed_inside_a_handler(
    backend: Backend, tmp_path: Path, durability: str, default: str
) -> None:
    """The first run of the second Task anywhere kills its worker: per step, the first
    Task's result was committed before it started, so only the second runs again; batched,
    the first runs again too unless its round committed it before the kill. A worker under
    a new name replaces the dead one, so the victim's work waits for its leases to run out."""
    run = Run(backend, tmp_path, [durability], n=40)
    with run.workers(kill_at=2, default=default) as workers:
        wait_for(lambda: any(p.poll() is not None for p in workers.running.values()), 120, "kill")
        assert list(workers.reap().values()) == [-signal.SIGKILL]
        with sqlite3.connect(run.effects) as conn:
            [(victim,)] = conn.execute("SELECT name FROM kills").fetchall()
        # Whether T1's result was committed when the worker died: batched, it may have been
        # after T2 started, if T2 went on in the background (``runtime.LONG_HANDLER``) and
        # its round committed without it. Read before any other worker reran T1 (which
        # would commit it too, and is logged before that commit).
        committed = run.results(victim) >= 1
        attempts = run.attempts()
        committed = committed and [a[:2] for a in attempts].count((victim, 1)) == 1
        # Its first run of T2 (another may follow once its lease ran out, while others work).
        done = next(d for name, k, d in attempts if (name, k) == (victim, 2))
        workers.start()
        run.finish(workers)

    attempts = run.check_exactly_once()
    runs = by_execution(attempts)
    if durability == "per-step":
        assert done == 1
        assert [a for a in attempts if a[2] != a[1] - 1] == []  # each result before the next
        assert runs[victim] == [1, 2, 2, 3]
        assert all(ks == sorted(ks) for ks in runs.values())  # nothing went back
    else:
        # Its T1 ran in the same round, uncommitted, unless it went on in the background
        # (committed on its own) or T2 did (the round committed without it): uncommitted
        # when the worker died, it ran again after the crash.
        assert runs[victim] == ([1, 2, 2, 3] if committed else [1, 2, 1, 2, 3])
        assert committed or done == 0
    print(f"{durability}: {victim} ran {runs[victim]}, T1 committed when T2 began: {done}")


def test_workers_killed_at_random_moments(backend: Backend, tmp_path: Path) -> None:
    """``invoiceflow worker`` (default batched) killed four times, over a per-step machine
    and a batched one whose executions share its rounds."""
    seed, rng = seeded()
    run = Run(backend, tmp_path, ["per-step", "batched"], n=RANDOM_N[backend.kind])
    with run.workers() as workers:
        for kill in range(4):
            seen = len(run.attempts())
            workers.until(partial(run.moved_on, seen), 60, "no step ran")
            if not run.running():
                break  # all done already: nothing left to interrupt
            time.sleep(rng.uniform(0.0, 0.15))  # a worker takes a few hundred steps a second
            # The same name takes the leases over at once; the last replacement's is new.
            workers.kill(rng, rename=kill == 3)
        run.finish(workers)

    attempts = run.check_exactly_once()  # in both modes: nothing committed ran again
    print(f"{workers.kills} kills")
    for prefix in ("p", "b"):
        mine = [a for a in attempts if a[0].startswith(prefix)]
        print(f"{prefix}: {len(mine) - 3 * run.n} handler runs repeated (seed {seed})")
    per_step = [a for a in attempts if a[0].startswith("p")]
    early = [a for a in per_step if a[2] != a[1] - 1]
    assert early == [], f"handlers ran before the previous result was committed (seed {seed})"
    # What a crash repeats is at most the step in flight: an execution never goes back.
    for name, ks in by_execution(per_step).items():
        assert ks == sorted(ks), (name, ks, seed)
