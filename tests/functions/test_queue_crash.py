"""Queue-fed workers killed with SIGKILL every 0.2-2 s lose no message."""

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from invoiceflow.functions import LambdaClient, Mappings, Registry
from invoiceflow.queues import Queues, SQSClient
from invoiceflow.store import open_database

ROOT = Path(__file__).resolve().parents[2]
MESSAGES = 10_000
WORKERS = 4


def spawn(db: Path, effects: Path, name: str) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "invoiceflow", "worker", "--database-url", f"sqlite:///{db}"]
    command += ["--handlers", "tests.functions.queue_crash_handlers", "--name", name]
    command += ["--lease", "2"]
    env = {**os.environ, "INVOICEFLOW_CRASH_EFFECTS": str(effects)}
    return subprocess.Popen(command, cwd=ROOT, env=env)


@pytest.mark.sqlite_only("its worker processes open the SQLite file")
def test_killed_queue_workers_lose_nothing(tmp_path: Path) -> None:
    db_path, effects = tmp_path / "queues.db", tmp_path / "effects.db"
    with sqlite3.connect(effects) as conn:
        conn.execute("CREATE TABLE deliveries (key TEXT NOT NULL)")
        conn.execute("CREATE TABLE effects (key TEXT PRIMARY KEY)")
    db = open_database(f"sqlite:///{db_path}")
    sqs = SQSClient(Queues(db))
    sqs.create_queue(QueueName="jobs-dlq")
    policy = {
        "deadLetterTargetArn": "arn:aws:sqs:us-east-1:000000000000:jobs-dlq",
        "maxReceiveCount": 10,
    }
    url = sqs.create_queue(
        QueueName="jobs", Attributes={"VisibilityTimeout": "2", "RedrivePolicy": json.dumps(policy)}
    )["QueueUrl"]
    LambdaClient(Mappings(db, sqs.queues), Registry()).create_event_source_mapping(
        EventSourceArn="arn:aws:sqs:us-east-1:000000000000:jobs",
        FunctionName="record",
        BatchSize=10,
    )
    for start in range(0, MESSAGES, 10):
        sqs.send_message_batch(
            QueueUrl=url,
            Entries=[{"Id": str(i), "MessageBody": f"m{i}"} for i in range(start, start + 10)],
        )

    def remaining() -> int:
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        return int(attrs["ApproximateNumberOfMessages"]) + int(
            attrs["ApproximateNumberOfMessagesNotVisible"]
        )

    rng = random.Random(int(os.environ.get("CRASH_SEED", time.time_ns())))
    workers = {f"w{i}": spawn(db_path, effects, f"w{i}") for i in range(WORKERS)}
    kills = 0
    deadline = time.monotonic() + 180
    try:
        while remaining() and time.monotonic() < deadline:
            time.sleep(rng.uniform(0.2, 2.0))
            name = rng.choice(sorted(workers))
            workers[name].send_signal(signal.SIGKILL)
            workers[name].wait()
            kills += 1
            workers[name] = spawn(db_path, effects, name)
    finally:
        for proc in workers.values():
            proc.send_signal(signal.SIGTERM)
        for proc in workers.values():
            proc.wait(timeout=30)

    assert remaining() == 0
    dlq = sqs.get_queue_attributes(QueueUrl="jobs-dlq", AttributeNames=["All"])["Attributes"]
    assert dlq["ApproximateNumberOfMessages"] == "0"
    assert dlq["ApproximateNumberOfMessagesNotVisible"] == "0"
    with sqlite3.connect(effects) as conn:
        keys = {k for (k,) in conn.execute("SELECT key FROM effects")}
        delivered = conn.execute("SELECT COUNT(*) FROM deliveries").fetchone()[0]
    assert keys == {f"m{i}" for i in range(MESSAGES)}
    assert kills >= 3
    print(f"{kills} kills; {delivered - MESSAGES} deliveries repeated")
    db.close()
