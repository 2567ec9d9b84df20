"""Dead-letter queue redrive: StartMessageMoveTask, ListMessageMoveTasks, CancelMessageMoveTask.

A move task is a row; workers carry it out in steps (``run_moves``), at most at the task's
rate. Moved messages are new messages, as SQS makes them: a new message id, sent time and
retention, receive count zero.
"""

from __future__ import annotations

import secrets
from functools import cache, partial
from typing import Any

from invoiceflow.queues.errors import QueueError, invalid
from invoiceflow.queues.manager import Queues, channel
from invoiceflow.queues.queue import Queue, dead_letter_sources, find, find_by_id, message_ids
from invoiceflow.store import Transaction

STEP = 500  # messages moved per task per step when no rate is set


def start(
    queues: Queues, source_arn: str, destination_arn: str | None = None, rate: int | None = None
) -> str:
    if rate is not None and (not isinstance(rate, int) or not 1 <= rate <= 500):
        raise invalid("MaxNumberOfMessagesPerSecond must be between 1 and 500.")
    now = queues.now()
    with queues.db.transaction() as tx:
        source = find(tx, source_arn)
        destination = find(tx, destination_arn) if destination_arn else None
        if not dead_letter_sources(tx, source):
            raise invalid("Source queue must be configured as a Dead Letter Queue.")
        if any(r[4] == "RUNNING" for r in tx.fetch("list_move_tasks", (source.id, 10))):
            raise QueueError(
                "UnsupportedOperation",
                "There is already a task running. Only one active task is allowed for a "
                "source queue at a given time.",
            )
        counts = tx.fetchone("queue_counts", (now, now, now, source.id, now))
        handle = secrets.token_urlsafe(24)
        tx.execute(
            "insert_move_task",
            (
                handle,
                source.id,
                destination.id if destination else None,
                rate,
                now,
                counts[0] if counts else 0,
            ),
        )
        tx.notify(channel(source.id))  # the workers that run moves listen to every queue
    return handle


def cancel(queues: Queues, handle: str) -> int:
    with queues.db.transaction() as tx:
        row = tx.fetchone("get_move_task", (handle,))
        if row is None or row[2] != "RUNNING":
            raise QueueError("ResourceNotFoundException", "The task handle is not valid.")
        moved = next(r[7] for r in tx.fetch("list_move_tasks", (row[1], 10)) if r[0] == handle)
        tx.execute("update_move_task", (moved, "CANCELLED", None, row[0]))
    return int(moved)


def listing(queues: Queues, source_arn: str, limit: int = 1) -> list[dict[str, Any]]:
    if not isinstance(limit, int) or not 1 <= limit <= 10:
        raise invalid("MaxResults must be between 1 and 10.")
    with queues.db.transaction(write=False) as tx:
        source = find(tx, source_arn)
        rows = tx.fetch("list_move_tasks", (source.id, limit))
        out = []
        for handle, _src, dest, rate, status, started, to_move, moved, reason in rows:
            entry: dict[str, Any] = {
                "Status": status,
                "SourceArn": source.arn,
                "ApproximateNumberOfMessagesMoved": moved,
                "ApproximateNumberOfMessagesToMove": to_move,
                "StartedTimestamp": int(started * 1000),
            }
            if status == "RUNNING":
                entry["TaskHandle"] = handle
            if dest is not None:
                destination = find_by_id(tx, dest)
                entry["DestinationArn"] = destination.arn if destination else ""
            if rate is not None:
                entry["MaxNumberOfMessagesPerSecond"] = rate
            if reason:
                entry["FailureReason"] = reason
            out.append(entry)
    return out


def run_moves(queues: Queues) -> int:
    """Carry every running move task one step further; returns how many messages moved."""
    with queues.db.transaction(write=False) as tx:
        if not tx.fetch("running_move_tasks"):
            return 0  # the usual case: no write lock taken
    now = queues.now()
    total = 0
    with queues.db.transaction() as tx:
        target_of = cache(partial(find_by_id, tx))  # a step moves many messages to few queues
        for tid, _handle, source_id, dest_id, rate, started, _to_move, moved in tx.fetch(
            "running_move_tasks"
        ):
            allowed = STEP if rate is None else max(0, int((now - started) * rate) - moved)
            rows = tx.fetch("movable_messages", (source_id, now, now, allowed)) if allowed else []
            failure = None
            for rid, *_rest, origin in rows:
                target = target_of(dest_id if dest_id is not None else origin)
                if target is None:
                    failure = "The destination queue of a message does not exist."
                    break
                move_message(tx, target, rid, now)
                moved += 1
                total += 1
            left = tx.fetch("movable_messages", (source_id, now, now, 1))
            status = "FAILED" if failure else ("RUNNING" if left else "COMPLETED")
            tx.execute("update_move_task", (moved, status, failure, tid))
    return total


def move_message(tx: Transaction, target: Queue, row_id: int, now: float) -> None:
    """Moves one stored message to ``target`` as a new message, as SQS redrive does."""
    retention = target.number("MessageRetentionPeriod")
    [message_id] = message_ids(1)
    tx.execute("move_message", (target.id, message_id, now, now + retention, now, row_id))
    tx.notify(channel(target.id))
