"""A state machine's durability: set and read through the client, refused when unknown, and
what it changes: per step, a Task's handler runs only once the previous result is committed."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from invoiceflow.engine import ClientError, Clock, Engine, runtime
from invoiceflow.engine.runtime import LEASE, Runtime
from invoiceflow.engine.worker import Worker
from invoiceflow.functions import Registry
from invoiceflow.store.sqlite import SQLiteDatabase

PASS = {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}


def task(k: int, **more: Any) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Resource": "arn:aws:lambda:us-east-1:000000000000:function:probe",
        "Parameters": {"name.$": "$$.Execution.Name", "k": k},
        "ResultPath": f"$.t{k}",
        **more,
    }


THREE = {
    "StartAt": "T1",
    "States": {"T1": task(1, Next="T2"), "T2": task(2, Next="T3"), "T3": task(3, End=True)},
}
EXECUTIONS = 20
_SUCCEEDED = ("LambdaFunctionSucceeded", "TaskSucceeded")


class Probe:
    """An engine whose ``probe`` handler notes, each time it runs, how many of its
    execution's Task results were committed at that moment (read from the database as
    another process would see it)."""

    def __init__(self, path: Path, default: str = "batched") -> None:
        self.db = SQLiteDatabase(str(path))
        self.db.migrate()
        self.seen: list[tuple[str, int, int]] = []  # (execution, k, results committed)
        self.registry = Registry()
        self.registry.register("probe", self._probe)
        self.registry.register("ask", lambda event, _ctx: self.tokens.append(event["token"]))
        self.tokens: list[str] = []
        self.engine = Engine.open(self.db, invoker=self.registry, durability=default)
        self.client = self.engine.client

    def _probe(self, event: Any, _ctx: Any) -> Any:
        name = event["name"]
        with self.db.transaction(write=False) as tx:
            pages = tx.fetch_raw(
                "SELECT h.events FROM history h JOIN executions e ON e.id = h.execution_id"
                " WHERE e.name = ?",
                (name,),
            )
        done = sum(1 for p in pages for e in json.loads(p[0]) if e[2] in _SUCCEEDED)
        self.seen.append((name, event["k"], done))
        return event["k"]

    def machine(self, definition: dict[str, Any], **kwargs: Any) -> str:
        out = self.client.create_state_machine(
            name="m", definition=json.dumps(definition), **kwargs
        )
        return str(out["stateMachineArn"])

    def run(self, arn: str, worker: Worker | None = None, n: int = EXECUTIONS) -> list[str]:
        runs = [
            self.client.start_execution(stateMachineArn=arn, name=f"e{i}")["executionArn"]
            for i in range(n)
        ]
        worker = worker or Worker(self.engine.runtime)
        while worker.run_once():
            pass
        return runs

    def early(self) -> list[tuple[str, int, int]]:
        """The handler runs that started before the previous Task's result was committed."""
        return [(name, k, done) for name, k, done in self.seen if done < k - 1]

    def history(self, arn: str) -> list[dict[str, Any]]:
        return list(self.client.get_execution_history(executionArn=arn)["events"])


