"""Long polling waits for a commit or a hidden message's return, not by looking again and
again: a FIFO group held back by its message in flight costs a few looks, not thousands."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest

from invoiceflow.queues import Queues, SQSClient
from invoiceflow.store import Database, Transaction, open_database
from tests.crash_workers import wait_for


class Counted:
    """``db``'s transactions, counted."""

    def __init__(self, db: Database) -> None:
        self.count = 0
        self._transaction = db.transaction
        db.transaction = self  # type: ignore[method-assign]

    def __call__(self, **kwargs: Any) -> AbstractContextManager[Transaction]:
        self.count += 1
        return self._transaction(**kwargs)


@pytest.fixture
def sqs(tmp_path: Path) -> Iterator[SQSClient]:
    db = open_database(f"sqlite:///{tmp_path / 'poll.db'}")
    yield SQSClient(Queues(db))
    db.close()


def test_a_held_back_fifo_group_is_waited_for_not_spun_on(sqs: SQSClient) -> None:
    url = sqs.create_queue(QueueName="o.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    for n in range(2):
        sqs.send_message(
            QueueUrl=url, MessageBody=f"m{n}", MessageGroupId="g", MessageDeduplicationId=f"d{n}"
        )
    [first] = sqs.receive_message(QueueUrl=url, VisibilityTimeout=60)["Messages"]
    counted = Counted(sqs.queues.db)
    began = time.monotonic()
    assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", []) == []
    assert time.monotonic() - began >= 1.0
    assert counted.count < 20, counted.count

    # Deleting the message in flight frees its group: a waiting receiver gets the next one.
    got: list[dict[str, Any]] = []
    waiter = threading.Thread(
        target=lambda: got.extend(sqs.receive_message(QueueUrl=url, WaitTimeSeconds=10)["Messages"])
    )
    looked = counted.count
    waiter.start()
    wait_for(lambda: counted.count > looked, 5, "the waiter's first look")
    began = time.monotonic()
    sqs.delete_message(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"])
    waiter.join(15)
    assert [m["Body"] for m in got] == ["m1"]
    assert time.monotonic() - began < 2.0
