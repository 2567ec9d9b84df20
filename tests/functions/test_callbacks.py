"""The callback pattern end to end: a workflow sends a message with its task token and
waits; a queue-fed handler answers; a message that keeps failing reaches the dead-letter
queue, whose handler fails the task. The published seed workflows run as they are."""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from invoiceflow.engine import Clock, Engine
from invoiceflow.engine.worker import Worker
from invoiceflow.functions import LambdaClient, Mappings, Registry
from invoiceflow.functions.worker import full_worker
from invoiceflow.queues import SQSClient
from invoiceflow.store.sqlite import SQLiteDatabase

DATA = Path(__file__).parents[1] / "data"
VISIBILITY = 30


class World:
    def __init__(self, path: Path) -> None:
        self.registry = Registry()
        self.db = SQLiteDatabase(str(path))
        self.db.migrate()
        self.clock = Clock()
        self.engine = Engine.open(self.db, invoker=self.registry, clock=self.clock)
        self.sfn = self.engine.client
        self.sqs = SQSClient(self.engine.runtime.queues)
        self.aws_lambda = LambdaClient(
            Mappings(self.db, self.engine.runtime.queues, self.clock.now), self.registry
        )
        self.worker: Worker = full_worker(self.engine.runtime, self.registry, name="w")

    def queue_with_dead_letters(self, name: str, max_receives: int = 3) -> str:
        self.sqs.create_queue(QueueName=f"{name}-dlq")
        policy = {
            "deadLetterTargetArn": f"arn:aws:sqs:us-east-1:000000000000:{name}-dlq",
            "maxReceiveCount": max_receives,
        }
        url = self.sqs.create_queue(
            QueueName=name,
            Attributes={"VisibilityTimeout": str(VISIBILITY), "RedrivePolicy": json.dumps(policy)},
        )["QueueUrl"]
        return str(url)

    def feed(self, queue: str, function: str, handler: Any) -> None:
        self.registry.register(function, handler)
        self.aws_lambda.create_event_source_mapping(
            EventSourceArn=f"arn:aws:sqs:us-east-1:000000000000:{queue}", FunctionName=function
        )

    def fail_dead_letters(self, queue: str) -> None:
        """The seed's dead-letter handler: every message that gave up fails its task."""

        def dead_letter(event: Any, _ctx: Any) -> None:
            for record in event["Records"]:
                token = json.loads(record["body"])["TaskToken"]
                self.sfn.send_task_failure(
                    taskToken=token, error="MessageDeadLettered", cause=f"{queue} gave up"
                )

        self.feed(f"{queue}-dlq", f"{queue}-dead-letter", dead_letter)

    def run(self, definition: dict[str, Any], value: Any, name: str = "m") -> dict[str, Any]:
        arn = self.sfn.create_state_machine(name=name, definition=json.dumps(definition))[
            "stateMachineArn"
        ]
        ex = self.sfn.start_execution(stateMachineArn=arn, input=json.dumps(value))["executionArn"]
        for _ in range(20):  # each turn: work until quiet, then let visibility timeouts pass
            while self.worker.run_once():
                pass
            described = self.sfn.describe_execution(executionArn=ex)
            if described["status"] != "RUNNING":
                return dict(described)
            self.clock.skip(self.clock.now() + VISIBILITY + 1)
        raise AssertionError("the execution did not finish")


@pytest.fixture
def w(tmp_path: Path) -> Iterator[World]:
    world = World(tmp_path / "cb.db")
    yield world
    world.db.close()


def inventory(url: str) -> dict[str, Any]:
    definition = json.loads((DATA / "inventory-callback.asl.json").read_text())
    definition["States"]["Check Inventory"]["Parameters"]["QueueUrl"] = url
    return dict(definition)


@pytest.mark.parametrize(
    ("failures", "expected"),
    [
        (0, "Callback Task started by Step Functions succeeded"),
        (2, "Callback Task started by Step Functions succeeded"),  # clears on the 3rd receive
        (3, "Callback Task started by Step Functions failed"),  # never in time: dead-lettered
    ],
)
def test_flaky_downstream_with_max_receive_count_3(w: World, failures: int, expected: str) -> None:
    url = w.queue_with_dead_letters("inventory")
    attempts: list[str] = []

    def check_inventory(event: Any, _ctx: Any) -> None:
        for record in event["Records"]:
            attempts.append(record["attributes"]["ApproximateReceiveCount"])
            if len(attempts) <= failures:
                raise ConnectionError("inventory service unavailable")
            token = json.loads(record["body"])["TaskToken"]
            w.sfn.send_task_success(taskToken=token, output=json.dumps({"inStock": True}))

    w.feed("inventory", "check-inventory", check_inventory)
    w.fail_dead_letters("inventory")
    described = w.run(inventory(url), {"item": "paper"})
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == expected
    assert attempts == [str(n) for n in range(1, min(failures + 1, 3) + 1)]
    history = w.sfn.get_execution_history(executionArn=described["executionArn"])["events"]
    types = [e["type"] for e in history]
    assert "TaskSubmitted" in types
    assert ("TaskFailed" in types) == (failures >= 3)


