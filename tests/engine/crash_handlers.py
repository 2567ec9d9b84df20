"""Handlers for the crash test, run by the worker processes it kills.

Handlers run at least once (a worker may die after a handler ran and before its result was
committed), so each side effect is keyed and written idempotently, as a real handler that
charges a card or posts to a ledger must be. Every invocation is also logged, to show how
often work was repeated.
"""

import os
import sqlite3
import threading
import time
from typing import Any

from invoiceflow.functions import handler

_local = threading.local()


def _ledger() -> sqlite3.Connection:
    """One connection per thread: handlers run on several threads at once."""
    conn: sqlite3.Connection | None = getattr(_local, "conn", None)
    if conn is None:
        conn = sqlite3.connect(os.environ["INVOICEFLOW_CRASH_EFFECTS"], timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        _local.conn = conn
    return conn


def _effect(key: str) -> None:
    with _ledger() as conn:
        conn.execute("INSERT INTO attempts (key) VALUES (?)", (key,))
        conn.execute("INSERT INTO ledger (key) VALUES (?) ON CONFLICT DO NOTHING", (key,))
    time.sleep(0.0003)  # real work takes time; it also gives the kills something to hit


@handler("charge")
def charge(event: Any, _context: Any) -> Any:
    _effect(f"{event['name']}:charge")
    return {"amount": event["n"] % 7 + 1, "items": [0, 1, 2]}


@handler("deliver")
def deliver(event: Any, _context: Any) -> Any:
    _effect(f"{event['name']}:deliver:{event['item']}")
    return event["item"] * 10
