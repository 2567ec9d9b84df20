"""Handlers for the several-hosts test, run by ``invoiceflow worker`` processes on hosts
whose network link the test cuts.

The effects go to a SQLite file outside the network (``INVOICEFLOW_HOSTS_EFFECTS``), as a
card processor or a ledger the hosts reach by another path would: a host cut off from the
database still does what its handlers do. So every attempt is logged with the host that
made it (``INVOICEFLOW_HOSTS_HOST``) and when it began and ended, and the effect itself is
keyed, so that running it again changes nothing, as the durability contract asks of any
effect that must not repeat. The log is what shows which handlers ran again, and where.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from typing import Any

from invoiceflow.functions import handler

__all__ = ["SCHEMA", "WORK"]

# Seconds each handler works: a charge, then the deliveries of items 0, 1 and 2. The last
# one runs longer than a round waits for a handler, so it goes on in the background and is
# answered on its own, the other way a handler's result reaches the database.
WORK = {"charge": 0.02, "deliver": (0.01, 0.03, 0.08)}

SCHEMA = (
    "CREATE TABLE attempts (seq INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL,"
    " host TEXT NOT NULL, began REAL NOT NULL, ended REAL)",
    "CREATE TABLE ledger (key TEXT PRIMARY KEY, host TEXT NOT NULL)",
)

_local = threading.local()


def _effects() -> sqlite3.Connection:
    """One connection per thread: handlers run on several threads at once."""
    conn: sqlite3.Connection | None = getattr(_local, "conn", None)
    if conn is None:
        conn = sqlite3.connect(os.environ["INVOICEFLOW_HOSTS_EFFECTS"], timeout=60)
        conn.execute("PRAGMA journal_mode=WAL")
        _local.conn = conn
    return conn


def _effect(key: str, work: float) -> None:
    """Log the attempt as begun (the test cuts a link while one is in flight), work, then
    make the keyed effect and log the attempt as ended, in one transaction."""
    host = os.environ["INVOICEFLOW_HOSTS_HOST"]
    conn = _effects()
    with conn:
        cursor = conn.execute(
            "INSERT INTO attempts (key, host, began) VALUES (?, ?, ?)", (key, host, time.time())
        )
    seq = cursor.lastrowid
    time.sleep(work)
    with conn:
        conn.execute(
            "INSERT INTO ledger (key, host) VALUES (?, ?) ON CONFLICT DO NOTHING", (key, host)
        )
        conn.execute("UPDATE attempts SET ended = ? WHERE seq = ?", (time.time(), seq))


@handler("host_charge")
def charge(event: Any, _context: Any) -> Any:
    _effect(f"{event['name']}:charge", WORK["charge"])
    return {"amount": event["n"] % 7 + 1, "items": [0, 1, 2]}


@handler("host_deliver")
def deliver(event: Any, _context: Any) -> Any:
    item = int(event["item"])
    _effect(f"{event['name']}:deliver:{item}", WORK["deliver"][item])
    return item * 10
