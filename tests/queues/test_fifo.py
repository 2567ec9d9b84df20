"""FIFO queues: order within a group, a group held back while it has a message in flight,
five minutes of deduplication, and what only FIFO (or only standard) queues accept."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from invoiceflow.client_errors import ClientError
from invoiceflow.queues import Queues, SQSClient
from invoiceflow.queues.names import queue_arn
from invoiceflow.store import open_database


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sqs(clock: Clock) -> Iterator[SQSClient]:
    db = open_database("sqlite://")
    yield SQSClient(Queues(db, clock=clock))
    db.close()


def fifo(sqs: SQSClient, name: str = "orders.fifo", **attributes: str) -> str:
    return str(
        sqs.create_queue(QueueName=name, Attributes={"FifoQueue": "true", **attributes})["QueueUrl"]
    )


def send(sqs: SQSClient, url: str, body: str, group: str, **more: Any) -> dict[str, Any]:
    return sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=group, **more)


def bodies(got: dict[str, Any]) -> list[str]:
    return [m["Body"] for m in got.get("Messages", [])]


def code(err: pytest.ExceptionInfo[ClientError]) -> str:
    return str(err.value.response["Error"]["Code"])


def test_a_group_comes_in_order_and_waits_while_it_has_a_message_in_flight(
    sqs: SQSClient,
) -> None:
    url = fifo(sqs, ContentBasedDeduplication="true")
    for body, group in [("a1", "a"), ("a2", "a"), ("b1", "b"), ("a3", "a")]:
        send(sqs, url, body, group)
    first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)
    assert bodies(first) == ["a1"]
    assert bodies(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)) == ["b1"]
    assert bodies(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)) == []
    handle = first["Messages"][0]["ReceiptHandle"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=handle)
    rest = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"])
    assert bodies(rest) == ["a2", "a3"]  # the rest of the group, still in order
    attributes = [m["Attributes"] for m in rest["Messages"]]
    assert [a["MessageGroupId"] for a in attributes] == ["a", "a"]
    assert attributes[0]["SequenceNumber"] < attributes[1]["SequenceNumber"]


def test_a_message_back_from_its_timeout_comes_before_the_rest_of_its_group(
    sqs: SQSClient, clock: Clock
) -> None:
    url = fifo(sqs, ContentBasedDeduplication="true", VisibilityTimeout="30")
    send(sqs, url, "a1", "a")
    send(sqs, url, "a2", "a")
    assert bodies(sqs.receive_message(QueueUrl=url)) == ["a1"]
    clock.now += 31
    assert bodies(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)) == ["a1", "a2"]


def test_a_duplicate_within_five_minutes_is_accepted_but_not_delivered_again(
    sqs: SQSClient, clock: Clock
) -> None:
    url = fifo(sqs)
    first = send(sqs, url, "pay 10", "g", MessageDeduplicationId="order-1")
    again = send(sqs, url, "pay 10", "g", MessageDeduplicationId="order-1")
    assert again["MessageId"] == first["MessageId"]
    assert again["SequenceNumber"] == first["SequenceNumber"]
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    assert bodies(got) == ["pay 10"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=got["Messages"][0]["ReceiptHandle"])
    clock.now += 299
    send(sqs, url, "pay 10", "g", MessageDeduplicationId="order-1")  # remembered after delete
    assert bodies(sqs.receive_message(QueueUrl=url)) == []
    clock.now += 2
    later = send(sqs, url, "pay 10", "g", MessageDeduplicationId="order-1")
    assert later["MessageId"] != first["MessageId"]
    assert bodies(sqs.receive_message(QueueUrl=url)) == ["pay 10"]


def test_content_based_deduplication_and_its_scope(sqs: SQSClient) -> None:
    url = fifo(sqs, ContentBasedDeduplication="true")
    send(sqs, url, "same", "a")
    send(sqs, url, "same", "b")  # the whole queue is the scope: a duplicate
    assert bodies(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)) == ["same"]
    scoped = fifo(
        sqs, "scoped.fifo", ContentBasedDeduplication="true", DeduplicationScope="messageGroup"
    )
    send(sqs, scoped, "same", "a")
    send(sqs, scoped, "same", "b")
    assert bodies(sqs.receive_message(QueueUrl=scoped, MaxNumberOfMessages=10)) == [
        "same",
        "same",
    ]


def test_a_batch_to_a_fifo_queue_keeps_its_order_and_refuses_entries_alone(
    sqs: SQSClient,
) -> None:
    url = fifo(sqs, ContentBasedDeduplication="true")
    entries = [{"Id": f"e{i}", "MessageBody": f"m{i}", "MessageGroupId": "g"} for i in range(4)]
    entries[2] = {"Id": "e2", "MessageBody": "no group"}
    out = sqs.send_message_batch(QueueUrl=url, Entries=entries)
    assert [f["Id"] for f in out["Failed"]] == ["e2"]
    assert out["Failed"][0]["Code"] == "MissingParameter"
    assert all("SequenceNumber" in s for s in out["Successful"])
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    assert bodies(got) == ["m0", "m1", "m3"]


def test_what_each_kind_of_queue_refuses(sqs: SQSClient) -> None:
    url = fifo(sqs)
    standard = sqs.create_queue(QueueName="plain")["QueueUrl"]
    cases = [
        (lambda: sqs.send_message(QueueUrl=url, MessageBody="x"), "MissingParameter"),
        (lambda: send(sqs, url, "x", "g"), "InvalidParameterValue"),  # no deduplication
        (
            lambda: send(sqs, url, "x", "g", MessageDeduplicationId="d", DelaySeconds=5),
            "InvalidParameterValue",
        ),
        (
            lambda: send(sqs, url, "x", "g" * 129, MessageDeduplicationId="d"),
            "InvalidParameterValue",
        ),
        (
            lambda: sqs.send_message(
                QueueUrl=standard, MessageBody="x", MessageDeduplicationId="d"
            ),
            "InvalidParameterValue",
        ),
        (lambda: sqs.create_queue(QueueName="x.fifo"), "InvalidParameterValue"),
        (
            lambda: sqs.set_queue_attributes(QueueUrl=url, Attributes={"FifoQueue": "false"}),
            "InvalidAttributeName",
        ),
        (
            lambda: sqs.set_queue_attributes(
                QueueUrl=url, Attributes={"DeduplicationScope": "everywhere"}
            ),
            "InvalidAttributeValue",
        ),
    ]
    for call, expected in cases:
        with pytest.raises(ClientError) as err:
            call()
        assert code(err) == expected
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["FifoQueue"] == "true"
    assert attributes["ContentBasedDeduplication"] == "false"
    # A standard queue keeps a MessageGroupId (as SQS's fair queues do), without ordering.
    sqs.send_message(QueueUrl=standard, MessageBody="x", MessageGroupId="tenant-7")
    got = sqs.receive_message(QueueUrl=standard, AttributeNames=["MessageGroupId"])
    assert got["Messages"][0]["Attributes"] == {"MessageGroupId": "tenant-7"}


def test_a_fifo_queue_dead_letters_to_a_fifo_queue_and_its_group_goes_on(
    sqs: SQSClient, clock: Clock
) -> None:
    plain = sqs.create_queue(QueueName="plain-dlq")["QueueUrl"]
    dead = fifo(sqs, "orders-dlq.fifo")
    policy = {"deadLetterTargetArn": queue_arn("plain-dlq"), "maxReceiveCount": 1}
    with pytest.raises(ClientError) as err:
        fifo(sqs, RedrivePolicy=json.dumps(policy), ContentBasedDeduplication="true")
    assert code(err) == "InvalidAttributeValue"  # not the same kind of queue
    policy["deadLetterTargetArn"] = queue_arn("orders-dlq.fifo")
    url = fifo(sqs, RedrivePolicy=json.dumps(policy), ContentBasedDeduplication="true")
    send(sqs, url, "poison", "g")
    send(sqs, url, "next", "g")
    assert bodies(sqs.receive_message(QueueUrl=url)) == ["poison"]
    clock.now += 31
    assert bodies(sqs.receive_message(QueueUrl=url)) == ["next"]  # poison moved on
    moved = sqs.receive_message(QueueUrl=dead, AttributeNames=["All"])
    assert bodies(moved) == ["poison"]
    assert moved["Messages"][0]["Attributes"]["MessageGroupId"] == "g"
    assert plain
