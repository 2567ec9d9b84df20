"""A pipeline worker killed with SIGKILL at random moments: every container ends Done and the
invoice table holds exactly the parsed invoices."""

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from invoiceflow.engine import Engine
from invoiceflow.functions import Registry
from invoiceflow.pipeline import Settings, containers, open_pipeline
from invoiceflow.pipeline.submit import receive
from invoiceflow.store.sqlite import SQLiteDatabase

ROOT = Path(__file__).resolve().parents[2]
FILES = 500
KILLS = 10


def csv_file(n: int, invoices: int) -> bytes:
    rows = ["invoice_number,invoice_date,currency,supplier,description,qty,unit_price"]
    rows += [f"F{n}-{i},2026-11-01,EUR,Supplier {n},Item,1,{i + 1}.00" for i in range(invoices)]
    return ("\n".join(rows) + "\n").encode()


def test_sigkilled_pipeline_workers_create_each_invoice_once(tmp_path: Path) -> None:
    path = tmp_path / "pipeline.db"
    db = SQLiteDatabase(str(path))
    db.migrate()
    registry = Registry()
    engine = Engine.open(db, invoker=registry)
    settings = Settings(visibility_timeout=2, max_receives=20)
    pipeline = open_pipeline(engine, registry, settings=settings)
    rng = random.Random(int(os.environ.get("CRASH_SEED", time.time_ns())))
    expected = 0
    ids = []
    for n in range(FILES):
        count = rng.randint(1, 50)
        expected += count
        ids.append(receive(pipeline, f"f{n}.csv", csv_file(n, count)).id)

    def created() -> int:
        with db.transaction(write=False) as tx:
            return int(tx.fetch_raw("SELECT COUNT(*) FROM invoices")[0][0])

    def spawn(name: str) -> subprocess.Popen[bytes]:
        command = [sys.executable, "-m", "invoiceflow", "worker", "--database-url"]
        command += [f"sqlite:///{path}", "--name", name, "--lease", "2"]
        return subprocess.Popen(command, cwd=ROOT)

    for _ in range(KILLS):
        seen = created()
        worker = spawn("pipeline-worker")
        deadline = time.monotonic() + 60
        while created() == seen and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 0.5))
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    worker = spawn("pipeline-worker")
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            with db.transaction(write=False) as tx:
                states = {c.state for c in (containers.get(tx, i) for i in ids) if c}
            if states <= {"Done", "Error"}:
                break
            time.sleep(0.2)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
    with db.transaction(write=False) as tx:
        found = [containers.get(tx, i) for i in ids]
    assert [c.state for c in found if c] == ["Done"] * FILES
    assert created() == expected == sum(c.created_count for c in found if c)
    db.close()