@pytest.fixture(autouse=True)
def unhurried(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rounds with time enough for every handler, none sent to the background, however
    loaded the machine: what a round runs before it commits depends on durability alone."""
    monkeypatch.setattr(runtime, "INLINE_BUDGET", 60.0)
    monkeypatch.setattr(runtime, "STEPS_TIME", 60.0)
    monkeypatch.setattr(runtime, "LONG_HANDLER", 60.0)


@pytest.fixture
def probe(tmp_path: Path) -> Iterator[Probe]:
    p = Probe(tmp_path / "durability.db")
    yield p
    p.db.close()


def code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def assert_all_succeeded_once(probe: Probe, runs: list[str]) -> None:
    for arn in runs:
        described = probe.client.describe_execution(executionArn=arn)
        assert described["status"] == "SUCCEEDED", described
        assert json.loads(described["output"]) == {"t1": 1, "t2": 2, "t3": 3}
        events = probe.history(arn)
        assert [e["id"] for e in events] == list(range(1, len(events) + 1))
        types = [e["type"] for e in events]
        assert types.count("LambdaFunctionSucceeded") == 3
        assert types.count("LambdaFunctionScheduled") == 3
    with probe.db.transaction(write=False) as tx:
        left = [tx.fetch_raw(f"SELECT COUNT(*) FROM {t}")[0][0] for t in ("mailbox", "tasks")]
        leased = tx.fetch_raw("SELECT COUNT(*) FROM executions WHERE lease_owner IS NOT NULL")
    assert left == [0, 0]
    assert leased[0][0] == 0


# -- the setting through the client ----------------------------------------------------------
def test_durability_round_trips_through_the_client(probe: Probe) -> None:
    sfn = probe.client
    arn = probe.machine(PASS, durability="per-step")
    assert sfn.describe_state_machine(stateMachineArn=arn)["durability"] == "per-step"
    # Created again as it is: the same machine; with another durability: another machine.
    assert probe.machine(PASS, durability="per-step") == arn
    with pytest.raises(ClientError) as err:
        probe.machine(PASS, durability="batched")
    assert code(err) == "StateMachineAlreadyExists"

    sfn.update_state_machine(stateMachineArn=arn, durability="batched")
    assert sfn.describe_state_machine(stateMachineArn=arn)["durability"] == "batched"
    sfn.update_state_machine(stateMachineArn=arn, definition=json.dumps(THREE))
    described = sfn.describe_state_machine(stateMachineArn=arn)
    assert described["durability"] == "batched"  # an update without it keeps it
    assert json.loads(described["definition"]) == THREE

    plain = sfn.create_state_machine(name="plain", definition=json.dumps(PASS))
    # A machine that sets none follows its worker's default: nothing of its own to show.
    assert "durability" not in sfn.describe_state_machine(stateMachineArn=plain["stateMachineArn"])


@pytest.mark.parametrize("value", ["sometimes", "PER_STEP", "", 1])
def test_unknown_durability_is_refused_naming_the_allowed_values(probe: Probe, value: Any) -> None:
    sfn = probe.client
    with pytest.raises(ClientError) as err:
        probe.machine(PASS, durability=value)
    assert code(err) == "ValidationException"
    message = str(err.value.response["Error"]["Message"])
    assert "batched" in message and "per-step" in message
    assert sfn.list_state_machines()["stateMachines"] == []

    arn = probe.machine(PASS, durability="per-step")
    with pytest.raises(ClientError) as err:
        sfn.update_state_machine(stateMachineArn=arn, durability=value)
    assert code(err) == "ValidationException"
    assert "batched" in str(err.value) and "per-step" in str(err.value)
    assert sfn.describe_state_machine(stateMachineArn=arn)["durability"] == "per-step"


def test_an_unknown_worker_default_is_refused(probe: Probe) -> None:
    for make in (
        lambda: Worker(probe.engine.runtime, durability="eventually"),
        lambda: Runtime(probe.db, probe.engine.definitions, durability="eventually"),
        lambda: Engine.open(probe.db, durability="eventually"),
    ):
        with pytest.raises(ValueError, match="batched, per-step"):
            make()


# -- what it changes ------------------------------------------------------------------------
def test_per_step_commits_each_result_before_the_next_task_runs(probe: Probe) -> None:
    arn = probe.machine(THREE, durability="per-step")
    runs = probe.run(arn)
    assert len(probe.seen) == 3 * EXECUTIONS  # each handler once: no crash, no repeat
    assert probe.early() == []
    assert_all_succeeded_once(probe, runs)


def test_batched_runs_a_chain_of_tasks_before_one_commit(probe: Probe) -> None:
    arn = probe.machine(THREE, durability="batched")
    runs = probe.run(arn)
    assert len(probe.seen) == 3 * EXECUTIONS
    # T2 and T3 of every execution ran in the round that ran T1, before it committed.
    assert len(probe.early()) == 2 * EXECUTIONS
    assert_all_succeeded_once(probe, runs)


@pytest.mark.parametrize(
    ("machine", "runtime", "worker", "per_step"),
    [
        (None, "batched", None, False),
        (None, "per-step", None, True),
        (None, "batched", "per-step", True),  # the worker's default over the runtime's
        (None, "per-step", "batched", False),
        ("batched", "per-step", "per-step", False),  # the machine's own setting wins
        ("per-step", "batched", "batched", True),
    ],
)
def test_the_machine_setting_wins_over_the_worker_default(
    tmp_path: Path, machine: str | None, runtime: str, worker: str | None, per_step: bool
) -> None:
    probe = Probe(tmp_path / "defaults.db", default=runtime)
    try:
        arn = probe.machine(THREE, **({"durability": machine} if machine else {}))
        runs = probe.run(arn, Worker(probe.engine.runtime, durability=worker))
        assert (probe.early() == []) is per_step
        assert_all_succeeded_once(probe, runs)
    finally:
        probe.db.close()


def test_a_machine_updated_to_per_step_steps_from_then_on(probe: Probe) -> None:
    arn = probe.machine(THREE)
    probe.client.update_state_machine(stateMachineArn=arn, durability="per-step")
    runs = probe.run(arn)
    assert probe.early() == []
    assert_all_succeeded_once(probe, runs)


PARALLEL = {
    "StartAt": "Split",
    "States": {
        "Split": {
            "Type": "Parallel",
            "Branches": [
                {
                    "StartAt": "A1",
                    "States": {
                        "A1": task(1, Next="A2"),
                        "A2": task(2, TimeoutSeconds=30, End=True),
                    },
                },
                {"StartAt": "B1", "States": {"B1": task(1, Next="B2"), "B2": task(2, End=True)}},
            ],
            "ResultPath": "$.split",
            "Next": "Each",
        },
        "Each": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "ItemSelector": {"item.$": "$$.Map.Item.Value"},
            "ItemProcessor": {"StartAt": "M", "States": {"M": task(3, End=True)}},
            "ResultPath": "$.each",
            "Next": "Last",
        },
        "Last": task(4, End=True),
    },
}


def test_per_step_with_parallel_branches_map_iterations_and_a_timeout(probe: Probe) -> None:
    """Branches and iterations take their steps side by side; each result is committed
    before the step after it runs, and the execution ends as it does batched."""
    outputs = {}
    for mode in ("batched", "per-step"):
        arn = probe.client.create_state_machine(
            name=mode, definition=json.dumps(PARALLEL), durability=mode
        )["stateMachineArn"]
        ex = probe.client.start_execution(
            stateMachineArn=arn, name=mode, input='{"items": [1, 2]}'
        )["executionArn"]
        while Worker(probe.engine.runtime).run_once():
            pass
        described = probe.client.describe_execution(executionArn=ex)
        assert described["status"] == "SUCCEEDED", described
        outputs[mode] = json.loads(described["output"])
        events = probe.history(ex)
        assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    assert outputs["batched"] == outputs["per-step"]
    per_step = sorted((k, done) for name, k, done in probe.seen if name == "per-step")
    # Both branches' first Tasks, then both second ones, then the iterations, then the last.
    assert per_step == [(1, 0), (1, 0), (2, 2), (2, 2), (3, 4), (3, 4), (4, 6)]
    batched = sorted((k, done) for name, k, done in probe.seen if name == "batched")
    assert batched == [(1, 0), (1, 0), (2, 0), (2, 0), (3, 0), (3, 0), (4, 0)]


CALLBACK_AFTER_TASK = {
    "StartAt": "T1",
    "States": {
        "T1": task(1, Next="Ask"),
        "Ask": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {"FunctionName": "ask", "Payload": {"token.$": "$$.Task.Token"}},
            "TimeoutSeconds": 600,
            "ResultPath": "$.answer",
            "Next": "T3",
        },
        "T3": task(3, End=True),
    },
}


def test_per_step_callback_task_records_its_token_once(probe: Probe) -> None:
    arn = probe.machine(CALLBACK_AFTER_TASK, durability="per-step")
    [ex] = probe.run(arn, n=1)
    [token] = probe.tokens
    assert probe.client.describe_execution(executionArn=ex)["status"] == "RUNNING"
    probe.client.send_task_success(taskToken=token, output='{"approved": true}')
    while Worker(probe.engine.runtime).run_once():
        pass
    described = probe.client.describe_execution(executionArn=ex)
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"])["answer"] == {"approved": True}
    assert probe.early() == []
    with probe.db.transaction(write=False) as tx:
        assert tx.fetch_raw("SELECT status FROM task_tokens") == [("DONE",)]
        assert tx.fetch_raw("SELECT COUNT(*) FROM tasks") == [(0,)]


class Died(BaseException):
    """What a worker's death looks like to the round it was in: nothing after it runs."""


@pytest.mark.parametrize(("durability", "first_runs"), [("per-step", 1), ("batched", 2)])
def test_what_a_worker_dying_in_a_handler_leaves_is_taken_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, durability: str, first_runs: int
) -> None:
    """The second Task's handler kills its worker's round (nothing is released, as after a
    SIGKILL). Per step, the first Task's result and the second's scheduling were committed:
    another worker runs only the second again. Batched, nothing was: it runs both again.
    The engine's default is the other mode: the machine's own decides."""
    runs: Counter[int] = Counter()

    def step(event: Any, _ctx: Any) -> Any:
        runs[event["k"]] += 1
        if event["k"] == 2 and runs[2] == 1:
            raise Died
        return event["k"]

    registry = Registry()
    registry.register("probe", step)
    db = SQLiteDatabase(str(tmp_path / "died.db"))
    db.migrate()
    clock = Clock()
    default = "batched" if durability == "per-step" else "per-step"
    engine = Engine.open(db, invoker=registry, clock=clock, durability=default)
    sfn = engine.client
    sm = sfn.create_state_machine(name="m", definition=json.dumps(THREE), durability=durability)
    ex = sfn.start_execution(stateMachineArn=sm["stateMachineArn"], name="e0")["executionArn"]

    release = Runtime._release_round
    monkeypatch.setattr(Runtime, "_release_round", lambda *_: None)
    with pytest.raises(Died):
        engine.runtime.run_round("dead")
    monkeypatch.setattr(Runtime, "_release_round", release)
    with db.transaction(write=False) as tx:
        leases = tx.fetch_raw("SELECT lease_owner FROM executions")
        tasks = tx.fetch_raw("SELECT task_id, lease_owner FROM tasks")
    assert leases == [("dead",)]
    history = [e["type"] for e in sfn.get_execution_history(executionArn=ex)["events"]]
    if durability == "per-step":
        assert history.count("LambdaFunctionSucceeded") == 1
        assert history[-1] == "LambdaFunctionStarted"  # the second Task, scheduled
        assert [owner for _, owner in tasks] == ["dead"]
    else:
        assert (history, tasks) == ([], [])

    other = Worker(engine.runtime, name="other")
    assert other.run_once() == 0  # all of it leased to the dead worker until its lease ends
    clock.skip(clock.now() + LEASE + 1)
    while other.run_once():
        pass
    described = sfn.describe_execution(executionArn=ex)
    assert described["status"] == "SUCCEEDED", described
    assert runs == {1: first_runs, 2: 2, 3: 1}
    events = sfn.get_execution_history(executionArn=ex)["events"]
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    assert [e["type"] for e in events].count("LambdaFunctionSucceeded") == 3
    with db.transaction(write=False) as tx:
        left = [tx.fetch_raw(f"SELECT COUNT(*) FROM {t}")[0][0] for t in ("mailbox", "tasks")]
    assert left == [0, 0]
    db.close()


