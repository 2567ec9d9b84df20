"""Queue throughput, callback round trips and event source mapping throughput on SQLite
(durable: synchronous=FULL).

- messages: send-batch -> receive-batch -> delete-batch (batches of 10) through one queue,
  by one client in a loop and by a producer and a consumer process at once; durable
  (synchronous=FULL: an fsync per commit, 0.3-2 ms on this disk) and, to show where the
  fsync is the limit, synchronous=NORMAL (survives a process crash, not a power cut);
- floor: the one-client loop as bare SQLite runs it (our schema and statements through plain
  sqlite3, sends flushed), and what share of that invoiceflow reaches: the machine's speed
  varies from day to day, the share much less; and the same with nothing flushed at all,
  the most these statements allow on this machine;
- callback: one execution at a time of a single sqs:sendMessage.waitForTaskToken task whose
  queue-fed handler answers at once, run by a worker thread; the execution's own start and
  stop dates give the round trip, p50/p99 (the starter looks for the end every 5 ms: its
  looks share the process, and the GIL, with the worker, and looking every 1 ms added
  about 1 ms to the round trips it measures);
- mapping: a queue filled beforehand, drained by worker processes through an event source
  mapping (batch size 10) to a handler that does nothing; events per second;
- machine: the interpreter's speed and the disk's flush time (see machine.py), since the
  same code gives figures up to twice apart from one day to another.

Prints human lines, then one JSON object as the last line.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from latency import p50_p99
from machine import machine

from invoiceflow.engine import Engine
from invoiceflow.functions import LambdaClient, Mappings, Registry
from invoiceflow.functions.worker import full_worker
from invoiceflow.queues import Queues, SQSClient
from invoiceflow.store.sqlite import SQLiteDatabase

ROOT = Path(__file__).resolve().parent.parent


def open_db(path: Path, synchronous: str = "FULL") -> SQLiteDatabase:
    db = SQLiteDatabase(str(path), synchronous=synchronous)
    db.migrate()
    return db


def _produce(path: str, synchronous: str, n: int) -> None:
    db = SQLiteDatabase(path, synchronous=synchronous)
    sqs = SQSClient(Queues(db))
    for b in range(n // 10):
        entries = [{"Id": str(i), "MessageBody": f"{b}-{i}"} for i in range(10)]
        sqs.send_message_batch(QueueUrl="bench", Entries=entries)
    db.close()


def _consume(path: str, synchronous: str, n: int) -> None:
    db = SQLiteDatabase(path, synchronous=synchronous)
    sqs = SQSClient(Queues(db))
    consumed = 0
    while consumed < n:
        got = sqs.receive_message(QueueUrl="bench", MaxNumberOfMessages=10, WaitTimeSeconds=1)
        messages = got.get("Messages", [])
        if messages:
            entries = [
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)
            ]
            sqs.delete_message_batch(QueueUrl="bench", Entries=entries)
            consumed += len(messages)
    db.close()


def bench_messages(tmp: Path, n: int, synchronous: str) -> dict[str, Any]:
    """One client doing send-batch -> receive-batch -> delete-batch in a loop, then a
    producer process and a consumer process running at once."""
    path = tmp / f"messages-{synchronous}.db"
    db = open_db(path, synchronous)
    sqs = SQSClient(Queues(db))
    url = sqs.create_queue(QueueName="bench")["QueueUrl"]
    began = time.perf_counter()
    for b in range(n // 10):
        entries = [{"Id": str(i), "MessageBody": f"{b}-{i}"} for i in range(10)]
        sqs.send_message_batch(QueueUrl=url, Entries=entries)
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
        handles = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)]
        sqs.delete_message_batch(QueueUrl=url, Entries=handles)
    one_client = n / (time.perf_counter() - began)
    db.close()
    spawn = multiprocessing.get_context("spawn")
    procs = [
        spawn.Process(target=f, args=(str(path), synchronous, n)) for f in (_produce, _consume)
    ]
    began = time.perf_counter()
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    two_processes = n / (time.perf_counter() - began)
    return {
        "messages": n,
        "synchronous": synchronous,
        "one_client_per_s": round(one_client),
        "producer_and_consumer_processes_per_s": round(two_processes),
    }


def bench_floor(tmp: Path, n: int, sends: str) -> float:
    """The same loop as bare SQLite would run it: our schema and our statements through
    plain sqlite3, sends committed at ``sends`` (FULL: flushed, as ours are; OFF: nothing
    flushed at all) and receives and deletes at NORMAL, with no validation, ids, digests,
    handles or responses. What invoiceflow adds is the gap to this; messages per second."""
    path = tmp / f"floor-{sends}.db"
    open_db(path).close()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    db = SQLiteDatabase(":memory:")  # only for the named queries' text
    insert, receive, delete = (
        db.sql(q) for q in ("insert_message", "receive_messages", "delete_message")
    )
    conn.execute(
        "INSERT INTO queues (name, attributes, created, modified) VALUES ('floor', '{}', 0, 0)"
    )
    began = time.perf_counter()
    for b in range(n // 10):
        now = time.time()
        rows = [
            (1, f"{b}-{i}", f"{b}-{i}", None, "", None, now, now + 1e6, now, "", None)
            for i in range(10)
        ]
        conn.execute(f"PRAGMA synchronous={sends}")
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(insert, rows)
        conn.execute("COMMIT")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("BEGIN IMMEDIATE")
        got = conn.execute(receive, ("n", now + 30, now, 1, now, now, 1 << 62, 10)).fetchall()
        conn.execute("COMMIT")
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(delete, [(row[0], 1, "n") for row in got])
        conn.execute("COMMIT")
    per_s = n / (time.perf_counter() - began)
    conn.close()
    db.close()
    return per_s


CALLBACK = {
    "StartAt": "Ask",
    "States": {
        "Ask": {
            "Type": "Task",
            "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "Parameters": {"QueueUrl": "asks", "MessageBody": {"token.$": "$$.Task.Token"}},
            "End": True,
        }
    },
}


def bench_callback(tmp: Path, n: int) -> dict[str, Any]:
    db = open_db(tmp / "callback.db")
    registry = Registry()
    engine = Engine.open(db, invoker=registry)
    sfn = engine.client
    sqs = SQSClient(engine.runtime.queues)

    def answer(event: Any, _ctx: Any) -> None:
        for record in event["Records"]:
            token = json.loads(record["body"])["token"]
            sfn.send_task_success(taskToken=token, output="{}")

    registry.register("answer", answer)
    sqs.create_queue(QueueName="asks")
    LambdaClient(Mappings(db, engine.runtime.queues), registry).create_event_source_mapping(
        EventSourceArn="arn:aws:sqs:us-east-1:000000000000:asks", FunctionName="answer"
    )
    arn = sfn.create_state_machine(name="callback", definition=json.dumps(CALLBACK))[
        "stateMachineArn"
    ]
    worker = full_worker(engine.runtime, registry)
    thread = threading.Thread(target=worker.run)
    thread.start()
    latencies = []
    try:
        for i in range(n):
            ex = sfn.start_execution(stateMachineArn=arn, name=f"c{i}")["executionArn"]
            while (described := sfn.describe_execution(executionArn=ex))["status"] == "RUNNING":
                time.sleep(0.005)
            took = described["stopDate"] - described["startDate"]
            latencies.append(took.total_seconds() * 1000)
    finally:
        worker.stop()
        thread.join()
        db.close()
    return {
        "executions": n,
        **p50_p99(latencies),
    }


def bench_mapping(tmp: Path, n: int, workers: int) -> dict[str, Any]:
    path = tmp / "mapping.db"
    db = open_db(path)
    queues = Queues(db)
    sqs = SQSClient(queues)
    url = sqs.create_queue(QueueName="events")["QueueUrl"]
    for b in range(n // 10):
        sqs.send_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": f"{b}-{i}"} for i in range(10)]
        )
    LambdaClient(Mappings(db, queues), Registry()).create_event_source_mapping(
        EventSourceArn="arn:aws:sqs:us-east-1:000000000000:events", FunctionName="sink"
    )

    def left() -> int:
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        return int(attrs["ApproximateNumberOfMessages"]) + int(
            attrs["ApproximateNumberOfMessagesNotVisible"]
        )

    command = [sys.executable, "-m", "invoiceflow", "worker", "--database-url", f"sqlite:///{path}"]
    command += ["--handlers", "bench.handlers"]
    procs = [subprocess.Popen(command, cwd=ROOT) for _ in range(workers)]
    try:
        while left() == n:  # the clock starts with the first event handled
            time.sleep(0.001)
        began = time.perf_counter()
        while left():
            time.sleep(0.005)
        elapsed = time.perf_counter() - began
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=30)
        db.close()
    return {"events": n, "workers": workers, "events_per_s": round(n / elapsed)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=40_000)
    parser.add_argument("--callbacks", type=int, default=500)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="invoiceflow-bench-") as tmp:
        speed = machine(Path(tmp))
        print("machine:", speed, flush=True)
        messages = [bench_messages(Path(tmp), args.messages, s) for s in ("FULL", "NORMAL")]
        for m in messages:
            print("send-batch -> receive-batch -> delete-batch:", m, flush=True)
        bare = bench_floor(Path(tmp), args.messages, "FULL")
        floor = {
            "messages": args.messages,
            "bare_sqlite_per_s": round(bare),
            "invoiceflow_share": round(messages[0]["one_client_per_s"] / bare, 2),
            "bare_sqlite_nothing_flushed_per_s": round(
                bench_floor(Path(tmp), args.messages, "OFF")
            ),
        }
        print("the same loop in bare SQLite (sends flushed, then not at all):", floor, flush=True)
        callback = bench_callback(Path(tmp), args.callbacks)
        print("callback round trip:", callback, flush=True)
        mapping = bench_mapping(Path(tmp), args.messages // 2, args.workers)
        print("event source mapping:", mapping, flush=True)
    print(
        json.dumps(
            {
                "machine": speed,
                "messages": messages,
                "floor": floor,
                "callback": callback,
                "mapping": mapping,
            }
        )
    )


if __name__ == "__main__":
    main()
