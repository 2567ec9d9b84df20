"""Recovery from the state a crash leaves behind, set up directly in the store."""

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from invoiceflow.engine import Clock, Engine
from invoiceflow.engine.worker import Worker
from invoiceflow.functions import Registry
from invoiceflow.store.sqlite import SQLiteDatabase

DEFINITION = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "f", "End": True}}}


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    registry = Registry()
    registry.register("f", lambda event, _ctx: {"done": event})
    db = SQLiteDatabase(str(tmp_path / "recovery.db"))
    db.migrate()
    yield Engine.open(db, invoker=registry, clock=Clock())
    db.close()


def start(engine: Engine) -> str:
    arn = engine.client.create_state_machine(name="m", definition=json.dumps(DEFINITION))
    out = engine.client.start_execution(stateMachineArn=arn["stateMachineArn"], input="1")
    return str(out["executionArn"])


def abandon(engine: Engine, owner: str, until: float) -> None:
    """What a worker that died mid-round leaves: every execution leased to it."""
    with engine.db.transaction() as tx:
        tx.execute_raw("UPDATE executions SET lease_owner = ?, lease_until = ?", (owner, until))


def status(engine: Engine, arn: str) -> Any:
    return engine.client.describe_execution(executionArn=arn)["status"]


def test_a_dead_owners_lease_blocks_others_until_it_runs_out(engine: Engine) -> None:
    arn = start(engine)
    now = engine.runtime.clock.now()
    abandon(engine, "dead", now + 30)
    other = Worker(engine.runtime, name="other")
    assert other.run_once() == 0
    assert status(engine, arn) == "RUNNING"
    engine.runtime.clock.skip(now + 31)
    assert other.run_once() == 1
    assert status(engine, arn) == "SUCCEEDED"


def test_a_worker_restarted_under_the_same_name_takes_its_leases_back(engine: Engine) -> None:
    arn = start(engine)
    abandon(engine, "w1", engine.runtime.clock.now() + 3600)
    worker = Worker(engine.runtime, name="w1")
    thread = threading.Thread(target=worker.run)
    thread.start()
    try:
        for _ in range(500):
            if status(engine, arn) == "SUCCEEDED":
                break
            threading.Event().wait(0.01)
    finally:
        worker.stop()
        thread.join()
    assert status(engine, arn) == "SUCCEEDED"
    with engine.db.transaction(write=False) as tx:  # a stopped worker holds nothing
        assert tx.fetch_raw("SELECT COUNT(*) FROM executions WHERE lease_owner IS NOT NULL") == [
            (0,)
        ]


def test_a_claimed_task_of_a_dead_worker_runs_again_after_its_lease(engine: Engine) -> None:
    arn = start(engine)
    runtime = engine.runtime
    without_handlers = Engine.open(engine.db, clock=runtime.clock).runtime
    without_handlers.run_round("scheduler")  # the task is scheduled, not run
    now = runtime.clock.now()
    with engine.db.transaction() as tx:  # a worker claimed the task, then died
        tx.execute_raw("UPDATE tasks SET lease_owner = 'dead', visible_at = ?", (now + 60,))
    assert runtime.run_tasks("other") == 0
    runtime.clock.skip(now + 61)
    assert runtime.run_tasks("other") == 1
    assert runtime.wait_for_handlers(30)  # its answer is committed as it comes
    runtime.run_round("other")
    assert status(engine, arn) == "SUCCEEDED"
    history = engine.client.get_execution_history(executionArn=arn)["events"]
    assert [e["type"] for e in history].count("LambdaFunctionSucceeded") == 1
