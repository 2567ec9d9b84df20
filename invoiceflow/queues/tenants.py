"""One tenant's share of the queues: the counts, contents and redrive of its own messages.

Queues are shared (one per workflow step, not per tenant); every message records whose
work it carries, so a tenant can watch and redrive its own dead letters without seeing
anyone else's.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, partial
from typing import Any

import orjson

from invoiceflow.queues.manager import Queues
from invoiceflow.queues.moves import move_message
from invoiceflow.queues.queue import Queue, find_by_id

REDRIVE_AT_ONCE = 10_000  # messages one redrive call moves


@dataclass(frozen=True)
class Counts:
    visible: int
    in_flight: int
    delayed: int
    oldest_sent: float | None  # when the oldest message still there was sent


NONE = Counts(0, 0, 0, None)  # a queue holding none of the tenant's messages


@dataclass(frozen=True)
class Peeked:
    message_id: str
    body: str
    attributes: dict[str, Any]
    sent: float
    receive_count: int
    dead_letter_source: str | None  # name of the queue it was dead-lettered from


def counts(queues: Queues, tenant: str) -> dict[int, Counts]:
    """The tenant's message counts by queue id; a queue without its messages is absent."""
    now = queues.now()
    with queues.db.transaction(write=False) as tx:
        rows = tx.fetch("tenant_queue_counts", (now, now, now, tenant, now))
    return {qid: Counts(int(v), int(f), int(d), oldest) for qid, v, f, d, oldest in rows}


def peek(queues: Queues, queue: Queue, tenant: str, limit: int) -> list[Peeked]:
    """The tenant's messages in ``queue``, oldest first, left as they are (no receive)."""
    now = queues.now()
    with queues.db.transaction(write=False) as tx:
        rows = tx.fetch("peek_messages", (queue.id, tenant, now, limit))
        names = {r[0]: r[1] for r in tx.fetch("queue_names")}
    return [
        Peeked(mid, body, orjson.loads(attrs) if attrs else {}, sent, count, names.get(source))
        for mid, body, attrs, sent, count, source in rows
    ]


def redrive(queues: Queues, dead_letter: Queue, tenant: str) -> int:
    """Moves the tenant's visible messages in ``dead_letter`` back to the queues they came
    from, as new messages (new id, receive count zero), as StartMessageMoveTask does; how
    many moved."""
    now = queues.now()
    moved = 0
    with queues.db.transaction() as tx:
        rows = tx.fetch(
            "tenant_movable_messages", (dead_letter.id, tenant, now, now, REDRIVE_AT_ONCE)
        )
        source_of = cache(partial(find_by_id, tx))
        for rid, source_id in rows:
            target = source_of(source_id)
            if target is None:
                continue  # its queue is gone: it stays where it is
            move_message(tx, target, rid, now)
            moved += 1
    return moved