@pytest.mark.parametrize("durability", ["per-step", "batched"])
def test_the_token_a_callback_handler_run_again_after_a_crash_hands_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, durability: str
) -> None:
    """Per step, the same token (recorded with the Task's scheduling); batched, a new one,
    and the token the first run handed out was never recorded. (The engine's default is the
    other mode.)"""
    handed: list[str] = []

    def ask(event: Any, _ctx: Any) -> None:
        handed.append(event["token"])
        if len(handed) == 1:
            raise Died

    registry = Registry()
    registry.register("probe", lambda event, _ctx: event["k"])
    registry.register("ask", ask)
    db = SQLiteDatabase(str(tmp_path / "callback.db"))
    db.migrate()
    clock = Clock()
    default = "batched" if durability == "per-step" else "per-step"
    engine = Engine.open(db, invoker=registry, clock=clock, durability=default)
    sfn = engine.client
    sm = sfn.create_state_machine(
        name="m", definition=json.dumps(CALLBACK_AFTER_TASK), durability=durability
    )
    ex = sfn.start_execution(stateMachineArn=sm["stateMachineArn"], name="e0")["executionArn"]
    release = Runtime._release_round
    monkeypatch.setattr(Runtime, "_release_round", lambda *_: None)
    with pytest.raises(Died):
        engine.runtime.run_round("dead")
    monkeypatch.setattr(Runtime, "_release_round", release)
    clock.skip(clock.now() + LEASE + 1)
    other = Worker(engine.runtime, name="other")
    while other.run_once():
        pass
    first, again = handed
    if durability == "per-step":
        assert again == first
    else:
        assert again != first
        with pytest.raises(ClientError) as err:
            sfn.send_task_success(taskToken=first, output="{}")
        assert code(err) == "TaskDoesNotExist"
    sfn.send_task_success(taskToken=again, output='{"approved": true}')
    while other.run_once():
        pass
    described = sfn.describe_execution(executionArn=ex)
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"])["answer"] == {"approved": True}
    db.close()
