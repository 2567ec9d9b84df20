"""The boto3-shaped SQS client: shapes, limits and error codes."""

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from invoiceflow.client_errors import ClientError
from invoiceflow.queues import QueueError, Queues, SQSClient
from invoiceflow.queues.attributes import check_body
from invoiceflow.store import open_database


@pytest.fixture
def sqs() -> Iterator[SQSClient]:
    db = open_database("sqlite://")
    yield SQSClient(Queues(db))
    db.close()


def code(err: pytest.ExceptionInfo[ClientError]) -> str:
    return str(err.value.response["Error"]["Code"])


def test_digests_match_what_sqs_returns(sqs: SQSClient) -> None:
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    sent = sqs.send_message(
        QueueUrl=url,
        MessageBody="My Message",
        MessageAttributes={"Attr1": {"DataType": "String", "StringValue": "Attr1"}},
    )
    assert sent["MD5OfMessageBody"] == "069840f6917e85a02167febb964f0041"
    assert sent["MD5OfMessageAttributes"] == "90f34a800b9d242c1b32320e4a3ed630"


def test_urls_arns_and_names_name_the_same_queue(sqs: SQSClient) -> None:
    url = sqs.create_queue(QueueName="orders")["QueueUrl"]
    assert url == "https://sqs.us-east-1.amazonaws.com/000000000000/orders"
    for ref in (url, "arn:aws:sqs:us-east-1:000000000000:orders", "orders"):
        sqs.send_message(QueueUrl=ref, MessageBody=ref)
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["ApproximateNumberOfMessages"] == "3"
    assert attrs["QueueArn"] == "arn:aws:sqs:us-east-1:000000000000:orders"
    assert sqs.get_queue_url(QueueName="orders")["QueueUrl"] == url
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.send_message(QueueUrl=url.replace("orders", "missing"), MessageBody="x")


@pytest.mark.parametrize("ref", [None, 5, ["orders"], {"name": "orders"}])
def test_a_queue_url_that_is_not_text_names_no_queue(sqs: SQSClient, ref: object) -> None:
    sqs.create_queue(QueueName="orders")
    sqs.receive_message(QueueUrl="orders")  # an empty receive: the next looks lock-free first
    calls = [
        lambda: sqs.send_message(QueueUrl=ref, MessageBody="x"),
        lambda: sqs.receive_message(QueueUrl=ref),
        lambda: sqs.delete_message(QueueUrl=ref, ReceiptHandle="x"),
        lambda: sqs.get_queue_attributes(QueueUrl=ref),
    ]
    for call in calls:
        with pytest.raises(sqs.exceptions.QueueDoesNotExist):
            call()


def test_creating_again_returns_the_queue_unless_attributes_differ(sqs: SQSClient) -> None:
    first = sqs.create_queue(QueueName="q", Attributes={"VisibilityTimeout": "10"})
    assert sqs.create_queue(QueueName="q", Attributes={"VisibilityTimeout": "10"}) == first
    with pytest.raises(ClientError) as err:
        sqs.create_queue(QueueName="q", Attributes={"VisibilityTimeout": "11"})
    assert code(err) == "QueueNameExists"
    for attrs, expected in [
        ({"VisibilityTimeout": "43201"}, "InvalidAttributeValue"),
        ({"Colour": "blue"}, "InvalidAttributeName"),
        ({"RedrivePolicy": '{"maxReceiveCount": 3}'}, "InvalidAttributeValue"),
        ({"FifoQueue": "true"}, "InvalidParameterValue"),  # a FIFO name ends in .fifo
        ({"ContentBasedDeduplication": "true"}, "InvalidAttributeName"),
    ]:
        with pytest.raises(ClientError) as err:
            sqs.create_queue(QueueName="other", Attributes=attrs)
        assert code(err) == expected, attrs


