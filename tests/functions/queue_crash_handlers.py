"""The queue-fed handler of the queue crash test, run by the worker processes it kills.

Each message's effect is keyed by its body and written idempotently; every delivery is also
counted, to show how many were repeated after kills.
"""

import functools
import os
import sqlite3
import time
from typing import Any

from invoiceflow.functions import handler


@functools.cache
def _effects() -> sqlite3.Connection:
    conn = sqlite3.connect(os.environ["INVOICEFLOW_CRASH_EFFECTS"], timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


@handler("record")
def record(event: Any, _context: Any) -> None:
    keys = [(r["body"],) for r in event["Records"]]
    with _effects() as conn:
        conn.executemany("INSERT INTO deliveries (key) VALUES (?)", keys)
        conn.executemany("INSERT INTO effects (key) VALUES (?) ON CONFLICT DO NOTHING", keys)
    time.sleep(0.002 * len(keys))  # work takes time, so kills land mid-batch
