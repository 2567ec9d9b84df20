"""Queue consumers killed with SIGKILL while they hold messages, on a SQLite file and on
PostgreSQL: what they held reappears once its visibility timeout ends, and not before;
no message is lost; a receipt from before the crash deletes nothing, and every message
leaves the queue by the delete of its latest receipt.

The consumers are ``tests.queues.crash_consumer`` processes. What they did is judged from
their log against the store's clock (``time.time()``, which every process on this machine
reads alike): each receipt brackets its receive between the clock before the call and
after it returned, and each delete records when it began and when it returned.
"""

from __future__ import annotations

import random
import sqlite3
import sys
import time
from collections import defaultdict
from functools import partial
from itertools import pairwise
from pathlib import Path
from typing import NamedTuple

from invoiceflow.queues import Queues, SQSClient
from invoiceflow.queues.manager import Outgoing
from invoiceflow.store import open_database
from tests.crash_workers import Workers, seeded
from tests.postgres_server import Backend
from tests.postgres_server import backend as backend  # the fixture: SQLite, then PostgreSQL
from tests.queues.crash_consumer import SCHEMA, connect

PROCESSES = 4  # consumer processes at a time, on either backend
MESSAGES = 2000
KILLS = 5
VISIBILITY = 1  # seconds, for the consumers killed at random
HOLD = 2  # seconds of visibility the consumer killed while holding messages takes


class Receipt(NamedTuple):
    """One receive of one message, as the consumer that made it logged it."""

    handle: str
    consumer: str
    body: str
    receives: int  # ApproximateReceiveCount
    visibility: int
    began: float  # the clock before the receive call
    returned: float  # and after it returned: the store read it in between


class Consumers(Workers):
    """``count`` consumer processes of ``queue``, in ``mode`` (``work`` or ``hold``), each
    receiving with ``visibility`` seconds of visibility and logging to ``log``."""

    def __init__(
        self, url: str, count: int, log: Path, queue: str, mode: str, visibility: int
    ) -> None:
        self.log, self.queue, self.mode, self.visibility = log, queue, mode, visibility
        super().__init__(url, count)

    def command(self, name: str) -> list[str]:
        args = [self.url, self.queue, str(self.log), self.mode, str(self.visibility), name]
        return [sys.executable, "-m", "tests.queues.crash_consumer", *args]


def new_log(path: Path) -> Path:
    with connect(str(path)) as conn:
        conn.executescript(SCHEMA)
    return path


def receipts(log: Path) -> list[Receipt]:
    with sqlite3.connect(log, timeout=60) as conn:
        return [Receipt(*row) for row in conn.execute("SELECT * FROM receipts")]


def handled(log: Path) -> int:
    with sqlite3.connect(log, timeout=60) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM effects").fetchone()[0])


def moved_on(log: Path, seen: int) -> bool:
    """Whether a message was handled since ``seen`` were, or all are."""
    return handled(log) > seen or handled(log) == MESSAGES


def counts(sqs: SQSClient, queue: str) -> tuple[int, int, int]:
    """The queue's visible, in-flight and delayed messages."""
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    names.append("ApproximateNumberOfMessagesDelayed")
    attrs = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=names)["Attributes"]
    visible, in_flight, delayed = (int(attrs[name]) for name in names)
    return visible, in_flight, delayed


