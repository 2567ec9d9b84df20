"""A slow handler holds up no other execution, and one tenant cannot take every thread."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

from invoiceflow.engine import Engine
from invoiceflow.engine.worker import Worker
from invoiceflow.functions import Registry
from invoiceflow.store.sqlite import SQLiteDatabase


def task(resource: str) -> dict[str, Any]:
    return {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": resource, "End": True}}}


def test_a_tenant_with_slow_handlers_holds_up_neither_rounds_nor_other_tenants(
    tmp_path: Path,
) -> None:
    db = SQLiteDatabase(str(tmp_path / "fair.db"))
    db.migrate()
    release = threading.Event()
    started: list[str] = []

    def slow(event: Any, _context: Any) -> str:
        started.append(event["who"])
        release.wait(60)  # a 30 MB file being parsed
        return "slow"

    registry = Registry()
    registry.register("slow", slow)
    registry.register("fast", lambda event, _context: "fast")
    engine = Engine.open(db, invoker=registry)
    sfn = engine.client
    slow_sm = sfn.create_state_machine(name="slow", definition=json.dumps(task("slow")))
    fast_sm = sfn.create_state_machine(name="fast", definition=json.dumps(task("fast")))

    def start(tenant: str, sm: dict[str, Any]) -> str:
        client = sfn.for_tenant(tenant)
        arn = sm["stateMachineArn"]
        return str(
            client.start_execution(stateMachineArn=arn, input=json.dumps({"who": tenant}))[
                "executionArn"
            ]
        )

    def status(arn: str) -> str:
        return str(sfn.describe_execution(executionArn=arn)["status"])

    a_slow = [start("a", slow_sm) for _ in range(5)]
    worker = Worker(engine.runtime)
    thread = threading.Thread(target=worker.run)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while started.count("a") < 2:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        b_fast = [start("b", fast_sm) for _ in range(3)]
        b_slow = start("b", slow_sm)
        while not (all(status(b) == "SUCCEEDED" for b in b_fast) and "b" in started):
            assert time.monotonic() < deadline, (started, [status(b) for b in b_fast])
            time.sleep(0.01)
        # Tenant a holds its share of the threads and no more, so b's slow handler got one.
        assert started.count("a") == 2
        assert all(status(a) == "RUNNING" for a in a_slow)
        release.set()
        while any(status(x) == "RUNNING" for x in [*a_slow, b_slow]):
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert all(status(x) == "SUCCEEDED" for x in [*a_slow, b_slow])
    finally:
        release.set()
        worker.stop()
        thread.join()
        db.close()
