"""The whole pipeline on the embedded store (durable SQLite): files of 1, 10 and 100 invoices
submitted while worker processes run the workflow; invoices and containers per second from
first submit to last Done, and submit-to-Done latency of single one-invoice files.

Prints human lines, then one JSON object as the last line.
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


def csv_file(n: int, invoices: int) -> bytes:
    rows = ["invoice_number,invoice_date,currency,supplier,description,qty,unit_price"]
    rows += [
        f"B{n}-{i},2026-11-01,EUR,Supplier {n % 50},Item,2,{i % 90 + 10}.00"
        for i in range(invoices)
    ]
    return ("\n".join(rows) + "\n").encode()


def setup(path: Path, workers: int) -> tuple[Pipeline, list[subprocess.Popen[bytes]]]:
    db = SQLiteDatabase(str(path))
    db.migrate()
    registry = Registry()
    pipeline = open_pipeline(Engine.open(db, invoker=registry), registry)
    command = [sys.executable, "-m", "invoiceflow", "worker", "--database-url", f"sqlite:///{path}"]
    procs = [subprocess.Popen(command, cwd=ROOT) for _ in range(workers)]
    time.sleep(1.5)  # let them import and open the store
    return pipeline, procs


def stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        p.wait(timeout=60)


def finished(pipeline: Pipeline, ids: list[str]) -> list[containers.Container]:
    with pipeline.engine.db.transaction(write=False) as tx:
        found = [containers.get(tx, i) for i in ids]
    return [c for c in found if c is not None and c.state in TERMINAL]


def throughput(tmp: Path, per_file: int, files: int, workers: int) -> dict[str, Any]:
    pipeline, procs = setup(tmp / f"throughput-{per_file}.db", workers)
    try:
        began = time.perf_counter()
        ids = [receive(pipeline, f"f{n}.csv", csv_file(n, per_file)).id for n in range(files)]
        while len(done := finished(pipeline, ids)) < files:
            time.sleep(0.02)
        elapsed = time.perf_counter() - began
    finally:
        stop(procs)
    assert all(c.state == "Done" and c.created_count == per_file for c in done)
    return {
        "invoices_per_file": per_file,
        "files": files,
        "workers": workers,
        "invoices_per_s": round(files * per_file / elapsed),
        "containers_per_s": round(files / elapsed, 1),
    }


def latency(tmp: Path, samples: int, workers: int) -> dict[str, Any]:
    pipeline, procs = setup(tmp / "latency.db", workers)
    took = []
    try:
        for n in range(samples):
            began = time.perf_counter()
            container_id = receive(pipeline, f"one{n}.csv", csv_file(n, 1)).id
            while not finished(pipeline, [container_id]):
                time.sleep(0.001)
            took.append((time.perf_counter() - began) * 1000)
    finally:
        stop(procs)
    return {
        "files": samples,
        **p50_p99(took, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="invoiceflow-bench-") as tmp:
        results["machine"] = machine(Path(tmp))
        for per_file, files in ((1, 300), (10, 100), (100, 30)):
            key = f"files_of_{per_file}"
            results[key] = throughput(Path(tmp), per_file, files, args.workers)
            print(f"files of {per_file} invoices:", results[key], flush=True)
        results["latency_one_invoice"] = latency(Path(tmp), 50, args.workers)
        print("submit to Done, one-invoice files:", results["latency_one_invoice"], flush=True)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