def test_what_a_killed_consumer_held_reappears_after_its_timeout_and_once(
    backend: Backend, tmp_path: Path
) -> None:
    """A consumer receives a batch and dies holding it. Every message of the batch comes
    back with its receive count raised, no sooner than the dead consumer's visibility
    timeout; deleting with the dead consumer's receipts then deletes nothing, and deleting
    with the new ones deletes exactly those messages."""
    db = open_database(backend.url)
    sqs = SQSClient(Queues(db))
    sqs.create_queue(QueueName="held")
    bodies = {f"h{i}" for i in range(10)}
    entries = [{"Id": body, "MessageBody": body} for body in sorted(bodies)]
    assert sqs.send_message_batch(QueueUrl="held", Entries=entries)["Failed"] == []
    log = new_log(tmp_path / "log.db")
    with Consumers(backend.url, 1, log, "held", "hold", HOLD) as holder:
        holder.until(lambda: receipts(log), 60, "the holder received nothing")
        holder.kill(random.Random(0), replace=False)
    held = {r.body: r for r in receipts(log)}
    assert held and set(held) <= bodies and {r.receives for r in held.values()} == {1}

    again: dict[str, tuple[str, int, float]] = {}  # body -> its new receipt, count, return
    deadline = time.monotonic() + 60
    while len(again) < len(bodies):
        assert time.monotonic() < deadline, f"never came back: {bodies - set(again)}"
        got = sqs.receive_message(
            QueueUrl="held",
            MaxNumberOfMessages=10,
            VisibilityTimeout=600,  # held by this test until it deletes them
            WaitTimeSeconds=1,
            AttributeNames=["ApproximateReceiveCount"],
        ).get("Messages", [])
        returned = time.time()
        for m in got:
            count = int(m["Attributes"]["ApproximateReceiveCount"])
            again[m["Body"]] = (m["ReceiptHandle"], count, returned)
    for body, (_, count, returned) in again.items():
        first = held.get(body)
        assert count == (2 if first else 1), (body, count)
        if first:  # back only once the dead consumer's visibility timeout had ended
            assert returned >= first.began + first.visibility, (first, returned)

    stale = [{"Id": b, "ReceiptHandle": r.handle} for b, r in held.items()]
    assert sqs.delete_message_batch(QueueUrl="held", Entries=stale)["Failed"] == []
    assert counts(sqs, "held") == (0, 10, 0), "a receipt from before the crash deleted"
    fresh = [{"Id": b, "ReceiptHandle": h} for b, (h, _, _) in again.items()]
    assert sqs.delete_message_batch(QueueUrl="held", Entries=fresh)["Failed"] == []
    assert counts(sqs, "held") == (0, 0, 0)
    print(f"{len(held)} held by the dead consumer came back after {HOLD} s")
    db.close()


def test_consumers_killed_at_random_moments_lose_no_message(
    backend: Backend, tmp_path: Path
) -> None:
    """Four consumers drain a queue while one after another is killed at a random moment
    and replaced. No message is lost, none is received again before the visibility of its
    previous receive ended, and each leaves the queue by the delete of its latest receipt:
    a delete that returned before another receive of its message began would have been a
    delete that removed nothing."""
    db = open_database(backend.url)
    queues = Queues(db)
    sqs = SQSClient(queues)
    sqs.create_queue(QueueName="jobs")
    bodies = {f"m{i}" for i in range(MESSAGES)}
    with db.transaction() as tx:
        outgoing = [Outgoing(body) for body in sorted(bodies)]
        sent = queues.send_many(tx, queues.find(tx, "jobs"), outgoing)
    assert all(not isinstance(s, Exception) for s in sent)
    log = new_log(tmp_path / "log.db")
    seed, rng = seeded()
    with Consumers(backend.url, PROCESSES, log, "jobs", "work", VISIBILITY) as consumers:
        for _ in range(KILLS):
            consumers.until(partial(moved_on, log, handled(log)), 60, "no message handled")
            if handled(log) == MESSAGES:
                break  # all handled already: nothing left to interrupt
            time.sleep(rng.uniform(0.0, 0.5))
            consumers.kill(rng, rename=True)
        consumers.until(lambda: counts(sqs, "jobs") == (0, 0, 0), 120, "messages left")

    with sqlite3.connect(log) as conn:
        effects = {body for (body,) in conn.execute("SELECT body FROM effects")}
        deletes = {
            h: (began, returned) for h, began, returned in conn.execute("SELECT * FROM deletes")
        }
    assert effects == bodies, seed
    chains: defaultdict[str, list[Receipt]] = defaultdict(list)
    for receipt in receipts(log):
        chains[receipt.body].append(receipt)
    assert set(chains) == bodies, seed
    for body, chain in chains.items():
        chain.sort(key=lambda r: r.receives)
        # Two receipts of one count would be one receive of the message claimed twice.
        assert len({r.receives for r in chain}) == len(chain), (body, chain, seed)
        for earlier, later in pairwise(chain):
            assert later.returned >= earlier.began + earlier.visibility, (earlier, later, seed)
            ended = deletes.get(earlier.handle, (None, None))[1]
            assert ended is None or ended > later.began, ("a delete did nothing", chain, seed)
        assert chain[-1].handle in deletes, ("gone without its latest receipt's delete", chain)
    assert sqs.receive_message(QueueUrl="jobs", MaxNumberOfMessages=10) == {}
    again = sum(len(chain) - 1 for chain in chains.values())
    print(f"{consumers.kills} kills; {again} messages received again (seed {seed})")
    db.close()
