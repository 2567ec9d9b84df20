"""`invoiceflow worker` stops when asked, whatever it was doing at that instant."""

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_sigterm_at_random_moments_stops_the_worker(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/w.db"
    rng = random.Random()
    for _ in range(8):
        with subprocess.Popen(
            [sys.executable, "-m", "invoiceflow", "worker", "--database-url", url],
            cwd=ROOT,
            stderr=subprocess.PIPE,
        ) as proc:
            try:
                assert proc.stderr is not None
                assert b"ready" in proc.stderr.readline()  # past start-up
                time.sleep(rng.uniform(0.0, 0.5))  # somewhere in the idle loop
                proc.send_signal(signal.SIGTERM)
                assert proc.wait(timeout=10) == 0
            finally:
                proc.kill()


def test_a_worker_whose_store_breaks_exits_with_a_failure(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    command = [sys.executable, "-m", "invoiceflow", "worker", "--database-url", f"sqlite:///{db}"]
    with subprocess.Popen(
        [*command, "--max-failures", "3"], cwd=ROOT, stderr=subprocess.PIPE
    ) as proc:
        try:
            assert proc.stderr is not None
            assert b"ready" in proc.stderr.readline()
            for name in ("w.db-wal", "w.db-shm", "w.db"):  # the store is gone for good
                (tmp_path / name).unlink(missing_ok=True)
            db.mkdir()
            assert proc.wait(timeout=60) == 1  # a supervisor restarts what fails
            assert b"failed" in proc.stderr.read()
        finally:
            proc.kill()
