"""The processes of ``test_across_processes``, run as ``python -m tests.queues.crowd ROLE ...``.

Separate OS processes, not threads, because what is tested is what only separate processes
exercise: each has its own connections, its own clock reads and its own wake-up listener,
and meets the others only through the store. Each role reports through files it writes and
a line on stdout, so the test process reads evidence rather than trusting a return value.

Roles:

``consume URL QUEUE THREADS TIMEOUT LOG FLAGS DEADLINE``
    THREADS consumers that receive 10 at a time and write every lease to LOG (JSON lines).
    Each message's body says its index; the index and the receive count decide what the
    consumer does with it (see ``plan``), so the receive chains the test expects are known.
``receive URL QUEUE COUNT OUT``
    Long polls (WaitTimeSeconds=20) until COUNT messages came; writes when each was sent
    and received.
``send URL QUEUE COUNT SEED OUT``
    Sends COUNT messages one at a time at random intervals, each carrying its send time;
    writes when each send call began and returned (its commit acknowledged).
"""

from __future__ import annotations

import json
import random
import sys
import threading
import time
from pathlib import Path
from typing import Any, NamedTuple

from invoiceflow.queues import Queues
from invoiceflow.store import open_database

WAIT = 1  # seconds a consumer long polls: bounded so that it looks at its held messages

# What a consumer does with a message, by index modulo PLANS and receive count.
PLANS = 100
DROP = 1  # dropped (never deleted) the first time: received twice
HOLD = 2  # held past its timeout by the first receiver, whose delete then comes stale;
# dropped by the second receiver, so that a third one must find it still there


def plan(index: int, count: int) -> str:
    """``delete``, ``drop`` or ``hold`` for the ``count``-th receive of message ``index``."""
    kind = index % PLANS
    if kind == DROP and count == 1:
        return "drop"
    if kind == HOLD and count == 1:
        return "hold"
    if kind == HOLD and count == 2:
        return "drop"
    return "delete"


class Record(NamedTuple):
    """One lease as its log line holds it. A receive reads the store's clock (``time.time()``)
    at a moment its caller does not see, between ``received_from`` and ``received_by``; the
    lease's visibility ends its timeout later: no sooner than ``visible_from`` (exact for a
    first receive, whose clock read ApproximateFirstReceiveTimestamp reports), no later than
    ``visible_by``. ``outcome`` is ``deleted``, ``stale-deleted`` (held past the timeout,
    deleted after another receive) or ``dropped``; ``ended_from`` and ``ended_by`` bracket
    the delete call (or are the moment of the drop)."""

    message_id: str
    number: int  # its position among the messages sent, from its body
    receive_count: int
    receipt: str
    received_from: float
    received_by: float
    first_receive: float
    visible_from: float
    visible_by: float
    outcome: str
    ended_from: float
    ended_by: float


class Lease:
    """One receive of one message while its consumer acts on it."""

    __slots__ = ("after", "before", "body", "count", "ended", "first", "handle", "mid", "outcome")

    def __init__(self, before: float, after: float, message: Any) -> None:
        self.before = before
        self.after = after
        self.mid: str = message.message_id
        self.handle: str = message.receipt_handle
        self.count: int = message.receive_count
        self.first: float = message.first_receive_at
        self.body: dict[str, Any] = json.loads(message.body)
        self.outcome = ""
        self.ended = (0.0, 0.0)

    def record(self, timeout: int) -> Record:
        """The log line: the visibility's end bracketed by the clock around the receive,
        or exact for a first receive, whose clock read the store reports."""
        taken = self.first if self.count == 1 else self.before
        return Record(
            self.mid,
            self.body["i"],
            self.count,
            self.handle,
            self.before,
            self.after,
            self.first,
            taken + timeout,
            self.after + timeout,
            self.outcome,
            *self.ended,
        )