def test_message_size_limit_counts_body_and_attributes(sqs: SQSClient) -> None:
    url = sqs.create_queue(QueueName="q", Attributes={"MaximumMessageSize": "1024"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="x" * 1024)
    with pytest.raises(ClientError) as err:
        sqs.send_message(
            QueueUrl=url,
            MessageBody="x" * 1000,
            MessageAttributes={"n": {"DataType": "String", "StringValue": "y" * 30}},
        )
    assert code(err) == "InvalidParameterValue"
    assert "shorter than 1024 bytes" in err.value.response["Error"]["Message"]
    big = sqs.create_queue(QueueName="big")["QueueUrl"]
    sqs.send_message(QueueUrl=big, MessageBody="x" * 1_048_576)
    with pytest.raises(ClientError):
        sqs.send_message(QueueUrl=big, MessageBody="x" * 1_048_577)
    with pytest.raises(ClientError) as err:
        sqs.send_message(QueueUrl=big, MessageBody="bad \x00 char")
    assert code(err) == "InvalidMessageContents"


def test_batches_report_each_entry_and_refuse_bad_batches(sqs: SQSClient) -> None:
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    out = sqs.send_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "a", "MessageBody": "one"},
            {"Id": "b", "MessageBody": "two", "DelaySeconds": 901},
        ],
    )
    assert [e["Id"] for e in out["Successful"]] == ["a"]
    assert out["Failed"][0]["Id"] == "b" and out["Failed"][0]["SenderFault"] is True
    for entries, expected in [
        ([], "EmptyBatchRequest"),
        ([{"Id": str(i), "MessageBody": "x"} for i in range(11)], "TooManyEntriesInBatchRequest"),
        (
            [{"Id": "x", "MessageBody": "1"}, {"Id": "x", "MessageBody": "2"}],
            "BatchEntryIdsNotDistinct",
        ),
        ([{"Id": "no spaces", "MessageBody": "1"}], "InvalidBatchEntryId"),
        ([{"Id": str(i), "MessageBody": "x" * 200_000} for i in range(6)], "BatchRequestTooLong"),
    ]:
        with pytest.raises(ClientError) as err:
            sqs.send_message_batch(QueueUrl=url, Entries=entries)
        assert code(err) == expected
    [msg] = sqs.receive_message(QueueUrl=url)["Messages"]
    deleted = sqs.delete_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "ok", "ReceiptHandle": msg["ReceiptHandle"]},
            {"Id": "bad", "ReceiptHandle": "%%%"},
        ],
    )
    assert [e["Id"] for e in deleted["Successful"]] == ["ok"]
    assert deleted["Failed"][0]["Code"] == "ReceiptHandleIsInvalid"


def test_binary_attributes_and_attribute_filters(sqs: SQSClient) -> None:
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    attrs = {
        "trace.id": {"DataType": "String", "StringValue": "t1"},
        "blob": {"DataType": "Binary", "BinaryValue": b"\x00\xff"},
        "n": {"DataType": "Number.int", "StringValue": "42"},
    }
    sent = sqs.send_message(QueueUrl=url, MessageBody="hi", MessageAttributes=attrs)
    [m] = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"], VisibilityTimeout=0)[
        "Messages"
    ]
    assert m["MessageAttributes"] == attrs
    assert m["MD5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]
    [m] = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["trace.*"])["Messages"]
    assert list(m["MessageAttributes"]) == ["trace.id"]
    assert "Attributes" not in m
    with pytest.raises(ClientError) as err:
        sqs.send_message(
            QueueUrl=url,
            MessageBody="x",
            MessageAttributes={"n": {"DataType": "Number", "StringValue": "abc"}},
        )
    assert code(err) == "InvalidParameterValue"


def test_long_polling_returns_as_soon_as_a_message_arrives(sqs: SQSClient) -> None:
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    threading.Timer(0.2, lambda: sqs.send_message(QueueUrl=url, MessageBody="late")).start()
    began = time.monotonic()
    got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=10)
    assert got["Messages"][0]["Body"] == "late"
    assert time.monotonic() - began < 2
    began = time.monotonic()
    assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1) == {}
    assert time.monotonic() - began >= 1
    with pytest.raises(ClientError) as err:
        sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=11)
    assert code(err) == "InvalidParameterValue"


def test_a_consumer_that_found_a_queue_empty_sees_what_another_process_sends(
    tmp_path: Path,
) -> None:
    """Each process opens its own store; a receive that found nothing looks without the
    write lock next time, and must still see a message sent from elsewhere since."""
    path = str(tmp_path / "shared.db")
    consumer_db, producer_db = (
        open_database(f"sqlite:///{path}"),
        open_database(f"sqlite:///{path}"),
    )
    consumer, producer = SQSClient(Queues(consumer_db)), SQSClient(Queues(producer_db))
    url = producer.create_queue(QueueName="q")["QueueUrl"]
    for _ in range(2):
        assert consumer.receive_message(QueueUrl=url) == {}
        producer.send_message(QueueUrl=url, MessageBody="from elsewhere")
        [got] = consumer.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"]
        assert got["Body"] == "from elsewhere"
        consumer.delete_message(QueueUrl=url, ReceiptHandle=got["ReceiptHandle"])
    producer.delete_queue(QueueUrl=url)
    with pytest.raises(consumer.exceptions.QueueDoesNotExist):
        consumer.receive_message(QueueUrl=url)
    consumer_db.close()
    producer_db.close()


