"""The boto3-shaped client: starting, stopping, redriving and answering callbacks."""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from invoiceflow.engine import ClientError, Clock, Engine
from invoiceflow.engine.worker import Worker
from invoiceflow.functions import Registry
from invoiceflow.store.sqlite import SQLiteDatabase

CALLBACK = {
    "StartAt": "Ask",
    "States": {
        "Ask": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {"FunctionName": "ask", "Payload": {"token.$": "$$.Task.Token"}},
            "HeartbeatSeconds": 60,
            "TimeoutSeconds": 600,
            "End": True,
        }
    },
}


class Harness:
    """An engine on a temporary file with a virtual clock and a worker to step it."""

    def __init__(self, path: Path) -> None:
        self.tokens: list[str] = []
        self.flaky = {"fail": True}
        registry = Registry()
        registry.register("ask", lambda event, _ctx: self.tokens.append(event["token"]))
        registry.register("flaky", self._flaky)
        self.db = SQLiteDatabase(str(path))
        self.db.migrate()
        self.clock = Clock()
        self.engine = Engine.open(self.db, invoker=registry, clock=self.clock)
        self.client = self.engine.client
        self.worker = Worker(self.engine.runtime)

    def _flaky(self, event: Any, _ctx: Any) -> Any:
        if self.flaky["fail"]:
            raise ConnectionError("accounting system is down")
        return {"exported": event}

    def machine(self, name: str, definition: dict[str, Any]) -> str:
        out = self.client.create_state_machine(name=name, definition=json.dumps(definition))
        return str(out["stateMachineArn"])

    def settle(self) -> None:
        while self.worker.run_once():
            pass

    def describe(self, arn: str) -> dict[str, Any]:
        return dict(self.client.describe_execution(executionArn=arn))

    def history_types(self, arn: str) -> list[str]:
        events = self.client.get_execution_history(executionArn=arn)["events"]
        return [e["type"] for e in events]


@pytest.fixture
def h(tmp_path: Path) -> Iterator[Harness]:
    harness = Harness(tmp_path / "client.db")
    yield harness
    harness.db.close()


def code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def test_callback_token_success_then_reuse_is_refused(h: Harness) -> None:
    arn = h.machine("cb", CALLBACK)
    ex = h.client.start_execution(stateMachineArn=arn, input='{"n": 1}')["executionArn"]
    h.settle()
    assert h.describe(ex)["status"] == "RUNNING"
    [token] = h.tokens
    h.client.send_task_heartbeat(taskToken=token)
    h.client.send_task_success(taskToken=token, output='{"approved": true}')
    h.settle()
    described = h.describe(ex)
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == {"approved": True}
    with pytest.raises(h.client.exceptions.TaskTimedOut):
        h.client.send_task_success(taskToken=token, output="{}")
    with pytest.raises(ClientError) as err:
        h.client.send_task_failure(taskToken=token, error="Late")
    assert code(err) == "TaskTimedOut"


def test_unknown_and_malformed_tokens(h: Harness) -> None:
    with pytest.raises(ClientError) as err:
        h.client.send_task_success(taskToken="not a token!", output="{}")
    assert code(err) == "InvalidToken"
    with pytest.raises(ClientError) as err:
        h.client.send_task_heartbeat(taskToken="A" * 43)
    assert code(err) == "TaskDoesNotExist"


def test_callback_failure_and_invalid_output(h: Harness) -> None:
    arn = h.machine("cb", CALLBACK)
    ex = h.client.start_execution(stateMachineArn=arn)["executionArn"]
    h.settle()
    [token] = h.tokens
    with pytest.raises(ClientError) as err:
        h.client.send_task_success(taskToken=token, output="{not json")
    assert code(err) == "InvalidOutput"
    h.client.send_task_failure(taskToken=token, error="Rejected", cause="over budget")
    h.settle()
    described = h.describe(ex)
    assert (described["status"], described["error"], described["cause"]) == (
        "FAILED",
        "Rejected",
        "over budget",
    )


def test_missed_heartbeat_times_the_task_out_and_closes_its_token(h: Harness) -> None:
    arn = h.machine("cb", CALLBACK)
    ex = h.client.start_execution(stateMachineArn=arn)["executionArn"]
    h.settle()
    h.clock.skip(h.clock.now() + 61)
    h.settle()
    described = h.describe(ex)
    assert (described["status"], described["error"]) == ("FAILED", "States.HeartbeatTimeout")
    with pytest.raises(ClientError) as err:
        h.client.send_task_success(taskToken=h.tokens[0], output="{}")
    assert code(err) == "TaskTimedOut"