def consume(
    url: str, queue: str, threads: int, timeout: int, log: Path, flags: Path, deadline: float
) -> None:
    """Run ``threads`` consumers until the queue holds nothing at all, then write the log;
    a consumer still busy at ``deadline`` (epoch seconds) fails the process."""
    db = open_database(url, migrate=False)
    queues = Queues(db)
    rows: list[Record] = []
    lock = threading.Lock()
    failures: list[BaseException] = []

    def one() -> None:
        try:
            done = consumer(queues, queue, timeout, flags, deadline)
            with lock:
                rows.extend(lease.record(timeout) for lease in done)
        except BaseException as exc:
            failures.append(exc)
            raise

    workers = [threading.Thread(target=one) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    db.close()
    with log.open("w") as out:
        for row in rows:
            out.write(json.dumps(row) + "\n")
    if failures:
        raise SystemExit(f"{len(failures)} consumer(s) failed: {failures[0]!r}")


def consumer(queues: Queues, queue: str, timeout: int, flags: Path, deadline: float) -> list[Lease]:
    """Receive, act on each message by plan, until the queue is empty and nothing is held.

    A held message is let go only once a second receiver has marked it (a flag file): only
    then is its delete certainly stale, which is what this lease exists to try."""
    done: list[Lease] = []
    held: list[Lease] = []
    ref = queues.get(queue)
    while True:
        if time.time() > deadline:
            raise TimeoutError(f"consumer still busy at its deadline, holding {len(held)}")
        before = time.time()
        got = queues.receive(queue, 10, visibility_timeout=timeout, wait_seconds=WAIT)
        after = time.time()
        leases = [Lease(before, after, m) for m in got]
        deleting = []
        for lease in leases:
            action = plan(lease.body["i"], lease.count)
            if action == "delete":
                deleting.append(lease)
                continue
            if action == "hold":
                held.append(lease)
                continue
            if lease.count > 1:  # the second receive of a held message: tell its holder
                (flags / lease.mid).touch()
            lease.outcome, lease.ended = "dropped", (after, after)
            done.append(lease)
        if deleting:
            end(queues, queue, deleting, "deleted")
            done.extend(deleting)
        stale = [lease for lease in held if (flags / lease.mid).exists()]
        if stale:
            end(queues, queue, stale, "stale-deleted")
            done.extend(stale)
            held = [lease for lease in held if lease not in stale]
        if not got and not held:
            counts = queues.counts(ref)
            if not (counts["visible"] or counts["in_flight"] or counts["delayed"]):
                return done


def end(queues: Queues, queue: str, leases: list[Lease], outcome: str) -> None:
    """Delete the messages of ``leases`` with their receipts, in one batch, timing it."""
    before = time.time()
    outcomes = queues.delete_messages(queue, [lease.handle for lease in leases])
    after = time.time()
    assert not any(outcomes), outcomes
    for lease in leases:
        lease.outcome, lease.ended = outcome, (before, after)


def receive(url: str, queue: str, count: int, out: Path) -> None:
    """Long poll until ``count`` messages came; write [index, the send time it
    carries, when it came] for each: the latency is the difference."""
    db = open_database(url, migrate=False)
    queues = Queues(db)
    came: list[list[Any]] = []
    print("ready", flush=True)
    while len(came) < count:
        got = queues.receive(queue, 10, wait_seconds=20)
        now = time.time()
        for message in got:
            body = json.loads(message.body)
            came.append([body["i"], body["sent"], now])
        if got:
            queues.delete_messages(queue, [m.receipt_handle for m in got])
    db.close()
    out.write_text(json.dumps(came))


def send(url: str, queue: str, count: int, seed: int, out: Path) -> None:
    """Send ``count`` messages one per transaction, at seeded random intervals: a tenth
    back to back (a send landing while the receiver looks), the rest up to 40 ms apart.
    Writes [index, send began, send returned] for each."""
    db = open_database(url, migrate=False)
    queues = Queues(db)
    target = queues.get(queue)
    rng = random.Random(seed)
    pauses = [0.0 if rng.random() < 0.1 else rng.uniform(0.0, 0.04) for _ in range(count)]
    times: list[list[float]] = []
    for i, pause in enumerate(pauses):
        time.sleep(pause)  # the workload's pacing, not an ordering of processes
        began = time.time()
        with db.transaction() as tx:
            queues.send(tx, target, json.dumps({"i": i, "sent": began}))
        times.append([i, began, time.time()])
    db.close()
    out.write_text(json.dumps(times))


def main(argv: list[str]) -> None:
    role, url, queue, *rest = argv
    if role == "consume":
        threads, timeout, log, flags, deadline = rest
        consume(url, queue, int(threads), int(timeout), Path(log), Path(flags), float(deadline))
    elif role == "receive":
        count, out = rest
        receive(url, queue, int(count), Path(out))
    elif role == "send":
        count, seed, out = rest
        send(url, queue, int(count), int(seed), Path(out))
    else:
        raise SystemExit(f"unknown role {role!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
