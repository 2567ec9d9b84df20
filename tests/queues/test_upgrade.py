"""Messages stored before a schema change to their table are still there after it."""

from pathlib import Path

import pytest

from invoiceflow.queues import Queues, SQSClient
from invoiceflow.store.sqlite import SQLiteDatabase

pytestmark = pytest.mark.sqlite_only("it reads SQLite's catalogue of indexes")


def test_messages_sent_before_the_rebuild_of_their_table_are_received_after_it(
    tmp_path: Path,
) -> None:
    db = SQLiteDatabase(str(tmp_path / "old.db"))
    db.migrate(until=7)  # the table still has its unique index on message_id
    sqs = SQSClient(Queues(db))
    url = sqs.create_queue(QueueName="kept")["QueueUrl"]
    attributes = {"kind": {"DataType": "String", "StringValue": "invoice"}}
    sent = sqs.send_message(QueueUrl=url, MessageBody="before", MessageAttributes=attributes)
    db.close()

    db = SQLiteDatabase(str(tmp_path / "old.db"))
    db.migrate()
    sqs = SQSClient(Queues(db))
    [got] = sqs.receive_message(
        QueueUrl=url, MessageAttributeNames=["All"], AttributeNames=["All"]
    )["Messages"]
    assert got["MessageId"] == sent["MessageId"]
    assert got["Body"] == "before"
    assert got["MessageAttributes"] == attributes
    assert got["MD5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]
    assert got["Attributes"]["ApproximateReceiveCount"] == "1"
    sqs.delete_message(QueueUrl=url, ReceiptHandle=got["ReceiptHandle"])
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    with db.transaction(write=False) as tx:
        indexes = {
            r[0]
            for r in tx.fetch_raw(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'messages'"
            )
        }
    assert indexes == {"messages_ready", "messages_expiry", "messages_group"}
    db.close()
