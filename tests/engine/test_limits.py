"""No execution can stop a worker: poisoned values fail their execution alone, work per
round is bounded, and the history quota ends a runaway loop as Step Functions ends it."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from invoiceflow.client_errors import ClientError
from invoiceflow.engine import Engine
from invoiceflow.engine.runtime import Runtime
from invoiceflow.engine.worker import Worker
from invoiceflow.functions import Registry
from invoiceflow.limits import JSON_DEPTH, MAX_HISTORY_EVENTS, MAX_PAYLOAD
from invoiceflow.store.sqlite import SQLiteDatabase
from invoiceflow.testing import run

SIMPLE = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": "ok", "End": True}}}
# Valid ASL that never ends: each time round it wraps its input one level deeper.
NEST = {
    "StartAt": "Wrap",
    "States": {"Wrap": {"Type": "Pass", "Parameters": {"x.$": "$"}, "Next": "Wrap"}},
}
SPIN = {
    "StartAt": "A",
    "States": {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "Next": "A"}},
}


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    db = SQLiteDatabase(str(tmp_path / "e.db"), synchronous="OFF")
    db.migrate()
    registry = Registry()
    registry.register("deep", lambda event, ctx: nested(250))
    registry.register("echo", lambda event, ctx: event)
    yield Engine.open(db, invoker=registry)
    db.close()


def start(engine: Engine, definition: dict[str, Any], n: int = 1, name: str = "m") -> list[str]:
    sfn = engine.client
    arn = sfn.create_state_machine(name=name, definition=json.dumps(definition))
    sm = arn["stateMachineArn"]
    return [sfn.start_execution(stateMachineArn=sm)["executionArn"] for _ in range(n)]


def status(engine: Engine, arn: str) -> dict[str, Any]:
    return engine.client.describe_execution(executionArn=arn)


def work_until_done(engine: Engine, arns: list[str], worker: Worker) -> None:
    thread = threading.Thread(target=worker.run)
    thread.start()
    try:
        deadline = time.monotonic() + 120
        while any(status(engine, a)["status"] == "RUNNING" for a in arns):
            assert thread.is_alive(), f"the worker died: {worker.error!r}"
            assert time.monotonic() < deadline, "executions still running"
            time.sleep(0.02)
    finally:
        worker.stop()
        thread.join()
    assert worker.error is None


def test_a_result_too_deep_to_store_fails_its_execution_and_the_worker_lives(
    engine: Engine,
) -> None:
    siblings = start(engine, SIMPLE, 20, "simple")
    poisoned = start(engine, NEST, 1, "nest")
    more = start(engine, SIMPLE, 20, "simple2")
    work_until_done(engine, siblings + poisoned + more, Worker(engine.runtime))
    assert all(status(engine, a)["status"] == "SUCCEEDED" for a in siblings + more)
    failed = status(engine, poisoned[0])
    assert failed["status"] == "FAILED"
    assert failed["error"] == "States.Runtime"
    assert "cannot be stored" in failed["cause"]


class Exploding:
    """A service integration with a defect: it raises while its task is being committed."""

    def __call__(self, *args: Any) -> None:
        raise RuntimeError("integration defect")


def test_an_unexpected_error_while_committing_fails_that_execution_alone(tmp_path: Path) -> None:
    db = SQLiteDatabase(str(tmp_path / "p.db"), synchronous="OFF")
    db.migrate()
    try:
        engine = Engine.open(db, invoker=Registry())
        runtime = Runtime(db, engine.definitions, integrations={"sqs": Exploding()})
        boom = {
            "StartAt": "Send",
            "States": {
                "Send": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::sqs:sendMessage",
                    "Parameters": {"QueueUrl": "q", "MessageBody": "x"},
                    "End": True,
                }
            },
        }
        siblings = start(engine, SIMPLE, 10, "simple")
        poisoned = start(engine, boom, 1, "boom")
        more = start(engine, SIMPLE, 10, "simple2")
        assert runtime.run_round("w", limit=100) == 21
        assert all(status(engine, a)["status"] == "SUCCEEDED" for a in siblings + more)
        failed = status(engine, poisoned[0])
        assert failed["status"] == "FAILED"
        assert failed["error"] == "States.Runtime"
        assert "integration defect" in failed["cause"]
        history = engine.client.get_execution_history(executionArn=poisoned[0])["events"]
        assert [e["type"] for e in history] == ["ExecutionStarted", "ExecutionFailed"]
        assert [e["id"] for e in history] == [1, 2]
        # Nothing of it is left to poison the next round, and it can be redriven.
        assert runtime.run_round("w") == 0
        engine.client.redrive_execution(executionArn=poisoned[0])
        assert status(engine, poisoned[0])["status"] in ("RUNNING", "FAILED")
    finally:
        db.close()


def test_a_handler_answer_too_deep_fails_the_task_not_the_worker(engine: Engine) -> None:
    task = {"Type": "Task", "Resource": "deep", "End": True}
    arns = start(engine, {"StartAt": "T", "States": {"T": task}}, 3)
    work_until_done(engine, arns, Worker(engine.runtime))
    for arn in arns:
        described = status(engine, arn)
        assert described["status"] == "FAILED"
        assert described["error"] == "Runtime.MarshalError"


def test_a_loop_of_pass_states_ends_at_the_history_quota_and_others_go_on(
    engine: Engine,
) -> None:
    spinning = start(engine, SPIN, 1, "spin")
    others = start(engine, SIMPLE, 5, "simple")
    rounds = 0
    runtime = engine.runtime
    while status(engine, spinning[0])["status"] == "RUNNING":
        runtime.run_round("w", limit=100)
        rounds += 1
        if rounds == 1:  # every round gives way: the others finished in the first
            assert all(status(engine, a)["status"] == "SUCCEEDED" for a in others)
        assert rounds < 100
    assert rounds > 10  # bounded work per round, committed as it goes
    failed = status(engine, spinning[0])
    assert failed["status"] == "FAILED"
    assert failed["error"] == "States.Runtime"
    assert "maximum number of history events" in failed["cause"]
    events = []
    token = None
    while True:
        page = engine.client.get_execution_history(
            executionArn=spinning[0], **({"nextToken": token} if token else {})
        )
        events += page["events"]
        token = page.get("nextToken")
        if not token:
            break
    assert len(events) == MAX_HISTORY_EVENTS
    assert [e["id"] for e in events] == list(range(1, MAX_HISTORY_EVENTS + 1))
    assert events[-1]["type"] == "ExecutionFailed"
    page = engine.client.get_execution_history
    one = page(executionArn=spinning[0], maxResults=1, nextToken="12345")
    assert [e["id"] for e in one["events"]] == [12346]
    assert one["nextToken"] == "12346"
    back = page(executionArn=spinning[0], maxResults=3, nextToken="12345", reverseOrder=True)
    assert [e["id"] for e in back["events"]] == [12344, 12343, 12342]
    newest = page(executionArn=spinning[0], maxResults=1, reverseOrder=True)["events"]
    assert newest[0]["type"] == "ExecutionFailed"
    with pytest.raises(ClientError) as refused:  # no room left in its history to go on
        engine.client.redrive_execution(executionArn=spinning[0])
    assert refused.value.code == "ExecutionNotRedrivable"


def test_a_loop_of_pass_states_can_be_stopped(engine: Engine) -> None:
    [spinning] = start(engine, SPIN, 1, "spin")
    engine.runtime.run_round("w")
    engine.client.stop_execution(executionArn=spinning, cause="enough")
    for _ in range(3):
        engine.runtime.run_round("w")
    described = status(engine, spinning)
    assert described["status"] == "ABORTED"
    assert described["cause"] == "enough"


def test_a_worker_stops_promptly_while_a_loop_runs(engine: Engine) -> None:
    [spinning] = start(engine, SPIN, 1, "spin")
    worker = Worker(engine.runtime)
    thread = threading.Thread(target=worker.run)
    thread.start()
    history = engine.client.get_execution_history
    deadline = time.monotonic() + 60
    while len(history(executionArn=spinning)["events"]) < 1000:  # it has committed a round
        assert time.monotonic() < deadline
        time.sleep(0.01)
    worker.stop()
    thread.join(30)
    assert not thread.is_alive()
    assert status(engine, spinning)["status"] == "RUNNING"  # handed back, not lost


@pytest.mark.parametrize("depth", [JSON_DEPTH + 1, 252, 300, 5000])
def test_inputs_deeper_than_the_limit_are_refused_at_the_call(engine: Engine, depth: int) -> None:
    sfn = engine.client
    sm = sfn.create_state_machine(name="m", definition=json.dumps(SIMPLE))["stateMachineArn"]
    text = json.dumps(nested(depth)) if depth < 900 else "[" * depth + "]" * depth
    with pytest.raises(ClientError) as refused:
        sfn.start_execution(stateMachineArn=sm, input=text)
    assert refused.value.code == "InvalidExecutionInput"
    assert "nested more than" in str(refused.value)


def test_input_at_the_depth_limit_runs(engine: Engine) -> None:
    result = run(
        {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}, nested(JSON_DEPTH)
    )
    assert result.status == "SUCCEEDED"
    assert result.output == nested(JSON_DEPTH)


def test_inputs_over_256_kib_are_refused_at_the_call(engine: Engine) -> None:
    sfn = engine.client
    sm = sfn.create_state_machine(name="m", definition=json.dumps(SIMPLE))["stateMachineArn"]
    with pytest.raises(ClientError) as refused:
        sfn.start_execution(stateMachineArn=sm, input=json.dumps("x" * MAX_PAYLOAD))
    assert refused.value.code == "InvalidExecutionInput"
    big = json.dumps("x" * (MAX_PAYLOAD - 100))
    sfn.start_execution(stateMachineArn=sm, input=big)


def test_task_answers_deeper_or_larger_than_the_limits_are_refused(engine: Engine) -> None:
    sfn = engine.client
    for output in (json.dumps(nested(300)), json.dumps("x" * MAX_PAYLOAD), "{"):
        with pytest.raises(ClientError) as refused:
            sfn.send_task_success(taskToken="t" * 40, output=output)
        assert refused.value.code == "InvalidOutput"
    with pytest.raises(ClientError) as refused:
        sfn.send_task_failure(taskToken="t" * 40, error="E" * 300)
    assert refused.value.code == "ValidationException"


def test_definitions_deeper_than_the_limit_are_invalid(engine: Engine) -> None:
    deep = dict(SIMPLE, States={"A": {"Type": "Pass", "Result": nested(300), "End": True}})
    with pytest.raises(ClientError) as refused:
        engine.client.create_state_machine(name="deep", definition=json.dumps(deep))
    assert refused.value.code == "InvalidDefinition"
    assert "nested more than" in str(refused.value)


def test_a_worker_whose_passes_keep_failing_gives_up_with_its_error(tmp_path: Path) -> None:
    db = SQLiteDatabase(str(tmp_path / "gone.db"))
    db.migrate()
    engine = Engine.open(db, invoker=Registry())
    db.close()
    (tmp_path / "gone.db").write_bytes(b"this is not a database" * 1000)
    worker = Worker(engine.runtime, max_failures=3)
    thread = threading.Thread(target=worker.run)
    thread.start()
    thread.join(60)
    assert not thread.is_alive()
    assert worker.error is not None


def test_a_task_whose_handler_runs_past_its_timeout_times_out_on_time() -> None:
    release = threading.Event()
    task = {"Type": "Task", "Resource": "stuck", "TimeoutSeconds": 1, "End": True}
    try:
        result = run(
            {"StartAt": "T", "States": {"T": task}},
            {},
            handlers={"stuck": lambda event, context: release.wait(60)},
            time_skipping=False,
        )
        assert (result.status, result.error) == ("FAILED", "States.Timeout")
        assert not release.is_set()  # the handler is still running: its result comes late
    finally:
        release.set()


def test_a_stop_takes_effect_at_once_without_a_worker(engine: Engine) -> None:
    [arn] = start(engine, SPIN, 1, "spin")
    stopped = engine.client.stop_execution(executionArn=arn, cause="now")
    described = status(engine, arn)
    assert described["status"] == "ABORTED"
    assert described["stopDate"] == stopped["stopDate"]
    assert described["cause"] == "now"
