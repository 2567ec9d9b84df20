"""Handlers for the PostgreSQL restart test, run by its worker processes.

Their effects go to a SQLite file beside the test, not to the PostgreSQL server being
restarted: what they record must outlive every restart, and must not depend on the thing
under test. Each call is logged as an attempt (numbered in the order they happened, across
processes), and its effect is written once per key (``ON CONFLICT DO NOTHING``), as a real
handler that charges a card must key its charge. The attempts show what was repeated; the
effects show that nothing was lost.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from typing import Any

from invoiceflow.functions import handler

SCHEMA = (
    "CREATE TABLE attempts (id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL,"
    " step TEXT NOT NULL)",
    "CREATE TABLE effects (key TEXT NOT NULL, step TEXT NOT NULL, PRIMARY KEY (key, step))",
    "CREATE TABLE deliveries (id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL)",
    "CREATE TABLE consumed (key TEXT PRIMARY KEY)",
)

_local = threading.local()


def connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=60)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


def _effects() -> sqlite3.Connection:
    """One connection per thread: handlers run on several threads at once."""
    conn: sqlite3.Connection | None = getattr(_local, "conn", None)
    if conn is None:
        conn = _local.conn = connect(os.environ["INVOICEFLOW_CHAOS_EFFECTS"])
    return conn


def _step(name: str, step: str) -> None:
    with _effects() as conn:
        conn.execute("INSERT INTO attempts (key, step) VALUES (?, ?)", (name, step))
        conn.execute(
            "INSERT INTO effects (key, step) VALUES (?, ?) ON CONFLICT DO NOTHING", (name, step)
        )


@handler("chaos_reserve")
def reserve(event: Any, _context: Any) -> Any:
    _step(event["name"], "reserve")
    return {"stock": event["n"] % 5}


@handler("chaos_charge")
def charge(event: Any, _context: Any) -> Any:
    _step(event["name"], "charge")
    return {"amount": event["n"] % 7 + 1}


@handler("chaos_notify")
def notify(event: Any, _context: Any) -> Any:
    _step(event["name"], "notify")
    return "sent"


@handler("chaos_consume")
def consume(event: Any, _context: Any) -> None:
    keys = [(r["body"],) for r in event["Records"]]
    with _effects() as conn:
        conn.executemany("INSERT INTO deliveries (key) VALUES (?)", keys)
        conn.executemany("INSERT INTO consumed (key) VALUES (?) ON CONFLICT DO NOTHING", keys)