def test_receipt_handles_are_checked(sqs: SQSClient) -> None:
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    other = sqs.create_queue(QueueName="other")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="x")
    [m] = sqs.receive_message(QueueUrl=url)["Messages"]
    for bad in ("garbage", m["ReceiptHandle"]):
        with pytest.raises(ClientError) as err:
            sqs.delete_message(QueueUrl=other if bad != "garbage" else url, ReceiptHandle=bad)
        assert code(err) == "ReceiptHandleIsInvalid"
    sqs.change_message_visibility(
        QueueUrl=url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0
    )
    with pytest.raises(ClientError) as err:  # visible again: no longer in flight
        sqs.change_message_visibility(
            QueueUrl=url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=5
        )
    assert code(err) == "MessageNotInflight"


def test_redrive_allow_policy_and_dead_letter_sources(sqs: SQSClient) -> None:
    dlq = sqs.create_queue(
        QueueName="dlq",
        Attributes={
            "RedriveAllowPolicy": json.dumps(
                {
                    "redrivePermission": "byQueue",
                    "sourceQueueArns": ["arn:aws:sqs:us-east-1:000000000000:allowed"],
                }
            )
        },
    )["QueueUrl"]
    policy = json.dumps(
        {"deadLetterTargetArn": "arn:aws:sqs:us-east-1:000000000000:dlq", "maxReceiveCount": 3}
    )
    sqs.create_queue(QueueName="allowed", Attributes={"RedrivePolicy": policy})
    with pytest.raises(ClientError) as err:
        sqs.create_queue(QueueName="denied", Attributes={"RedrivePolicy": policy})
    assert code(err) == "InvalidAttributeValue"
    assert sqs.list_dead_letter_source_queues(QueueUrl=dlq)["queueUrls"] == [
        "https://sqs.us-east-1.amazonaws.com/000000000000/allowed"
    ]
    with pytest.raises(ClientError) as err:
        sqs.start_message_move_task(SourceArn="arn:aws:sqs:us-east-1:000000000000:allowed")
    assert code(err) == "InvalidParameterValue"


def test_queue_listing_tags_and_deletion(sqs: SQSClient) -> None:
    for name in ("a-1", "a-2", "b-1"):
        sqs.create_queue(QueueName=name, tags={"team": "ap"})
    page = sqs.list_queues(QueueNamePrefix="a-", MaxResults=1)
    assert page["QueueUrls"] == ["https://sqs.us-east-1.amazonaws.com/000000000000/a-1"]
    rest = sqs.list_queues(QueueNamePrefix="a-", MaxResults=1, NextToken=page["NextToken"])
    assert rest["QueueUrls"][0].endswith("/a-2") and "NextToken" not in rest
    sqs.tag_queue(QueueUrl="b-1", Tags={"env": "dev"})
    sqs.untag_queue(QueueUrl="b-1", TagKeys=["team"])
    assert sqs.list_queue_tags(QueueUrl="b-1")["Tags"] == {"env": "dev"}
    sqs.delete_queue(QueueUrl="b-1")
    assert len(sqs.list_queues()["QueueUrls"]) == 2


@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1))
def test_message_bodies_are_refused_exactly_for_characters_sqs_refuses(body: str) -> None:
    allowed = all(
        c in "\t\n\r" or "\x20" <= c <= "\ud7ff" or "\ue000" <= c <= "\ufffd" or c >= "\U00010000"
        for c in body
    )
    try:
        check_body(body)
    except QueueError as exc:
        assert not allowed and exc.code == "InvalidMessageContents"
    else:
        assert allowed


def test_a_redrive_completes_with_no_worker_running(sqs: SQSClient) -> None:
    dlq = sqs.create_queue(QueueName="held")["QueueUrl"]
    policy = {
        "deadLetterTargetArn": "arn:aws:sqs:us-east-1:000000000000:held",
        "maxReceiveCount": 1,
    }
    source = sqs.create_queue(
        QueueName="work",
        Attributes={"RedrivePolicy": json.dumps(policy), "VisibilityTimeout": "0"},
    )["QueueUrl"]
    sqs.send_message(QueueUrl=source, MessageBody="again")
    for _ in range(3):  # received once, then moved to the dead-letter queue
        sqs.receive_message(QueueUrl=source)
    assert sqs.receive_message(QueueUrl=dlq, VisibilityTimeout=0)["Messages"][0]["Body"] == "again"
    sqs.start_message_move_task(SourceArn="arn:aws:sqs:us-east-1:000000000000:held")
    [back] = sqs.receive_message(QueueUrl=source)["Messages"]
    assert back["Body"] == "again"
    [task] = sqs.list_message_move_tasks(SourceArn="arn:aws:sqs:us-east-1:000000000000:held")[
        "Results"
    ]
    assert (task["Status"], task["ApproximateNumberOfMessagesMoved"]) == ("COMPLETED", 1)
