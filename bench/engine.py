"""Engine throughput and latency on the embedded SQLite store (durable: synchronous=FULL).

Measurements:
- transitions: many executions of a 10-state Pass/Choice machine; state transitions per
  second while workers drain them;
- durability: 1,000 executions of a three-Task machine with trivial handlers drained by one
  in-process worker, with the machine ``batched`` and ``per-step``, alternately, a few times;
  the medians of each, and the median of the per-step/batched ratios measured side by side;
- pipeline: a Task -> Map(10 items, a Task each) -> Pass machine with trivial handlers,
  started while workers run; executions per second and start-to-finish latency.

Prints human lines, then one JSON object as the last line.
"""

from __future__ import annotations

import argparse
import json
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import handlers  # noqa: F401  (registers the trivial handlers this process runs too)
from latency import p50_p99
from machine import machine

from invoiceflow.engine import Engine
from invoiceflow.engine.executions import create_execution
from invoiceflow.engine.worker import Worker
from invoiceflow.functions import default_registry
from invoiceflow.store.sqlite import SQLiteDatabase

ROOT = Path(__file__).resolve().parent.parent

TEN_STATES: dict[str, Any] = {
    "StartAt": "S0",
    "States": {
        **{
            f"S{i}": {"Type": "Pass", "Result": i, "ResultPath": f"$.s{i}", "Next": f"C{i}"}
            for i in range(0, 10, 2)
        },
        **{
            f"C{i}": {
                "Type": "Choice",
                "Choices": [{"Variable": f"$.s{i}", "NumericEquals": i, "Next": f"S{i + 2}"}],
                "Default": "Bad",
            }
            for i in range(0, 8, 2)
        },
        "C8": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.s8", "NumericEquals": 8, "Next": "Done"}],
            "Default": "Bad",
        },
        "Bad": {"Type": "Fail", "Error": "Unexpected"},
        "Done": {"Type": "Succeed"},
    },
}
TEN_STATE_TRANSITIONS = 11  # S0 C0 S2 C2 S4 C4 S6 C6 S8 C8 Done

PIPELINE: dict[str, Any] = {
    "StartAt": "Prepare",
    "States": {
        "Prepare": {
            "Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:000000000000:function:prepare",
            "Next": "Each",
        },
        "Each": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "ItemProcessor": {
                "StartAt": "Work",
                "States": {
                    "Work": {
                        "Type": "Task",
                        "Resource": "arn:aws:lambda:us-east-1:000000000000:function:work",
                        "End": True,
                    }
                },
            },
            "ResultPath": "$.results",
            "Next": "Finish",
        },
        "Finish": {"Type": "Pass", "OutputPath": "$.results", "End": True},
    },
}


def open_engine(path: Path) -> Engine:
    db = SQLiteDatabase(str(path))
    db.migrate()
    return Engine.open(db, invoker=default_registry())


def create(engine: Engine, name: str, definition: dict[str, Any]) -> str:
    out = engine.client.create_state_machine(name=name, definition=json.dumps(definition))
    return str(out["stateMachineArn"])


def count(engine: Engine, status: str) -> int:
    with engine.db.transaction(write=False) as tx:
        rows = tx.fetch_raw("SELECT COUNT(*) FROM executions WHERE status = ?", (status,))
    return int(rows[0][0])


def bench_transitions(tmp: Path, n: int) -> dict[str, Any]:
    """Start ``n`` executions, then let one in-process worker drain them."""
    engine = open_engine(tmp / "transitions.db")
    arn = create(engine, "ten", TEN_STATES)
    t0 = time.perf_counter()
    for i in range(n):
        engine.client.start_execution(stateMachineArn=arn, name=f"t{i}", input="{}")
    started = time.perf_counter() - t0
    worker = Worker(engine.runtime)
    t0 = time.perf_counter()
    while worker.run_once():
        pass
    elapsed = time.perf_counter() - t0
    ok = count(engine, "SUCCEEDED")
    assert ok == n, f"{ok} of {n} succeeded"
    return {
        "executions": n,
        "start_execution_per_s": round(n / started),
        "transitions_per_s": round(n * TEN_STATE_TRANSITIONS / elapsed),
    }


def _step(k: int, **more: Any) -> dict[str, Any]:
    resource = "arn:aws:lambda:us-east-1:000000000000:function:work"
    state = {"Type": "Task", "Resource": resource, "InputPath": "$.n", "ResultPath": f"$.t{k}"}
    return {**state, **more}


THREE_TASKS: dict[str, Any] = {
    "StartAt": "T1",
    "States": {"T1": _step(1, Next="T2"), "T2": _step(2, Next="T3"), "T3": _step(3, End=True)},
}


def three_tasks(tmp: Path, durability: str, n: int) -> float:
    """Executions per second of the three-Task machine, ``n`` of them started at once (in
    one transaction: starting is measured elsewhere) and drained by one worker."""
    path = tmp / f"three-{durability}.db"
    engine = open_engine(path)
    arn = engine.client.create_state_machine(
        name="three", definition=json.dumps(THREE_TASKS), durability=durability
    )["stateMachineArn"]
    with engine.db.transaction() as tx:
        now = engine.runtime.clock.now()
        for i in range(n):
            create_execution(tx, arn, f"t{i}", '{"n": 1}', now)
    worker = Worker(engine.runtime)
    t0 = time.perf_counter()
    deadline = time.monotonic() + 300
    while count(engine, "RUNNING"):
        assert time.monotonic() < deadline, "the three-Task executions did not finish"
        if not worker.run_once():
            engine.runtime.wait_for_handlers(1.0)  # one that went on in the background
            worker.wakeup.wait(0.005)
    elapsed = time.perf_counter() - t0
    ok = count(engine, "SUCCEEDED")
    engine.db.close()
    path.unlink()
    assert ok == n, f"{ok} of {n} succeeded"
    return n / elapsed


