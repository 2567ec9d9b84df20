"""Feeding queues to handlers: what Lambda's SQS event source does, in a worker.

For each enabled mapping whose handler this process has, a poll takes a batch (holding one
of the mapping's concurrency slots when it has a maximum), calls the handler with the SQS
event Lambda would send, and deletes what succeeded. A handler that raises leaves the whole
batch to come back after its visibility timeout (and, past maxReceiveCount, to the
dead-letter queue); with ReportBatchItemFailures only the messages it names come back.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future
from functools import partial
from typing import Any

import structlog

from invoiceflow.engine.pool import HandlerPool
from invoiceflow.engine.runtime import LONG_HANDLER
from invoiceflow.functions.mappings import Mapping, Mappings
from invoiceflow.functions.registry import Registry
from invoiceflow.queues import Queue, Queues, Received, names
from invoiceflow.queues.client import system_attributes
from invoiceflow.queues.manager import MESSAGES

REFRESH = 1.0  # seconds between re-reads of the mapping table

log = structlog.get_logger("invoiceflow.functions")


def record(m: Received, queue_arn: str) -> dict[str, Any]:
    """One entry of an SQS event's ``Records``, shaped as Lambda delivers it."""
    out: dict[str, Any] = {
        "messageId": m.message_id,
        "receiptHandle": m.receipt_handle,
        "body": m.body,
        "attributes": {
            k: v for k, v in system_attributes(m).items() if k != "DeadLetterQueueSourceArn"
        },
        "messageAttributes": {
            name: {
                **(
                    {"binaryValue": value["BinaryValue"]}
                    if "BinaryValue" in value
                    else {"stringValue": value["StringValue"]}
                ),
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": value["DataType"],
            }
            for name, value in m.attributes.items()
        },
        "md5OfBody": m.md5_body,
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": names.REGION,
    }
    if m.md5_attributes:
        out["md5OfMessageAttributes"] = m.md5_attributes
    return out


def failed_ids(output: Any, batch: list[Received]) -> set[str] | None:
    """The message ids a ReportBatchItemFailures response names; None when the response is
    malformed, which (as with Lambda) fails the whole batch."""
    if output is None or output == {}:
        return set()
    if not isinstance(output, dict):
        return None
    items = output.get("batchItemFailures")
    if items is None:
        return set()
    known = {m.message_id for m in batch}
    out: set[str] = set()
    for item in items if isinstance(items, list) else [None]:
        ident = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not isinstance(ident, str) or ident not in known:
            return None
        out.add(ident)
    return out


class Poller:
    def __init__(
        self,
        mappings: Mappings,
        registry: Registry,
        owner: str,
        pool: HandlerPool | None = None,
        freed: Callable[[], None] = lambda: None,
    ) -> None:
        """With a ``pool``, a batch's handler runs on it: one still running after a moment
        goes on in the background, finishing its batch when it returns, and the loop moves
        on. Each function has a share of the background, so a handler that waits on a slow
        webhook holds up neither the engine nor the other functions' batches. ``freed`` is
        called when such a batch has finished: its room (and slot) can take the next one."""
        self.mappings = mappings
        self.freed = freed
        self.queues: Queues = mappings.queues
        self.registry = registry
        self.owner = owner
        self.pool = pool
        self._cached: list[Mapping] = []
        self._read_at = float("-inf")

    def active(self) -> list[Mapping]:
        if time.monotonic() - self._read_at > REFRESH:
            self._cached = [
                m for m in self.mappings.all() if m.enabled and self.registry.has(m.function)
            ]
            self._read_at = time.monotonic()
        return self._cached

    def poll(self) -> int:
        """One batch per mapping that has messages; returns how many messages were handled.
        One read finds the queues with messages, and their attributes, so idle mappings
        cost nothing."""
        mappings = self.active()
        if not mappings:
            return 0
        ready = self.queues.ready()
        return sum(self.run_batch(m, ready[m.queue]) for m in mappings if m.queue in ready)

    def run_batch(self, mapping: Mapping, queue: Queue) -> int:
        share = f"function:{mapping.function}"
        if self.pool is not None and not self.pool.has_room(share):
            return 0  # its earlier batches still run in the background
        timeout = queue.number("VisibilityTimeout")
        allowed, slot = self._claim(mapping, timeout)
        if not allowed:
            return 0
        handed_off = False
        try:
            batch = self._collect(mapping, queue)
            if not batch:
                return 0
            event = {"Records": [record(m, queue.arn) for m in batch]}
            call = partial(self.registry.invoke, mapping.function, event, timeout=timeout)
            if self.pool is None:
                self._settle(mapping, batch, call(execution=""))
                return len(batch)
            finished, outcome = self.pool.call(share, partial(call, execution=""), LONG_HANDLER)
            if not finished:
                self.pool.went_long(share, outcome, timeout)
                outcome.add_done_callback(partial(self._finish, mapping, batch, slot))
                handed_off = True
                return len(batch)
            self._settle(mapping, batch, outcome)
            return len(batch)
        finally:
            if slot is not None and not handed_off:
                self._release(mapping, slot)

    def _release(self, mapping: Mapping, slot: int) -> None:
        with self.mappings.db.transaction(durable=False) as tx:
            tx.execute("release_slot", (mapping.id, slot, self.owner))
            tx.notify(MESSAGES)  # a poller elsewhere that found every slot taken may go on

    def _finish(
        self, mapping: Mapping, batch: list[Received], slot: int | None, done: Future[Any]
    ) -> None:
        """A batch whose handler went on in the background, once it has returned."""
        try:
            self._settle(mapping, batch, done.result())
            if slot is not None:
                self._release(mapping, slot)
        except Exception:  # its messages come back after their visibility timeout
            log.exception("a batch could not be finished", function=mapping.function)
        self.freed()

    def _claim(self, mapping: Mapping, timeout: int) -> tuple[bool, int | None]:
        """Whether a batch may run now, and the concurrency slot it holds (None when the
        mapping has no maximum)."""
        if mapping.max_concurrency is None:
            return True, None
        now = self.queues.now()
        with self.mappings.db.transaction(durable=False) as tx:
            row = tx.fetchone(
                "claim_slot", (self.owner, now + timeout + 60, mapping.id, mapping.id, now)
            )
        return (True, int(row[0])) if row else (False, None)

    def _collect(self, mapping: Mapping, queue: Queue) -> list[Received]:
        """A batch: receives until it is full or, once a receive finds the queue emptied,
        until the batching window closes."""
        batch: list[Received] = []
        deadline = time.monotonic() + mapping.batch_window
        while (want := min(10, mapping.batch_size - len(batch))) > 0:
            got = self.queues.receive_from(queue, want)
            batch += got
            if len(got) < want:
                left = deadline - time.monotonic()
                if not batch or left <= 0:
                    break
                time.sleep(min(0.05, left))
        return batch

    def _settle(self, mapping: Mapping, batch: list[Received], outcome: dict[str, Any]) -> None:
        """Delete what the handler's outcome says succeeded."""
        if not outcome["ok"]:
            return  # the whole batch comes back after its visibility timeout
        failed: set[str] | None = set()
        if mapping.report_failures:
            failed = failed_ids(outcome.get("output"), batch)
        if failed is None:
            return
        done = [m.receipt_handle for m in batch if m.message_id not in failed]
        self.queues.delete_messages(mapping.queue, done)
