"""Invoices submitted one at a time (by a supplier's system, say): accepted at once onto a
queue, then each becomes a one-invoice container with a workflow of its own.

Accepting is one commit: the event's record and its message. The queue's consumer turns a
message into a container exactly once, however often the message is delivered: the
container is created in the same commit that claims the event. The event's id travels as a
message attribute, since a message redriven from the dead-letter queue gets a new message id.
An invoice larger than a message may be (256 KiB) is kept in the blob store first, and its
message carries the blob's key instead (as the SQS extended client does with S3).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import msgspec

from invoiceflow.digitize import DigitizeError, from_json, parse
from invoiceflow.pipeline import Pipeline, containers, submit
from invoiceflow.pipeline.handlers import PREFIX
from invoiceflow.store import Transaction

QUEUE = f"{PREFIX}invoice-events"
EVENT_ID = "InvoiceEventId"  # the message attribute naming the event
BLOB = "InvoiceEventBlob"  # the message attribute naming a large invoice's blob
MAX_MESSAGE = 256 * 1024  # bytes: larger invoices travel by blob
DEAD_LETTER_QUEUE = f"{QUEUE}-dlq"  # as install names it


class InvalidEvent(ValueError):
    """The submitted JSON is not one invoice."""


class AlreadyClaimed(Exception):
    """Another delivery of the same message made the container first."""


@dataclass(frozen=True)
class EventStatus:
    message_id: str
    state: str  # Queued (or DeadLettered), then the container's state
    container: str | None
    invoice: str | None
    reason: str | None
    received: float


def check(body: bytes) -> None:
    """Refuses, with a reason, what would not become exactly one invoice."""
    if not body.lstrip().startswith(b"{"):
        raise InvalidEvent("The body must be one invoice as a JSON object.")
    try:  # the usual case, invoiceflow's own JSON form, at a fraction of a full parse's cost
        from_json(body)
        return
    except msgspec.DecodeError:
        pass  # another shape the JSON reader accepts, or a reason to refuse it
    try:
        found = list(parse(body))
    except DigitizeError as exc:
        raise InvalidEvent(exc.problem.message) from None
    if len(found) != 1:
        raise InvalidEvent(f"The body must hold exactly one invoice, not {len(found)}.")


def accept(tx: Transaction, pipeline: Pipeline, tenant: str, body: bytes) -> str:
    """Queue one checked invoice inside ``tx``; the id that tracks it (carried by its
    message as the InvoiceEventId attribute)."""
    queues = pipeline.engine.runtime.queues
    queue = queues.find(tx, QUEUE)
    event_id = str(uuid.uuid4())
    attributes = {EVENT_ID: {"DataType": "String", "StringValue": event_id}}
    text = body.decode("utf-8")
    if len(body) > MAX_MESSAGE:
        key, _ = pipeline.blobs.put(body)  # flushed before the message that names it commits
        attributes[BLOB] = {"DataType": "String", "StringValue": key}
        text = msgspec.json.encode({"blob": key}).decode()
    queues.send(tx, queue, text, attributes, tenant=tenant)
    tx.execute("insert_invoice_event", (event_id, tenant, time.time()))
    return event_id


def status(tx: Transaction, tenant: str, message_id: str) -> EventStatus | None:
    row = tx.fetchone("get_invoice_event", (message_id, tenant))
    if row is None:
        return None
    _, _, container_id, received = row
    container = containers.get(tx, container_id) if container_id else None
    if container is None:
        dead = tx.fetchone("event_dead_lettered", (DEAD_LETTER_QUEUE, f'%"{message_id}"%'))
        if dead is not None:
            reason = (
                f"Processing failed {dead[0]} times; the event waits in {DEAD_LETTER_QUEUE} "
                f"(redrive it with POST /v1/queues/{DEAD_LETTER_QUEUE}/redrive)."
            )
            return EventStatus(message_id, "DeadLettered", None, None, reason, received)
        return EventStatus(message_id, "Queued", None, None, None, received)
    invoice = tx.fetchone("invoice_at", (container.id, 0))
    return EventStatus(
        message_id,
        container.state,
        container.id,
        str(invoice[0]) if invoice else None,
        container.reason,
        received,
    )


def handler(pipeline: Pipeline) -> Any:
    """The queue's consumer: a container and a workflow per event, once."""

    def consume(event: dict[str, Any], _context: Any) -> dict[str, Any]:
        failures = []
        for record in event["Records"]:
            attributes = record.get("messageAttributes", {})
            event_id = (attributes.get(EVENT_ID) or {}).get("stringValue")
            blob = (attributes.get(BLOB) or {}).get("stringValue")
            try:
                if not isinstance(event_id, str):
                    raise AlreadyClaimed  # not an accepted event: nothing tracks it
                if isinstance(blob, str):
                    body = pipeline.blobs.path(blob).read_bytes()
                else:
                    body = record["body"].encode("utf-8")
                _start(pipeline, event_id, body)
            except AlreadyClaimed:
                continue
            except Exception:
                failures.append({"itemIdentifier": record["messageId"]})
        return {"batchItemFailures": failures}

    return consume


def _start(pipeline: Pipeline, message_id: str, body: bytes) -> None:
    with pipeline.engine.db.transaction(write=False) as tx:
        row = tx.fetchone("invoice_event", (message_id,))
    if row is None or row[2] is not None:
        raise AlreadyClaimed  # not an accepted event, or already made into a container
    tenant = row[1]

    def claim(tx: Transaction, container: containers.Container) -> None:
        if not tx.execute("claim_invoice_event", (container.id, message_id)):
            raise AlreadyClaimed  # undoes this container: the first one stands

    submit.receive(  # checked as it is when accepted: read as it is, with no profile
        pipeline,
        f"event-{message_id}.json",
        body,
        tenant=tenant,
        source="event",
        also=claim,
        choose_profile=False,
    )
