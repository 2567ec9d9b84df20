"""The consumer processes ``test_crash`` kills, run as
``python -m tests.queues.crash_consumer URL QUEUE LOG MODE VISIBILITY``.

A consumer receives up to 10 messages at a time from QUEUE, with a visibility timeout of
VISIBILITY seconds, and logs each receipt to LOG (a SQLite file every process shares)
before it does anything with it, bracketing the receive with the clock before the call
and after it returned: the store reads that same clock (``time.time()``) at a moment in
between. In MODE ``work`` it then makes each message's effect (keyed by its body, so a
repeat changes nothing), and deletes the batch, logging when each delete began and when it
returned. In MODE ``hold`` it keeps its first batch and never lets go: a consumer stuck or
dying while it holds messages. Killed at any instant, it leaves the log consistent: a
receipt it has no row for was never acted on.
"""

from __future__ import annotations

import sqlite3
import sys
import threading
import time
from typing import Any

from invoiceflow.queues import Queues, SQSClient
from invoiceflow.store import open_database

WORK = 0.005  # seconds of work per message

SCHEMA = """
CREATE TABLE IF NOT EXISTS receipts (
    handle TEXT PRIMARY KEY, consumer TEXT NOT NULL, body TEXT NOT NULL,
    receives INTEGER NOT NULL, visibility INTEGER NOT NULL, began REAL NOT NULL,
    returned REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS deletes (handle TEXT PRIMARY KEY, began REAL NOT NULL, returned REAL);
CREATE TABLE IF NOT EXISTS effects (body TEXT PRIMARY KEY);
"""


def connect(log: str) -> sqlite3.Connection:
    """The shared log, waiting for the other processes' writes rather than failing."""
    conn = sqlite3.connect(log, timeout=60)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")  # survives the process; enough here
    return conn


def run(url: str, queue: str, log: str, mode: str, visibility: int, name: str) -> None:
    sqs = SQSClient(Queues(open_database(url, migrate=False)))
    conn = connect(log)
    while True:
        began = time.time()
        got: list[dict[str, Any]] = sqs.receive_message(
            QueueUrl=queue,
            MaxNumberOfMessages=10,
            VisibilityTimeout=visibility,
            WaitTimeSeconds=1,
            AttributeNames=["ApproximateReceiveCount"],
        ).get("Messages", [])
        returned = time.time()
        if not got:
            continue
        receipts = [
            (m["ReceiptHandle"], name, m["Body"], int(m["Attributes"]["ApproximateReceiveCount"]))
            for m in got
        ]
        with conn:
            conn.executemany(
                "INSERT INTO receipts VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(*r, visibility, began, returned) for r in receipts],
            )
        if mode == "hold":
            threading.Event().wait()  # until it is killed
        time.sleep(WORK * len(receipts))  # work takes time: kills land while it holds them
        handles = [r[0] for r in receipts]
        with conn:
            conn.executemany(
                "INSERT OR IGNORE INTO effects VALUES (?)", [(r[2],) for r in receipts]
            )
            now = time.time()
            conn.executemany("INSERT INTO deletes VALUES (?, ?, NULL)", [(h, now) for h in handles])
        entries = [{"Id": str(i), "ReceiptHandle": h} for i, h in enumerate(handles)]
        deleted = sqs.delete_message_batch(QueueUrl=queue, Entries=entries)
        assert deleted["Failed"] == [], deleted  # a stale receipt is no failure, as in SQS
        with conn:
            now = time.time()
            conn.executemany(
                "UPDATE deletes SET returned = ? WHERE handle = ?", [(now, h) for h in handles]
            )


if __name__ == "__main__":
    url, queue, log, mode, visibility, name = sys.argv[1:]
    run(url, queue, log, mode, int(visibility), name)
