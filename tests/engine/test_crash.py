"""A worker killed with SIGKILL at random moments loses nothing and repeats no transition."""

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from invoiceflow.engine import Engine
from invoiceflow.store.sqlite import SQLiteDatabase

ROOT = Path(__file__).resolve().parents[2]
EXECUTIONS = 2000
KILLS = 10

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


def spawn(db: Path, effects: Path, name: str, lease: float) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "invoiceflow", "worker", "--database-url", f"sqlite:///{db}"]
    command += ["--handlers", "tests.engine.crash_handlers", "--name", name, "--lease", str(lease)]
    env = {**os.environ, "INVOICEFLOW_CRASH_EFFECTS": str(effects)}
    return subprocess.Popen(command, cwd=ROOT, env=env)


def attempts(effects: Path) -> int:
    with sqlite3.connect(effects, timeout=30) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM attempts").fetchone()[0])


def test_sigkilled_workers_lose_nothing(tmp_path: Path) -> None:
    db_path, effects = tmp_path / "engine.db", tmp_path / "effects.db"
    with sqlite3.connect(effects) as conn:
        conn.execute("CREATE TABLE attempts (key TEXT NOT NULL)")
        conn.execute("CREATE TABLE ledger (key TEXT PRIMARY KEY)")
    db = SQLiteDatabase(str(db_path))
    db.migrate()
    client = Engine.open(db).client
    arn = client.create_state_machine(name="crash", definition=json.dumps(DEFINITION))[
        "stateMachineArn"
    ]
    for n in range(EXECUTIONS):
        client.start_execution(stateMachineArn=arn, name=f"e{n}", input=json.dumps({"n": n}))

    rng = random.Random(int(os.environ.get("CRASH_SEED", time.time_ns())))
    kills = 0
    while kills < KILLS:
        seen = attempts(effects)
        worker = spawn(db_path, effects, "crash-worker", lease=2.0)
        deadline = time.monotonic() + 30
        while attempts(effects) == seen and time.monotonic() < deadline:
            time.sleep(0.01)
        assert worker.poll() is None, "the worker exited on its own"
        time.sleep(rng.uniform(0.0, 0.4))
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        kills += 1
    # The last worker has a new name: it must wait for the dead one's leases to run out.
    worker = spawn(db_path, effects, "crash-survivor", lease=2.0)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with db.transaction(write=False) as tx:
                rows = tx.fetch_raw("SELECT COUNT(*) FROM executions WHERE status = 'RUNNING'")
            if rows[0][0] == 0:
                break
            time.sleep(0.1)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)

    for n in range(EXECUTIONS):
        ex_arn = arn.replace(":stateMachine:", ":execution:") + f":e{n}"
        described = client.describe_execution(executionArn=ex_arn)
        assert described["status"] == "SUCCEEDED", (n, described)
        amount = n % 7 + 1
        assert json.loads(described["output"]) == {"n": n, "amount": amount, "shipped": [0, 10, 20]}
        events = client.get_execution_history(executionArn=ex_arn)["events"]
        assert [e["id"] for e in events] == list(range(1, len(events) + 1)), n
        assert events[-1]["type"] == "ExecutionSucceeded"
    with sqlite3.connect(effects) as conn:
        ledger = {k for (k,) in conn.execute("SELECT key FROM ledger")}
        tried = int(conn.execute("SELECT COUNT(*) FROM attempts").fetchone()[0])
    expected = {f"e{n}:charge" for n in range(EXECUTIONS)}
    expected |= {f"e{n}:deliver:{i}" for n in range(EXECUTIONS) for i in range(3)}
    assert ledger == expected
    assert tried >= len(expected)
    with db.transaction(write=False) as tx:
        leftovers = [
            tx.fetch_raw(f"SELECT COUNT(*) FROM {table}")[0][0] for table in ("mailbox", "tasks")
        ]
    assert leftovers == [0, 0]
    print(f"{kills} kills; {tried - len(expected)} handler runs repeated after a kill")
    db.close()
