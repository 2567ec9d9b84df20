"""Fairness between tenants: tenant B's one-invoice files while tenant A's 30 MB file runs.

Tenant A uploads one large CSV file (4,000 invoices of 100 lines, about 30 MB); while it is
being parsed and its invoices created, tenant B uploads a one-invoice file every quarter
second. Reported: B's upload-to-Done latency (p50, p99) over the files B sent while A's file
was in work, and how long A's file took. Workers are ``invoiceflow worker`` processes.

Prints human lines, then one JSON object as the last line. ``--scale 0.1`` makes A's file a
tenth of the size, for a quick run.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from latency import p50_p99
from machine import machine

from invoiceflow.engine import Engine
from invoiceflow.functions import Registry
from invoiceflow.pipeline import Pipeline, containers, open_pipeline
from invoiceflow.pipeline.submit import TERMINAL, receive
from invoiceflow.store.sqlite import SQLiteDatabase

ROOT = Path(__file__).resolve().parent.parent
HEADER = "invoice_number,invoice_date,currency,supplier,line,description,qty,unit_price"


def big_file(invoices: int, lines: int) -> bytes:
    rows = [HEADER]
    for i in range(invoices):
        rows += [
            f"A-{i},2026-11-01,EUR,Supplier A,{n},Item number {n} of invoice {i},{n % 9 + 1},"
            f"{n % 90 + 10}.25"
            for n in range(1, lines + 1)
        ]
    return ("\n".join(rows) + "\n").encode()


def one_invoice(n: int) -> bytes:
    return f"{HEADER}\nB-{n},2026-11-01,EUR,Supplier B,1,Item,1,10.00\n".encode()


def state(pipeline: Pipeline, container_id: str) -> str:
    with pipeline.engine.db.transaction(write=False) as tx:
        found = containers.get(tx, container_id)
    assert found is not None
    return found.state


def run(tmp: Path, scale: float, workers: int, limit: float) -> dict[str, Any]:
    db_path = tmp / "fair.db"
    db = SQLiteDatabase(str(db_path))
    db.migrate()
    registry = Registry()
    pipeline = open_pipeline(Engine.open(db, invoker=registry), registry)
    command = [sys.executable, "-m", "invoiceflow", "worker"]
    command += ["--database-url", f"sqlite:///{db_path}"]
    procs = [subprocess.Popen(command, cwd=ROOT) for _ in range(workers)]
    time.sleep(1.5)  # let them import and open the store
    data = big_file(max(1, int(4000 * scale)), 100)
    took: list[float] = []
    try:
        began = time.perf_counter()
        a = receive(pipeline, "a.csv", data, tenant="a").id
        pending: dict[str, float] = {}
        n = 0
        next_send = time.perf_counter()
        while True:
            now = time.perf_counter()
            a_state = state(pipeline, a)
            if a_state in TERMINAL or now - began > limit:
                break
            if now >= next_send:
                pending[receive(pipeline, f"b{n}.csv", one_invoice(n), tenant="b").id] = now
                n += 1
                next_send += 0.25
            for container_id, sent in list(pending.items()):
                if state(pipeline, container_id) in TERMINAL:
                    took.append((time.perf_counter() - sent) * 1000)
                    del pending[container_id]
            time.sleep(0.005)
        a_seconds = time.perf_counter() - began
        unfinished = len(pending)
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(timeout=60)
        db.close()
    return {
        "a_file_mb": round(len(data) / 1e6, 1),
        "a_state": a_state,
        "a_seconds": round(a_seconds, 1),
        "b_files_done": len(took),
        "b_files_unfinished": unfinished,
        **({"b_" + k: v for k, v in p50_p99(took, 1).items()} if took else {}),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--limit", type=float, default=300.0, help="seconds to run at most")
    args = parser.parse_args()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="invoiceflow-bench-") as tmp:
        results["machine"] = machine(Path(tmp))
        results["fairness"] = run(Path(tmp), args.scale, args.workers, args.limit)
        print("tenant B while tenant A's file runs:", results["fairness"], flush=True)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
