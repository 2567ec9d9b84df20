"""``invoiceflow worker`` logs a failed pass as one line, its traceback as plain text.

Without a logging configuration of its own the worker used structlog's default, which
renders an exception's traceback with every local variable of every frame (a round's
claimed executions, their states and histories among them): under load, with the database
restarting, each failed pass held the worker for minutes while it drew them.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from invoiceflow.store.postgres import PostgresDatabase
from tests.crash_workers import logged_worker
from tests.store.private_postgres import PrivatePostgres, missing

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.skipif(not os.environ.get("CI") and missing() is not None, reason=str(missing())),
    pytest.mark.own_postgres,
]


def test_a_worker_logs_a_failed_pass_in_one_line_without_its_locals(tmp_path: Path) -> None:
    """As ``serve`` does: JSON lines when stderr is no terminal."""
    with PrivatePostgres(tmp_path) as server:
        url = server.createdb("logs")
        db = PostgresDatabase(url)
        db.migrate()
        log = tmp_path / "worker.log"
        proc = logged_worker(url, log)
        try:
            deadline = time.monotonic() + 60
            with db.transaction() as tx:  # every pass now fails, at its first look
                tx.execute_raw("ALTER TABLE executions RENAME TO executions_away")
            failed: list[dict[str, Any]] = []
            while not failed:
                assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.05)
                lines = log.read_text(errors="replace").splitlines()
                failed = [json.loads(x) for x in lines if "worker pass failed" in x]
            with db.transaction() as tx:
                tx.execute_raw("ALTER TABLE executions_away RENAME TO executions")
        finally:
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=30)
            db.close()
    assert code == 0
    assert failed[0]["level"] == "error" and failed[0]["failures"] == 1
    assert "UndefinedTable" in failed[0]["exception"]
    assert "locals" not in failed[0]["exception"]
