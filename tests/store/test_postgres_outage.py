"""While the PostgreSQL server is down, work fails at once instead of waiting for it.

A transaction begun while the server cannot be reached used to wait for the connection pool
the pool's whole timeout (30 s): a worker's pass, a request and a worker's stop all hung
that long. And once the server was back, the pool's tries to reconnect, whose pauses double
each time, could leave every transaction waiting about as long as the outage had lasted.
Now a wait of a second asks the server directly: its refusal is the transaction's error,
and its answer means the pool is behind, and is replaced.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from invoiceflow.store.postgres import PostgresDatabase
from tests.crash_workers import logged_worker
from tests.store.private_postgres import PrivatePostgres, missing

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.skipif(not os.environ.get("CI") and missing() is not None, reason=str(missing())),
    pytest.mark.own_postgres,
]


def test_a_transaction_fails_fast_while_the_server_is_down_and_works_once_it_is_back(
    tmp_path: Path,
) -> None:
    """Down for 8 s: the pool's own tries to reconnect (after 1, 3, 7, 15 s) would wait
    until 15 s; the transactions that found the server back replace it at once."""
    with PrivatePostgres(tmp_path) as server:
        db = PostgresDatabase(server.createdb("outage"), timeout=30)
        try:
            with db.transaction(write=False) as tx:
                assert tx.fetch_raw("SELECT 1") == [(1,)]
            server.stop("immediate")
            down = time.monotonic()
            tries = 0
            while time.monotonic() - down < 8:
                began = time.monotonic()
                with pytest.raises(db.transient_errors), db.transaction() as tx:
                    tx.fetch_raw("SELECT 1")
                assert time.monotonic() - began < 10  # the pool's timeout is 30 s
                tries += 1
            assert tries >= 4
            server.start()
            up = time.monotonic()
            while True:
                try:
                    with db.transaction(write=False) as tx:
                        assert tx.fetch_raw("SELECT 1") == [(1,)]
                    break
                except db.transient_errors:
                    assert time.monotonic() - up < 30
                    time.sleep(0.05)  # polling for the server, as a client would
            assert time.monotonic() - up < 4
        finally:
            db.close()


def test_a_worker_stops_promptly_while_the_server_is_down(tmp_path: Path) -> None:
    with PrivatePostgres(tmp_path) as server:
        url = server.createdb("outage")
        db = PostgresDatabase(url)
        db.migrate()
        db.close()
        log = tmp_path / "worker.log"
        proc = logged_worker(url, log)
        try:
            deadline = time.monotonic() + 60
            server.stop("immediate")
            while b"worker pass failed" not in log.read_bytes():
                assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.05)
            proc.send_signal(signal.SIGTERM)
            began = time.monotonic()
            code = proc.wait(timeout=30)
            assert time.monotonic() - began < 10, log.read_text()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert code == 0, log.read_text()
