"""Every process that opens the pipeline installs its queues, mappings and state machine:
several at once must agree, and none may undo what an operator tuned."""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path
from typing import Any

from invoiceflow.engine import Engine
from invoiceflow.functions import LambdaClient, Mappings, Registry
from invoiceflow.pipeline import open_pipeline
from invoiceflow.queues import SQSClient
from invoiceflow.store.sqlite import SQLiteDatabase


def _open(path: Path) -> tuple[SQLiteDatabase, Engine]:
    db = SQLiteDatabase(str(path))
    engine = Engine.open(db, invoker=Registry())
    assert engine.runtime.invoker is not None
    return db, engine


def _mappings(engine: Engine) -> Counter[tuple[str, str]]:
    registry = Registry()
    client = LambdaClient(Mappings(engine.db, engine.runtime.queues), registry)
    listed = client.list_event_source_mappings()["EventSourceMappings"]
    return Counter((m["EventSourceArn"], m["FunctionArn"]) for m in listed)


def _install_at_once(path: Path, processes: int) -> tuple[list[BaseException], Counter[Any]]:
    """``processes`` store handles on one file open the pipeline at the same moment; what
    they raised, and how many times each mapping exists afterwards."""
    first = SQLiteDatabase(str(path))
    first.migrate()
    first.close()
    opened = [_open(path) for _ in range(processes)]
    start = threading.Barrier(processes)
    errors: list[BaseException] = []

    def install(engine: Engine) -> None:
        start.wait()
        try:
            open_pipeline(engine, Registry())
        except BaseException as exc:  # collected: the test names what went wrong
            errors.append(exc)

    threads = [threading.Thread(target=install, args=(e,)) for _, e in opened]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    mappings = _mappings(opened[0][1])
    for db, _ in opened:
        db.close()
    return errors, mappings


def test_processes_opening_the_pipeline_at_once_install_it_once(tmp_path: Path) -> None:
    for attempt in range(3):
        errors, mappings = _install_at_once(tmp_path / f"shared-{attempt}.db", 4)
        assert errors == []
        assert mappings and set(mappings.values()) == {1}


def test_a_tuned_dead_letter_queue_keeps_its_settings(tmp_path: Path) -> None:
    path = tmp_path / "tuned.db"
    db = SQLiteDatabase(str(path))
    db.migrate()
    engine = Engine.open(db, invoker=Registry())
    open_pipeline(engine, Registry())
    sqs = SQSClient(engine.runtime.queues)
    dead = [u for u in sqs.list_queues()["QueueUrls"] if u.endswith("-dlq")]
    assert dead
    for url in dead:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"MessageRetentionPeriod": "86400"})

    open_pipeline(Engine.open(db, invoker=Registry()), Registry())  # a later process

    for url in dead:
        kept = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["MessageRetentionPeriod"])
        assert kept["Attributes"]["MessageRetentionPeriod"] == "86400"
    db.close()
