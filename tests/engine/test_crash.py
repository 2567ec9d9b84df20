"""Workers killed with SIGKILL at random moments lose nothing and repeat no transition: on
a SQLite file one worker at a time, on PostgreSQL four sharing the database, as on four
machines. Every execution ends as it should and every effect happened once."""

from __future__ import annotations

import json
import sqlite3
import time
from functools import partial
from pathlib import Path
from typing import Any

from invoiceflow.engine import Engine
from invoiceflow.store import open_database
from tests.crash_workers import Workers, seeded
from tests.postgres_server import POSTGRESQL, SQLITE, Backend
from tests.postgres_server import backend as backend  # the fixture: SQLite, then PostgreSQL

# Per backend: executions, worker processes at a time, kills.
SIZES = {SQLITE: (2000, 1, 10), POSTGRESQL: (200, 4, 5)}

DEFINITION: dict[str, Any] = {
    "StartAt": "Charge",
    "States": {
        "Charge": {
            "Type": "Task",
            "Resource": "charge",
            "Parameters": {"name.$": "$$.Execution.Name", "n.$": "$.n"},
            "ResultPath": "$.charge",
            "Next": "Charged",
        },
        "Charged": {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.charge.amount", "NumericGreaterThan": 0, "Next": "Deliver"}
            ],
            "Default": "Refused",
        },
        "Refused": {"Type": "Fail", "Error": "Refused"},
        "Deliver": {
            "Type": "Map",
            "ItemsPath": "$.charge.items",
            "ItemSelector": {"name.$": "$$.Execution.Name", "item.$": "$$.Map.Item.Value"},
            "ItemProcessor": {
                "StartAt": "Ship",
                "States": {"Ship": {"Type": "Task", "Resource": "deliver", "End": True}},
            },
            "ResultPath": "$.shipped",
            "Next": "Settle",
        },
        "Settle": {"Type": "Wait", "Seconds": 1, "Next": "Report"},
        "Report": {
            "Type": "Pass",
            "Parameters": {"n.$": "$.n", "amount.$": "$.charge.amount", "shipped.$": "$.shipped"},
            "End": True,
        },
    },
}


def attempts(effects: Path) -> int:
    with sqlite3.connect(effects, timeout=30) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM attempts").fetchone()[0])


def test_sigkilled_workers_lose_nothing(backend: Backend, tmp_path: Path) -> None:
    count, processes, kills = SIZES[backend.kind]
    effects = tmp_path / "effects.db"
    with sqlite3.connect(effects) as conn:
        conn.execute("CREATE TABLE attempts (key TEXT NOT NULL)")
        conn.execute("CREATE TABLE ledger (key TEXT PRIMARY KEY)")
    db = open_database(backend.url)
    client = Engine.open(db).client
    arn = client.create_state_machine(name="crash", definition=json.dumps(DEFINITION))[
        "stateMachineArn"
    ]
    for n in range(count):
        client.start_execution(stateMachineArn=arn, name=f"e{n}", input=json.dumps({"n": n}))

    def running() -> int:
        with db.transaction(write=False) as tx:
            rows = tx.fetch_raw("SELECT COUNT(*) FROM executions WHERE status = 'RUNNING'")
        return int(rows[0][0])

    def moved_on(seen: int) -> bool:
        """Whether a handler ran since ``seen`` had, or nothing is left to run."""
        return attempts(effects) > seen or running() == 0

    seed, rng = seeded()
    handlers = ["--handlers", "tests.engine.crash_handlers"]
    env = {"INVOICEFLOW_CRASH_EFFECTS": str(effects)}
    with Workers(backend.url, processes, args=handlers, env=env) as workers:
        for kill in range(kills):
            workers.until(partial(moved_on, attempts(effects)), 30, "no handler ran")
            if running() == 0:
                break  # all done already: nothing left to interrupt
            time.sleep(rng.uniform(0.0, 0.4))
            # The last replacement has a new name: it waits for the dead one's leases to
            # run out, where one under the same name takes them over at once. With others
            # working meanwhile, any replacement may.
            last, shared = kill == kills - 1, processes > 1
            workers.kill(rng, rename=True if last else None if shared else False)
        workers.until(lambda: running() == 0, 120, "executions still running")

    for n in range(count):
        ex_arn = arn.replace(":stateMachine:", ":execution:") + f":e{n}"
        described = client.describe_execution(executionArn=ex_arn)
        assert described["status"] == "SUCCEEDED", (n, described, seed)
        amount = n % 7 + 1
        assert json.loads(described["output"]) == {"n": n, "amount": amount, "shipped": [0, 10, 20]}
        events = client.get_execution_history(executionArn=ex_arn)["events"]
        assert [e["id"] for e in events] == list(range(1, len(events) + 1)), (n, seed)
        assert events[-1]["type"] == "ExecutionSucceeded"
    with sqlite3.connect(effects) as conn:
        ledger = {k for (k,) in conn.execute("SELECT key FROM ledger")}
        tried = int(conn.execute("SELECT COUNT(*) FROM attempts").fetchone()[0])
    expected = {f"e{n}:charge" for n in range(count)}
    expected |= {f"e{n}:deliver:{i}" for n in range(count) for i in range(3)}
    assert ledger == expected, seed
    assert tried >= len(expected)
    with db.transaction(write=False) as tx:
        leftovers = [
            tx.fetch_raw(f"SELECT COUNT(*) FROM {table}")[0][0] for table in ("mailbox", "tasks")
        ]
    assert leftovers == [0, 0], seed
    print(f"{workers.kills} kills; {tried - len(expected)} handler runs repeated after a kill")
    db.close()
