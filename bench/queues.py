"""Queue throughput, callback round trips and event source mapping throughput on SQLite
(durable: synchronous=FULL).

- messages: send-batch -> receive-batch -> delete-batch (batches of 10) through one queue,
  by one client in a loop and by a producer and a consumer process at once; durable
  (synchronous=FULL: an fsync per commit, 0.3-2 ms on this disk) and, to show where the
  fsync is the limit, synchronous=NORMAL (survives a process crash, not a power cut);
- floor: the one-client loop as bare SQLite runs it (our schema and statements through plain
  sqlite3, sends flushed), and what share of that invoiceflow reaches: the machine's speed
  varies from day to day, the share much less; and the same with nothing flushed at all,
  the most these statements allow on this machine. The one-client loops, ours and bare,
  take turns in chunks, so that the machine's speed, which can change within minutes,
  meets them alike;
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
CHUNKS = 8  # turns each one-client loop takes, alternating with the others


def send_receive_delete(sqs: SQSClient, url: str, first: int, cycles: int) -> None:
    """``cycles`` turns of one client's loop: a batch of 10 sent, received and deleted."""
    for b in range(first, first + cycles):
        entries = [{"Id": str(i), "MessageBody": f"{b}-{i}"} for i in range(10)]
        sqs.send_message_batch(QueueUrl=url, Entries=entries)
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
        handles = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)]
        sqs.delete_message_batch(QueueUrl=url, Entries=handles)


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


def bench_processes(path: Path, n: int, synchronous: str) -> float:
    """A producer process and a consumer process at once, through one queue."""
    spawn = multiprocessing.get_context("spawn")
    procs = [
        spawn.Process(target=f, args=(str(path), synchronous, n)) for f in (_produce, _consume)
    ]
    began = time.perf_counter()
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    return n / (time.perf_counter() - began)


class Ours:
    """One client doing send-batch -> receive-batch -> delete-batch through our SQS client."""

    def __init__(self, path: Path, synchronous: str) -> None:
        self.db = open_db(path, synchronous)
        self.sqs = SQSClient(Queues(self.db))
        self.url = self.sqs.create_queue(QueueName="bench")["QueueUrl"]

    def run(self, first: int, cycles: int) -> None:
        send_receive_delete(self.sqs, self.url, first, cycles)

    def close(self) -> None:
        self.db.close()


class Bare:
    """The same loop as bare SQLite would run it: our schema and our statements through
    plain sqlite3, sends committed at ``sends`` (FULL: flushed, as ours are; OFF: nothing
    flushed at all) and receives and deletes at NORMAL, with no validation, ids, digests,
    handles or responses. What invoiceflow adds is the gap to this."""

    def __init__(self, path: Path, sends: str) -> None:
        open_db(path).close()
        self.sends = sends
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        texts = SQLiteDatabase(":memory:")  # only for the named queries' text
        self.insert, self.receive, self.delete = (
            texts.sql(q) for q in ("insert_message", "receive_messages", "delete_message")
        )
        texts.close()
        self.conn.execute(
            "INSERT INTO queues (name, attributes, created, modified) VALUES ('floor', '{}', 0, 0)"
        )

    def run(self, first: int, cycles: int) -> None:
        conn = self.conn
        for b in range(first, first + cycles):
            now = time.time()
            rows = [
                (1, f"{b}-{i}", f"{b}-{i}", None, "", None, now, now + 1e6, now, "", None)
                for i in range(10)
            ]
            conn.execute(f"PRAGMA synchronous={self.sends}")
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(self.insert, rows)
            conn.execute("COMMIT")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("BEGIN IMMEDIATE")
            marks = ("n", now + 30, now, 1, now, now, 1 << 62, 10)
            got = conn.execute(self.receive, marks).fetchall()
            conn.execute("COMMIT")
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(self.delete, [(row[0], 1, "n") for row in got])
            conn.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()


def bench_one_client(tmp: Path, n: int) -> dict[str, float]:
    """Messages per second of each loop. The loops take turns, CHUNKS times, so a change
    in the machine's speed during the run meets them all alike."""
    loops: dict[str, Ours | Bare] = {
        "FULL": Ours(tmp / "messages-FULL.db", "FULL"),
        "NORMAL": Ours(tmp / "messages-NORMAL.db", "NORMAL"),
        "bare": Bare(tmp / "floor.db", "FULL"),
        "bare_nothing_flushed": Bare(tmp / "floor-unflushed.db", "OFF"),
    }
    took = dict.fromkeys(loops, 0.0)
    cycles = max(1, n // 10 // CHUNKS)
    for chunk in range(CHUNKS):
        for name, loop in loops.items():
            began = time.perf_counter()
            loop.run(chunk * cycles, cycles)
            took[name] += time.perf_counter() - began
    for loop in loops.values():
        loop.close()
    return {name: cycles * CHUNKS * 10 / t for name, t in took.items()}


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
        rates = bench_one_client(Path(tmp), args.messages)
        messages = [
            {
                "messages": args.messages,
                "synchronous": sync,
                "one_client_per_s": round(rates[sync]),
                "producer_and_consumer_processes_per_s": round(
                    bench_processes(Path(tmp) / f"messages-{sync}.db", args.messages, sync)
                ),
            }
            for sync in ("FULL", "NORMAL")
        ]
        for m in messages:
            print("send-batch -> receive-batch -> delete-batch:", m, flush=True)
        floor = {
            "messages": args.messages,
            "bare_sqlite_per_s": round(rates["bare"]),
            "invoiceflow_share": round(rates["FULL"] / rates["bare"], 2),
            "bare_sqlite_nothing_flushed_per_s": round(rates["bare_nothing_flushed"]),
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