def bench_durability(tmp: Path, n: int, repeats: int) -> dict[str, Any]:
    """Both modes back to back, in turns (which goes first alternates), so that each ratio
    compares runs under the same load."""
    batched, per_step = [], []
    for i in range(repeats):
        for mode in ("batched", "per-step") if i % 2 == 0 else ("per-step", "batched"):
            (batched if mode == "batched" else per_step).append(three_tasks(tmp, mode, n))
    ratios = [p / b for p, b in zip(per_step, batched, strict=True)]
    return {
        "three_task_executions": n,
        "three_task_repeats": repeats,
        "three_task_batched_per_s": round(statistics.median(batched)),
        "three_task_per_step_per_s": round(statistics.median(per_step)),
        "three_task_per_step_ratio": round(statistics.median(ratios), 2),
    }


def spawn_workers(db: Path, count: int) -> list[subprocess.Popen[bytes]]:
    command = [sys.executable, "-m", "invoiceflow", "worker"]
    command += ["--database-url", f"sqlite:///{db}", "--handlers", "bench.handlers"]
    return [subprocess.Popen(command, cwd=ROOT) for _ in range(count)]


def stop(workers: list[subprocess.Popen[bytes]]) -> None:
    for w in workers:
        w.send_signal(signal.SIGTERM)
    for w in workers:
        w.wait(timeout=30)


def run_pipeline(tmp: Path, name: str, n: int, workers: int, rate: float | None) -> dict[str, Any]:
    """Start ``n`` executions (as fast as possible, or at ``rate`` per second) while worker
    processes run them; throughput from first start to last finish, latency per execution
    from its start date to its stop date."""
    path = tmp / f"{name}.db"
    engine = open_engine(path)
    arn = create(engine, name, PIPELINE)
    procs = spawn_workers(path, workers)
    try:
        time.sleep(1.0)  # let the workers import and open the database
        t0 = time.perf_counter()
        for i in range(n):
            if rate is not None:
                pause = t0 + i / rate - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
            engine.client.start_execution(stateMachineArn=arn, name=f"p{i}", input="{}")
        while count(engine, "SUCCEEDED") < n:
            time.sleep(0.005)
        elapsed = time.perf_counter() - t0
    finally:
        stop(procs)
    with engine.db.transaction(write=False) as tx:
        rows = tx.fetch_raw("SELECT (stop_date - start_date) * 1000 FROM executions")
    latencies = [r[0] for r in rows]
    return {
        "executions": n,
        "workers": workers,
        "offered_per_s": rate,
        "executions_per_s": round(n / elapsed),
        **p50_p99(latencies, 1),
    }


LOOP: dict[str, Any] = {
    "StartAt": "A",
    "States": {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "Next": "A"}},
}


def bench_history(tmp: Path, pages: int = 200) -> dict[str, Any]:
    """A loop of Pass states runs until the 25,000-event history quota ends it; then pages
    of one event, forward and backward from the middle, as a console would read them."""
    engine = open_engine(tmp / "history.db")
    sm = create(engine, "loop", LOOP)
    arn = engine.client.start_execution(stateMachineArn=sm)["executionArn"]
    began = time.perf_counter()
    while engine.client.describe_execution(executionArn=arn)["status"] == "RUNNING":
        engine.runtime.run_round("bench")
    ran = time.perf_counter() - began
    took = []
    for i in range(pages):
        started = time.perf_counter()
        engine.client.get_execution_history(
            executionArn=arn, maxResults=1, nextToken=str(12_000 + i), reverseOrder=i % 2 == 1
        )
        took.append((time.perf_counter() - started) * 1000)
    last = engine.client.get_execution_history(executionArn=arn, reverseOrder=True, maxResults=1)
    engine.db.close()
    return {
        "events": last["events"][0]["id"],
        "loop_to_quota_s": round(ran, 2),
        "page_of_one": p50_p99(took, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--executions", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--rate", type=float, default=500.0, help="offered starts/s for the latency run"
    )
    parser.add_argument(
        "--three-task", type=int, default=1000, help="executions per durability measurement"
    )
    parser.add_argument("--repeats", type=int, default=3, help="durability measurements per mode")
    parser.add_argument(
        "--durability-only", action="store_true", help="measure only batched against per-step"
    )
    args = parser.parse_args()
    n = args.executions
    with tempfile.TemporaryDirectory(prefix="invoiceflow-bench-") as tmp:
        speed = machine(Path(tmp))
        durability = bench_durability(Path(tmp), args.three_task, args.repeats)
        print("three Tasks, batched against per-step:", durability, flush=True)
        if args.durability_only:
            print(json.dumps({"machine": speed, **durability}))
            return
        transitions = bench_transitions(Path(tmp), n)
        print("10-state Pass/Choice:", transitions, flush=True)
        throughput = run_pipeline(Path(tmp), "flood", n, args.workers, None)
        print("Task -> Map(10) -> Pass, started flat out:", throughput, flush=True)
        latency = run_pipeline(Path(tmp), "paced", n // 2, args.workers, args.rate)
        print(f"Task -> Map(10) -> Pass at {args.rate:g}/s:", latency, flush=True)
        history = bench_history(Path(tmp))
        print("a history at its quota, pages of one event:", history, flush=True)
    print(
        json.dumps(
            {
                "machine": speed,
                **durability,
                "transitions": transitions,
                "throughput": throughput,
                "latency": latency,
                "history": history,
            }
        )
    )


if __name__ == "__main__":
    main()
