"""Nothing is stranded: a round that spends its budget still continues, an ended execution
stays ended whatever arrives late, a round that fails frees what it claimed, and one
tenant's backlog of tasks hides no other tenant's."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from invoiceflow.engine import Clock, Engine
from invoiceflow.engine.runtime import Runtime
from invoiceflow.functions import Registry
from invoiceflow.queues import SQSClient
from invoiceflow.store.sqlite import SQLiteDatabase


@pytest.fixture
def db(tmp_path: Path) -> Iterator[SQLiteDatabase]:
    database = SQLiteDatabase(str(tmp_path / "left.db"), synchronous="OFF")
    database.migrate()
    yield database
    database.close()


def machine(engine: Engine, name: str, definition: dict[str, Any]) -> str:
    made = engine.client.create_state_machine(name=name, definition=json.dumps(definition))
    return str(made["stateMachineArn"])


def status(engine: Engine, arn: str) -> str:
    return str(engine.client.describe_execution(executionArn=arn)["status"])


def test_callbacks_answered_while_the_budget_is_spent_do_not_strand_the_rest(
    db: SQLiteDatabase,
) -> None:
    engine = Engine.open(db, invoker=Registry())
    sqs = SQSClient(engine.runtime.queues)
    url = sqs.create_queue(QueueName="steps")["QueueUrl"]

    def step(**more: Any) -> dict[str, Any]:
        return {
            "Type": "Task",
            "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "Parameters": {"QueueUrl": url, "MessageBody": {"t.$": "$$.Task.Token"}},
            "ResultPath": None,
            **more,
        }

    each = {"StartAt": "Create", "States": {"Create": step(Next="Post"), "Post": step(End=True)}}
    sm = machine(
        engine,
        "m",
        {
            "StartAt": "M",
            "States": {
                "M": {"Type": "Map", "ItemsPath": "$.items", "ItemProcessor": each, "End": True}
            },
        },
    )
    arn = engine.client.start_execution(
        stateMachineArn=sm, input=json.dumps({"items": list(range(600))})
    )["executionArn"]
    for _ in range(50):
        while engine.runtime.run_round("w"):
            pass
        answered = 0
        while got := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
            for m in got:
                token = json.loads(m["Body"])["t"]
                engine.client.send_task_success(taskToken=token, output="{}")
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
                answered += 1
        if not answered:
            break
    assert status(engine, arn) == "SUCCEEDED"


def test_a_stopped_parent_stays_stopped_when_its_child_ends(db: SQLiteDatabase) -> None:
    clock = Clock()
    engine = Engine.open(db, invoker=Registry(), clock=clock)
    wait = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 5, "End": True}}}
    child = machine(engine, "child", wait)
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::states:startExecution.sync",
        "Parameters": {"StateMachineArn": child},
        "End": True,
    }
    parent = machine(engine, "parent", {"StartAt": "T", "States": {"T": task}})
    arn = engine.client.start_execution(stateMachineArn=parent)["executionArn"]
    engine.runtime.run_round("w")
    engine.client.stop_execution(executionArn=arn, cause="enough")
    engine.runtime.run_round("w")
    assert status(engine, arn) == "ABORTED"
    clock.skip(clock.now() + 10)
    for _ in range(3):
        engine.runtime.run_round("w")
    described = engine.client.describe_execution(executionArn=arn)
    assert (described["status"], described["cause"]) == ("ABORTED", "enough")


class Flaky:
    """An integration that meets the store failing once (a disk I/O error)."""

    def __init__(self) -> None:
        self.failed = False

    def __call__(self, runtime: Runtime, tx: Any, execution_id: int, *rest: Any) -> None:
        if not self.failed:
            self.failed = True
            raise runtime.db.transient_errors[0]("disk I/O error")
        runtime.post(tx, execution_id, {"t": "result", "task": rest[2].task_id, "ok": True}, 0)


def test_a_round_the_store_fails_is_tried_again_not_failed_nor_held(db: SQLiteDatabase) -> None:
    engine = Engine.open(db, invoker=Registry())
    runtime = Runtime(db, engine.definitions, integrations={"sqs": Flaky()})
    send = {
        "Type": "Task",
        "Resource": "arn:aws:states:::sqs:sendMessage",
        "Parameters": {"QueueUrl": "q", "MessageBody": "x"},
        "End": True,
    }
    sm = machine(engine, "send", {"StartAt": "S", "States": {"S": send}})
    arns = [engine.client.start_execution(stateMachineArn=sm)["executionArn"] for _ in range(5)]
    with pytest.raises(db.transient_errors):
        runtime.run_round("w")
    with db.transaction(write=False) as tx:  # nothing it claimed is still held
        held = tx.fetch_raw("SELECT COUNT(*) FROM executions WHERE lease_owner IS NOT NULL")
    assert held == [(0,)]
    assert runtime.run_round("w") == 5
    assert [status(engine, a) for a in arns] == ["SUCCEEDED"] * 5


def test_one_tenants_backlog_of_tasks_hides_no_other_tenants(db: SQLiteDatabase) -> None:
    release = threading.Event()
    registry = Registry()
    registry.register("slow", lambda event, context: release.wait(60))
    registry.register("fast", lambda event, context: "fast")
    scheduler = Engine.open(db)  # schedules tasks without running any
    workers = Engine.open(db, invoker=registry)
    arns = {}
    for name in ("slow", "fast"):
        task = {"Type": "Task", "Resource": name, "End": True}
        sm = machine(scheduler, name, {"StartAt": "T", "States": {"T": task}})
        tenant = "a" if name == "slow" else "b"
        client = scheduler.client.for_tenant(tenant)
        arns[name] = [client.start_execution(stateMachineArn=sm)["executionArn"] for _ in range(8)]
        scheduler.runtime.run_round("scheduler")  # a's tasks are older than b's
    try:
        for _ in range(20):
            workers.runtime.run_tasks("w")
            workers.runtime.run_round("w")
            if all(status(workers, a) == "SUCCEEDED" for a in arns["fast"]):
                break
        assert [status(workers, a) for a in arns["fast"]] == ["SUCCEEDED"] * 8
        assert all(status(workers, a) == "RUNNING" for a in arns["slow"])
    finally:
        release.set()
        assert workers.runtime.wait_for_handlers(30)
