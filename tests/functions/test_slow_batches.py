"""A queue handler that waits on something slow (a webhook that is down) holds up neither
the engine nor other functions' batches, and its batch is finished when it returns."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

from invoiceflow.engine import Engine
from invoiceflow.functions import LambdaClient, Mappings, Registry
from invoiceflow.functions.worker import full_worker
from invoiceflow.queues import SQSClient
from invoiceflow.store.sqlite import SQLiteDatabase

ARN = "arn:aws:sqs:us-east-1:000000000000:"


def test_a_slow_batch_goes_on_in_the_background(tmp_path: Path) -> None:
    db = SQLiteDatabase(str(tmp_path / "slow.db"))
    db.migrate()
    release = threading.Event()
    fast_seen: list[str] = []

    slow_started = threading.Event()

    def slow(event: dict[str, Any], _context: Any) -> None:
        slow_started.set()
        release.wait(60)

    def fast(event: dict[str, Any], _context: Any) -> None:
        fast_seen.extend(r["body"] for r in event["Records"])

    registry = Registry()
    registry.register("slow", slow)
    registry.register("fast", fast)
    engine = Engine.open(db, invoker=registry)
    sqs = SQSClient(engine.runtime.queues)
    functions = LambdaClient(Mappings(db, engine.runtime.queues), registry)
    urls = {}
    for name in ("slow", "fast"):
        urls[name] = sqs.create_queue(QueueName=f"{name}-q")["QueueUrl"]
        functions.create_event_source_mapping(EventSourceArn=f"{ARN}{name}-q", FunctionName=name)
    definition = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
    sm = engine.client.create_state_machine(name="p", definition=json.dumps(definition))
    sqs.send_message(QueueUrl=urls["slow"], MessageBody="waits")
    worker = full_worker(engine.runtime, registry)
    thread = threading.Thread(target=worker.run)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        assert slow_started.wait(60)  # the slow batch is under way
        sqs.send_message(QueueUrl=urls["fast"], MessageBody="goes")
        arn = engine.client.start_execution(stateMachineArn=sm["stateMachineArn"])
        status = engine.client.describe_execution
        while not fast_seen or status(executionArn=arn["executionArn"])["status"] == "RUNNING":
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert fast_seen == ["goes"]
        assert not release.is_set()  # all of it while the slow batch still waits
        release.set()
        while int(
            sqs.get_queue_attributes(QueueUrl=urls["slow"], AttributeNames=["All"])["Attributes"][
                "ApproximateNumberOfMessagesNotVisible"
            ]
        ):
            assert time.monotonic() < deadline
            time.sleep(0.01)
        attributes = sqs.get_queue_attributes(QueueUrl=urls["slow"], AttributeNames=["All"])
        assert attributes["Attributes"]["ApproximateNumberOfMessages"] == "0"  # deleted
    finally:
        release.set()
        worker.stop()
        thread.join()
        db.close()
