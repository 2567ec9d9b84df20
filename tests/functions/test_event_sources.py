"""Queues feeding handlers through event source mappings, as Lambda's SQS event source does."""

import importlib.util
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from invoiceflow.client_errors import ClientError
from invoiceflow.functions import LambdaClient, Mappings, Poller, Registry
from invoiceflow.queues import Queues, SQSClient
from invoiceflow.store import open_database

DATA = Path(__file__).parents[1] / "data"


class World:
    def __init__(self, path: Path) -> None:
        self.now = 1_000_000.0
        self.db = open_database(f"sqlite:///{path}")
        self.queues = Queues(self.db, clock=lambda: self.now)
        self.sqs = SQSClient(self.queues)
        self.registry = Registry()
        self.mappings = Mappings(self.db, self.queues, clock=lambda: self.now)
        self.aws_lambda = LambdaClient(self.mappings, self.registry)
        self.poller = Poller(self.mappings, self.registry, owner="p1")

    def queue(self, name: str, **attributes: str) -> str:
        return str(self.sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"])

    def arn(self, name: str) -> str:
        return f"arn:aws:sqs:us-east-1:000000000000:{name}"

    def drain(self) -> int:
        total = 0
        while n := self.poller.poll():
            total += n
        return total

    def counts(self, url: str) -> tuple[int, int]:
        a = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        return int(a["ApproximateNumberOfMessages"]), int(
            a["ApproximateNumberOfMessagesNotVisible"]
        )


@pytest.fixture
def w(tmp_path: Path) -> Iterator[World]:
    world = World(tmp_path / "fn.db")
    yield world
    world.db.close()


def test_the_published_add_numbers_handler_runs_unchanged(
    w: World, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = importlib.util.spec_from_file_location("add_numbers", DATA / "add_numbers.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    w.registry.register("add-numbers", module.lambda_handler)
    url = w.queue("number_q")
    w.aws_lambda.create_event_source_mapping(
        EventSourceArn=w.arn("number_q"), FunctionName="add-numbers"
    )
    w.sqs.send_message(QueueUrl=url, MessageBody=(DATA / "number_q-message.json").read_text())
    assert w.drain() == 1
    assert "Addition of numbers 10 and 100 is 110" in capsys.readouterr().out
    assert w.counts(url) == (0, 0)


def test_records_have_the_shape_lambda_delivers(w: World) -> None:
    seen: list[dict[str, Any]] = []
    w.registry.register("fn", lambda event, _ctx: seen.append(event))
    url = w.queue("q")
    w.aws_lambda.create_event_source_mapping(EventSourceArn=w.arn("q"), FunctionName="fn")
    w.sqs.send_message(
        QueueUrl=url,
        MessageBody="Hello, World",
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "greeting"}},
    )
    w.drain()
    [record] = seen[0]["Records"]
    published = json.loads((DATA / "sqs-lambda-event.json").read_text())["Records"][0]
    assert set(published) <= set(record)
    assert set(published["attributes"]) == set(record["attributes"])
    assert record["body"] == "Hello, World"
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == w.arn("q")
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert record["messageAttributes"]["kind"] == {
        "stringValue": "greeting",
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "String",
    }


def test_a_failing_batch_comes_back_whole_then_goes_to_the_dead_letter_queue(w: World) -> None:
    calls: list[int] = []

    def flaky(event: Any, _ctx: Any) -> None:
        calls.append(len(event["Records"]))
        raise RuntimeError("downstream is down")

    w.registry.register("fn", flaky)
    dlq = w.queue("dlq")
    policy = json.dumps({"deadLetterTargetArn": w.arn("dlq"), "maxReceiveCount": 2})
    url = w.queue("q", VisibilityTimeout="10", RedrivePolicy=policy)
    w.aws_lambda.create_event_source_mapping(EventSourceArn=w.arn("q"), FunctionName="fn")
    w.sqs.send_message_batch(
        QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": str(i)} for i in range(3)]
    )
    assert w.drain() == 3 and w.counts(url) == (0, 3)
    w.now += 11
    assert w.drain() == 3
    w.now += 11
    assert w.drain() == 0  # the third receive moves them to the dead-letter queue instead
    assert calls == [3, 3]
    assert w.counts(url) == (0, 0) and w.counts(dlq) == (3, 0)


def test_reported_item_failures_come_back_alone(w: World) -> None:
    def half(event: Any, _ctx: Any) -> Any:
        failures = [
            {"itemIdentifier": r["messageId"]} for r in event["Records"] if int(r["body"]) % 2
        ]
        return {"batchItemFailures": failures}

    w.registry.register("fn", half)
    url = w.queue("q", VisibilityTimeout="5")
    w.aws_lambda.create_event_source_mapping(
        EventSourceArn=w.arn("q"),
        FunctionName="fn",
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )
    w.sqs.send_message_batch(
        QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": str(i)} for i in range(10)]
    )
    w.drain()
    assert w.counts(url) == (0, 5)
    w.now += 6
    got = w.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert sorted(int(m["Body"]) for m in got) == [1, 3, 5, 7, 9]


def test_a_malformed_failure_report_fails_the_whole_batch(w: World) -> None:
    w.registry.register("fn", lambda _e, _c: {"batchItemFailures": [{"itemIdentifier": "nope"}]})
    url = w.queue("q")
    w.aws_lambda.create_event_source_mapping(
        EventSourceArn=w.arn("q"),
        FunctionName="fn",
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )
    w.sqs.send_message_batch(
        QueueUrl=url, Entries=[{"Id": "a", "MessageBody": "1"}, {"Id": "b", "MessageBody": "2"}]
    )
    w.drain()
    assert w.counts(url) == (0, 2)


def test_large_batches_wait_for_their_window(w: World) -> None:
    sizes: list[int] = []
    w.registry.register("fn", lambda event, _ctx: sizes.append(len(event["Records"])))
    url = w.queue("q")
    w.aws_lambda.create_event_source_mapping(
        EventSourceArn=w.arn("q"), FunctionName="fn", BatchSize=25, MaximumBatchingWindowInSeconds=1
    )
    for start in (0, 10, 20):
        w.sqs.send_message_batch(
            QueueUrl=url,
            Entries=[{"Id": str(i), "MessageBody": "x"} for i in range(start, min(start + 10, 30))],
        )
    w.drain()
    assert sizes == [25, 5]


def test_maximum_concurrency_holds_across_pollers(w: World) -> None:
    running = 0
    peak = 0
    lock = threading.Lock()

    def slow(event: Any, _ctx: Any) -> None:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.05)
        with lock:
            running -= 1

    w.registry.register("fn", slow)
    url = w.queue("q")
    w.aws_lambda.create_event_source_mapping(
        EventSourceArn=w.arn("q"),
        FunctionName="fn",
        BatchSize=1,
        ScalingConfig={"MaximumConcurrency": 2},
    )
    for i in range(12):
        w.sqs.send_message(QueueUrl=url, MessageBody=str(i))
    pollers = [Poller(w.mappings, w.registry, owner=f"p{i}") for i in range(4)]

    def work(p: Poller) -> None:
        deadline = time.monotonic() + 10
        while w.counts(url) != (0, 0) and time.monotonic() < deadline:
            p.poll()

    threads = [threading.Thread(target=work, args=(p,)) for p in pollers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert w.counts(url) == (0, 0)
    assert peak == 2


def test_mapping_api_shapes_and_errors(w: World) -> None:
    w.queue("q")
    made = w.aws_lambda.create_event_source_mapping(
        EventSourceArn=w.arn("q"), FunctionName="arn:aws:lambda:us-east-1:000000000000:function:fn"
    )
    assert made["FunctionArn"].endswith(":function:fn") and made["State"] == "Enabled"
    assert w.aws_lambda.get_event_source_mapping(UUID=made["UUID"])["BatchSize"] == 10
    for params, expected in [
        ({"FunctionName": "fn"}, "ResourceConflictException"),
        ({"FunctionName": "g", "BatchSize": 11}, "InvalidParameterValueException"),
        (
            {"FunctionName": "g", "ScalingConfig": {"MaximumConcurrency": 1}},
            "InvalidParameterValueException",
        ),
    ]:
        with pytest.raises(ClientError) as err:
            w.aws_lambda.create_event_source_mapping(EventSourceArn=w.arn("q"), **params)
        assert err.value.response["Error"]["Code"] == expected
    with pytest.raises(w.aws_lambda.exceptions.InvalidParameterValueException):
        w.aws_lambda.create_event_source_mapping(EventSourceArn=w.arn("missing"), FunctionName="g")
    updated = w.aws_lambda.update_event_source_mapping(
        UUID=made["UUID"], Enabled=False, BatchSize=5
    )
    assert (updated["State"], updated["BatchSize"]) == ("Disabled", 5)
    assert (
        len(w.aws_lambda.list_event_source_mappings(FunctionName="fn")["EventSourceMappings"]) == 1
    )
    w.aws_lambda.delete_event_source_mapping(UUID=made["UUID"])
    with pytest.raises(ClientError) as err:
        w.aws_lambda.get_event_source_mapping(UUID=made["UUID"])
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"