def test_the_published_iterator_workflow_runs_with_queue_fed_handlers(w: World) -> None:
    definition = json.loads((DATA / "process-file-iterator.asl.json").read_text())
    created: list[int] = []

    def answer(body: str, output: Any) -> None:
        w.sfn.send_task_success(taskToken=json.loads(body)["TaskToken"], output=json.dumps(output))

    def process_file(event: Any, _ctx: Any) -> None:
        for r in event["Records"]:
            answer(r["body"], {**json.loads(r["body"])["Input"], "status": "Processing"})

    def create_invoice(event: Any, _ctx: Any) -> None:
        for r in event["Records"]:
            state = json.loads(r["body"])["Input"]
            created.append(state["iterator"]["index"])
            answer(r["body"], state)

    def verify(event: Any, _ctx: Any) -> None:
        for r in event["Records"]:
            answer(r["body"], {"verified": len(created)})

    def iterator(event: Any, _ctx: Any) -> Any:
        it = event["iterator"]
        index = it["index"] + it["step"]
        return {**it, "index": index, "continue": index < it["count"]}

    for queue, handler in (
        ("process-file-queue", process_file),
        ("create-invoice", create_invoice),
        ("verify", verify),
    ):
        w.queue_with_dead_letters(queue)
        w.feed(queue, f"{queue}-handler", handler)
        w.fail_dead_letters(queue)
    w.registry.register("parse-file", lambda event, _ctx: {**event, "invoices": 10})
    w.registry.register("Iterator", iterator)
    described = w.run(definition, {"file": "invoices.csv"})
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"]) == {"verified": 10}
    assert created == list(range(10))


@pytest.mark.parametrize(
    ("limits", "error"),
    [
        ({"HeartbeatSeconds": 60}, "States.HeartbeatTimeout"),
        ({"TimeoutSeconds": 60}, "States.Timeout"),
    ],
)
def test_an_unanswered_message_times_the_task_out(
    w: World, limits: dict[str, int], error: str
) -> None:
    url = w.sqs.create_queue(QueueName="nobody-listens")["QueueUrl"]
    definition = {
        "StartAt": "Ask",
        "States": {
            "Ask": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "Parameters": {"QueueUrl": url, "MessageBody": {"token.$": "$$.Task.Token"}},
                **limits,
                "End": True,
            }
        },
    }
    described = w.run(definition, {})
    assert (described["status"], described["error"]) == ("FAILED", error)
    [message] = w.sqs.receive_message(QueueUrl=url)["Messages"]
    token = json.loads(message["Body"])["token"]
    with pytest.raises(w.sfn.exceptions.TaskTimedOut):  # too late: the attempt is over
        w.sfn.send_task_success(taskToken=token, output="{}")


def test_a_missing_queue_fails_the_task_with_the_sqs_error(w: World) -> None:
    definition = {
        "StartAt": "Send",
        "States": {
            "Send": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage",
                "Parameters": {"QueueUrl": "missing", "MessageBody": "hi"},
                "End": True,
            }
        },
    }
    described = w.run(definition, {})
    assert (described["status"], described["error"]) == ("FAILED", "SQS.QueueDoesNotExistException")


def test_send_message_returns_what_sqs_returned(w: World) -> None:
    url = w.sqs.create_queue(QueueName="out")["QueueUrl"]
    definition = {
        "StartAt": "Send",
        "States": {
            "Send": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage",
                "Parameters": {"QueueUrl": url, "MessageBody.$": "$", "DelaySeconds": 0},
                "ResultSelector": {"id.$": "$.MessageId", "md5.$": "$.MD5OfMessageBody"},
                "End": True,
            }
        },
    }
    described = w.run(definition, {"invoice": 7})
    output = json.loads(described["output"])
    [message] = w.sqs.receive_message(QueueUrl=url)["Messages"]
    assert output == {"id": message["MessageId"], "md5": message["MD5OfBody"]}
    assert json.loads(message["Body"]) == {"invoice": 7}
