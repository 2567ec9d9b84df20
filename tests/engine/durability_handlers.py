"""Handlers for the durability crash tests, run by the worker processes they kill.

``step`` logs every run in order, with how many of its execution's Task results were
committed when it started (read from the engine's database, ``INVOICEFLOW_ENGINE_DB``, a
``sqlite:///`` or ``postgresql://`` URL, as any other process sees it), and keys its
effect, as a handler that charges a card must. With
``INVOICEFLOW_KILL_AT=k`` set, the first run of step ``k`` anywhere kills its own worker
process with SIGKILL after logging itself: the crash lands exactly there, with whatever the
worker had not committed yet.
"""

import json
import os
import signal
import sqlite3
import threading
from typing import Any

import psycopg

from invoiceflow.functions import handler

_local = threading.local()


def _connect(variable: str) -> sqlite3.Connection:
    """One connection per thread and database: handlers run on several threads at once."""
    conn: sqlite3.Connection | None = getattr(_local, variable, None)
    if conn is None:
        conn = sqlite3.connect(os.environ[variable], timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")  # survives the process; enough here
        setattr(_local, variable, conn)
    return conn


def _engine() -> psycopg.Connection[Any] | sqlite3.Connection:
    """This thread's connection to the engine's database, reading what is committed."""
    url = os.environ["INVOICEFLOW_ENGINE_DB"]
    conn: psycopg.Connection[Any] | sqlite3.Connection | None = getattr(_local, "engine", None)
    if conn is None:
        if url.startswith("sqlite:///"):
            conn = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=30)
        else:  # autocommit: each query sees what is committed by then
            conn = psycopg.connect(url, autocommit=True)
        _local.engine = conn
    return conn


def committed_results(name: str) -> int:
    """How many of execution ``name``'s Tasks have their result committed now."""
    conn = _engine()
    mark = "%s" if isinstance(conn, psycopg.Connection) else "?"
    query = "SELECT h.events FROM history h JOIN executions e ON e.id = h.execution_id"
    pages = conn.execute(f"{query} WHERE e.name = {mark}", (name,)).fetchall()
    return sum(
        1 for (page,) in pages for e in json.loads(page) if e[2] == "LambdaFunctionSucceeded"
    )


@handler("step")
def step(event: Any, _context: Any) -> Any:
    name, k = event["name"], int(event["k"])
    done = committed_results(name)
    with _connect("INVOICEFLOW_CRASH_EFFECTS") as conn:
        conn.execute("INSERT INTO attempts (name, k, done) VALUES (?, ?, ?)", (name, k, done))
        conn.execute("INSERT INTO ledger (key) VALUES (?) ON CONFLICT DO NOTHING", (f"{name}:{k}",))
    if os.environ.get("INVOICEFLOW_KILL_AT") == str(k):
        with _connect("INVOICEFLOW_CRASH_EFFECTS") as conn:
            first = conn.execute(
                "INSERT INTO kills (k, name) VALUES (?, ?) ON CONFLICT DO NOTHING", (k, name)
            ).rowcount
        if first:
            os.kill(os.getpid(), signal.SIGKILL)
    return k