def test_start_is_idempotent_by_name_and_input(h: Harness) -> None:
    arn = h.machine("cb", CALLBACK)
    first = h.client.start_execution(stateMachineArn=arn, name="inv-1", input='{"a": 1}')
    again = h.client.start_execution(stateMachineArn=arn, name="inv-1", input='{"a": 1}')
    assert again == first
    with pytest.raises(h.client.exceptions.ExecutionAlreadyExists):
        h.client.start_execution(stateMachineArn=arn, name="inv-1", input='{"a": 2}')
    h.settle()
    h.client.send_task_success(taskToken=h.tokens[0], output="{}")
    h.settle()
    with pytest.raises(ClientError) as err:  # closed executions keep their name
        h.client.start_execution(stateMachineArn=arn, name="inv-1", input='{"a": 1}')
    assert code(err) == "ExecutionAlreadyExists"
    assert len(h.client.list_executions(stateMachineArn=arn)["executions"]) == 1


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        ({"name": "bad name!"}, "InvalidName"),
        ({"input": "{oops"}, "InvalidExecutionInput"),
        (
            {"stateMachineArn": "arn:aws:states:us-east-1:000000000000:stateMachine:none"},
            "StateMachineDoesNotExist",
        ),
    ],
)
def test_start_refuses_bad_requests(h: Harness, call: dict[str, str], expected: str) -> None:
    arn = h.machine("cb", CALLBACK)
    with pytest.raises(ClientError) as err:
        h.client.start_execution(**{"stateMachineArn": arn, **call})
    assert code(err) == expected


def test_stop_aborts_and_expires_the_open_token(h: Harness) -> None:
    arn = h.machine("cb", CALLBACK)
    ex = h.client.start_execution(stateMachineArn=arn)["executionArn"]
    h.settle()
    h.client.stop_execution(executionArn=ex, error="Cancelled", cause="by operator")
    h.settle()
    described = h.describe(ex)
    assert described["status"] == "ABORTED"
    assert h.history_types(ex)[-1] == "ExecutionAborted"
    with pytest.raises(ClientError) as err:
        h.client.send_task_success(taskToken=h.tokens[0], output="{}")
    assert code(err) == "TaskTimedOut"
    with pytest.raises(ClientError) as err:
        h.client.describe_execution(executionArn=ex + "-missing")
    assert code(err) == "ExecutionDoesNotExist"


def test_redrive_resumes_from_the_failed_state(h: Harness) -> None:
    definition = {
        "StartAt": "Prepare",
        "States": {
            "Prepare": {"Type": "Pass", "Result": {"id": 7}, "Next": "Export"},
            "Export": {"Type": "Task", "Resource": "flaky", "End": True},
        },
    }
    arn = h.machine("redrive", definition)
    ex = h.client.start_execution(stateMachineArn=arn)["executionArn"]
    h.settle()
    failed = h.describe(ex)
    assert (failed["status"], failed["error"]) == ("FAILED", "ConnectionError")
    assert json.loads(failed["cause"])["errorMessage"] == "accounting system is down"
    with pytest.raises(ClientError) as err:
        h.client.redrive_execution(executionArn=ex + "x")
    assert code(err) == "ExecutionDoesNotExist"
    h.flaky["fail"] = False
    h.client.redrive_execution(executionArn=ex)
    h.settle()
    described = h.describe(ex)
    assert described["status"] == "SUCCEEDED"
    assert described["redriveCount"] == 1
    assert json.loads(described["output"]) == {"exported": {"id": 7}}
    types = h.history_types(ex)
    assert types.count("PassStateEntered") == 1  # Prepare is not run again
    assert "ExecutionRedriven" in types
    with pytest.raises(ClientError) as err:
        h.client.redrive_execution(executionArn=ex)
    assert code(err) == "ExecutionNotRedrivable"


def test_history_pages_forward_and_backward(h: Harness) -> None:
    arn = h.machine(
        "pages",
        {
            "StartAt": "M",
            "States": {
                "M": {
                    "Type": "Map",
                    "ItemProcessor": {
                        "StartAt": "P",
                        "States": {"P": {"Type": "Pass", "End": True}},
                    },
                    "End": True,
                }
            },
        },
    )
    ex = h.client.start_execution(stateMachineArn=arn, input="[1,2,3,4]")["executionArn"]
    h.settle()
    whole = h.client.get_execution_history(executionArn=ex)["events"]
    ids: list[int] = []
    token = None
    while True:
        page = h.client.get_execution_history(
            executionArn=ex, maxResults=7, **({"nextToken": token} if token else {})
        )
        ids += [e["id"] for e in page["events"]]
        token = page.get("nextToken")
        if not token:
            break
    assert ids == [e["id"] for e in whole] == list(range(1, len(whole) + 1))
    back = h.client.get_execution_history(executionArn=ex, reverseOrder=True, maxResults=5)
    assert [e["id"] for e in back["events"]] == list(range(len(whole), len(whole) - 5, -1))
    bare = h.client.get_execution_history(executionArn=ex, includeExecutionData=False)
    assert "input" not in bare["events"][0]["executionStartedEventDetails"]
