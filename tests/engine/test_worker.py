"""A worker that gives way to more urgent work in its process slows down but finishes."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from invoiceflow.engine import Engine
from invoiceflow.engine.worker import Worker
from invoiceflow.functions import Registry
from invoiceflow.store.sqlite import SQLiteDatabase

STEPS = {
    "StartAt": "A",
    "States": {
        "A": {"Type": "Pass", "Next": "B"},
        "B": {"Type": "Wait", "Seconds": 0, "Next": "C"},
        "C": {"Type": "Pass", "End": True},
    },
}


def test_a_worker_giving_way_still_finishes_its_work(tmp_path: Path) -> None:
    db = SQLiteDatabase(str(tmp_path / "w.db"))
    db.migrate()
    engine = Engine.open(db, invoker=Registry())
    sfn = engine.client
    arn = sfn.create_state_machine(name="m", definition=json.dumps(STEPS))["stateMachineArn"]
    runs = [sfn.start_execution(stateMachineArn=arn)["executionArn"] for _ in range(50)]
    asked = []

    def give_way() -> float:
        asked.append(True)
        return 0.9  # as under unending request load

    worker = Worker(engine.runtime, give_way=give_way)
    thread = threading.Thread(target=worker.run)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while any(sfn.describe_execution(executionArn=r)["status"] == "RUNNING" for r in runs):
            assert time.monotonic() < deadline
            time.sleep(0.02)
    finally:
        worker.stop()
        thread.join()
        db.close()
    assert asked  # it was asked, and gave way, and still finished
