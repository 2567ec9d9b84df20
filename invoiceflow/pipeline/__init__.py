"""The invoice pipeline: received files become containers, and process_file.asl.json turns
each into invoices, exactly once, through queues and callbacks. A file with more invoices
than one execution's history can hold goes in batches, each run by process_batch.asl.json
as a child execution.

``open_pipeline`` registers the handlers and installs what the workflow file names: its
queues (each with a dead-letter queue), the mappings that feed them to the handlers of the
same name, and the state machine itself. Change the ASL file and the pipeline follows.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from invoiceflow.engine import Engine, arns
from invoiceflow.functions import LambdaClient, Mappings, Registry
from invoiceflow.pipeline.blobs import BlobStore
from invoiceflow.pipeline.endings import ContainerEndings
from invoiceflow.pipeline.handlers import BATCH, DEAD_LETTER_HANDLER, Handlers
from invoiceflow.queues import SQSClient, names
from invoiceflow.store import Database

WORKFLOWS = Path(__file__).parent / "workflows"
WORKFLOW = WORKFLOWS / "process_file.asl.json"
STATE_MACHINE = "process-file"
# A batch of a file too large for one execution; process-file starts it by this name.
BATCH_WORKFLOW = WORKFLOWS / "process_batch.asl.json"
BATCH_STATE_MACHINE = "process-batch"


@dataclass(frozen=True)
class Settings:
    """How the queues behave: how long a failing step waits before it is tried again, and
    how many tries it gets before its message is dead-lettered."""

    visibility_timeout: int = 30
    max_receives: int = 5
    batch_size: int = 10
    invoices_per_execution: int = BATCH  # more, and a file is processed in child executions


@dataclass
class Pipeline:
    engine: Engine
    blobs: BlobStore
    handlers: Handlers
    state_machine_arn: str


def blob_root(db: Database) -> Path:
    """Where received files are kept: INVOICEFLOW_FILES, or a folder beside the database's
    file, else ``invoiceflow-files`` here. Processes on several machines sharing one
    PostgreSQL database need INVOICEFLOW_FILES on storage they all reach."""
    configured = os.environ.get("INVOICEFLOW_FILES")
    if configured:
        return Path(configured)
    return db.files_beside() or Path("invoiceflow-files")


def open_pipeline(
    engine: Engine,
    registry: Registry,
    *,
    blobs: BlobStore | None = None,
    settings: Settings | None = None,
) -> Pipeline:
    from invoiceflow.pipeline import events  # it builds on Pipeline, defined here

    blobs = blobs or BlobStore(blob_root(engine.db))
    settings = settings or Settings()
    handlers = Handlers(
        engine.db,
        blobs,
        engine.client,
        settings.invoices_per_execution,
        max_receives=settings.max_receives,
    )
    for name, fn in handlers.table().items():
        registry.register(name, fn)
    arn = install(engine, registry, settings)
    pipeline = Pipeline(engine, blobs, handlers, arn)
    if not any(isinstance(h, ContainerEndings) for h in engine.runtime.on_end):
        engine.runtime.on_end.append(ContainerEndings(arn))
    registry.register(events.QUEUE, events.handler(pipeline))
    # Events that keep failing wait in the dead-letter queue to be looked at and redriven:
    # no task waits for them, so no handler drains it.
    _install_queue(engine, registry, settings, events.QUEUE, dead_letter_handler=None)
    return pipeline


@functools.cache
def step_queues() -> frozenset[str]:
    """The queues the shipped workflows send their steps' messages to."""
    return frozenset(
        q
        for path in (WORKFLOW, BATCH_WORKFLOW)
        for q in _queue_names(json.loads(path.read_text(encoding="utf-8")))
    )


def kept_dead_letter_queues() -> frozenset[str]:
    """The step queues' dead-letter queues: what arrives there fails the step waiting for it
    at once, and is kept there to be looked at until its retention period ends (14 days).
    Redriving it would bring nothing back, since its step has failed: the container is run
    again instead (``containers retry``)."""
    return frozenset(f"{q}-dlq" for q in step_queues())


def install(engine: Engine, registry: Registry, settings: Settings) -> str:
    """Create the workflow's queues, their mappings and the state machine, or keep those
    that exist: every process opening the pipeline installs, and must not undo what an
    operator tuned."""
    workflows = [
        (BATCH_STATE_MACHINE, BATCH_WORKFLOW.read_text(encoding="utf-8")),
        (STATE_MACHINE, WORKFLOW.read_text(encoding="utf-8")),
    ]
    for queue in sorted(step_queues()):
        _install_queue(engine, registry, settings, queue, dead_letter_handler=DEAD_LETTER_HANDLER)
    client = engine.client
    for name, definition in workflows:
        arn = arns.state_machine_arn(name)
        try:
            client.create_state_machine(name=name, definition=definition)
        except client.exceptions.StateMachineAlreadyExists:
            client.update_state_machine(stateMachineArn=arn, definition=definition)
    return arn


def _install_queue(
    engine: Engine,
    registry: Registry,
    settings: Settings,
    queue: str,
    *,
    dead_letter_handler: str | None,
) -> None:
    """A queue and its dead-letter queue, the queue fed to the handler of its name. What
    exists already is kept as it is: an operator may have tuned it, and another process
    may be installing the same at the same moment."""
    sqs = SQSClient(engine.runtime.queues)
    functions = LambdaClient(Mappings(engine.db, engine.runtime.queues), registry)
    dead = f"{queue}-dlq"
    policy = {
        "deadLetterTargetArn": names.queue_arn(dead),
        "maxReceiveCount": settings.max_receives,
    }
    attributes = {
        "VisibilityTimeout": str(settings.visibility_timeout),
        "RedrivePolicy": json.dumps(policy),
    }
    with contextlib.suppress(sqs.exceptions.QueueNameExists):
        sqs.create_queue(QueueName=dead, Attributes={"MessageRetentionPeriod": "1209600"})
    with contextlib.suppress(sqs.exceptions.QueueNameExists):
        sqs.create_queue(QueueName=queue, Attributes=attributes)
    feeds = [(queue, queue)]
    if dead_letter_handler is not None:
        feeds.append((dead, dead_letter_handler))
    for source, function in feeds:
        with contextlib.suppress(functions.exceptions.ResourceConflictException):
            functions.create_event_source_mapping(
                EventSourceArn=names.queue_arn(source),
                FunctionName=function,
                BatchSize=settings.batch_size,
                FunctionResponseTypes=["ReportBatchItemFailures"],
            )


def _queue_names(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "QueueUrl" and isinstance(value, str):
                name = names.name_of(value)
                if name:
                    yield name
            else:
                yield from _queue_names(value)
    elif isinstance(node, list):
        for item in node:
            yield from _queue_names(item)
