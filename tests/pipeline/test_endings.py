"""Every container ends: a workflow that ends without Done leaves its container in Error,
with the reason, and a retry takes it from there."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from invoiceflow.engine import Engine
from invoiceflow.engine.worker import Worker
from invoiceflow.functions import Registry
from invoiceflow.pipeline import Pipeline, Settings, open_pipeline
from invoiceflow.pipeline.containers import Container
from invoiceflow.pipeline.submit import receive, start, wait
from invoiceflow.samples import SAMPLES
from invoiceflow.store.sqlite import SQLiteDatabase

X12 = (SAMPLES / "x12/oopfactory-Example3_MultiInvoice.x12").read_bytes()


class World:
    def __init__(self, tmp: Path) -> None:
        self.db = SQLiteDatabase(str(tmp / "endings.db"))
        self.db.migrate()
        self.registry = Registry()
        self.engine = Engine.open(self.db, invoker=self.registry)
        settings = Settings(visibility_timeout=1, max_receives=2)
        self.pipeline: Pipeline = open_pipeline(self.engine, self.registry, settings=settings)

    def container(self, container_id: str) -> Container:
        from invoiceflow.pipeline import containers

        with self.db.transaction(write=False) as tx:
            found = containers.get(tx, container_id)
        assert found is not None
        return found


@pytest.fixture
def w(tmp_path: Path) -> Iterator[World]:
    world = World(tmp_path)
    yield world
    world.db.close()


def test_a_stopped_workflow_leaves_its_container_in_error_and_retry_finishes_it(
    w: World,
) -> None:
    received = receive(w.pipeline, "two.x12", X12)
    Worker(w.engine.runtime).run_once()  # it is under way: the first step is waiting
    assert received.execution_arn
    w.engine.client.stop_execution(executionArn=received.execution_arn, cause="operator")
    [ended] = wait(w.pipeline, w.registry, [received.id], timeout=60)
    assert ended.state == "Error"
    assert ended.reason == "The workflow was stopped before it finished: operator."
    again = start(w.pipeline, received.id)
    assert again.execution_arn != received.execution_arn
    [done] = wait(w.pipeline, w.registry, [received.id], timeout=60)
    assert (done.state, done.created_count) == ("Done", 2)


def test_an_uncatchable_error_leaves_its_container_in_error(w: World) -> None:
    # A workflow whose definition an operator changed so that it fails with States.Runtime
    # part way: the container must not stay Processing.
    client = w.engine.client
    definition = json.loads(
        client.describe_state_machine(stateMachineArn=w.pipeline.state_machine_arn)["definition"]
    )
    definition["States"]["ParseFile"] = {
        "Type": "Pass",
        "Parameters": {"n.$": "States.MathAdd($.missing, 1)"},
        "Next": "HowLarge",
    }
    client.update_state_machine(
        stateMachineArn=w.pipeline.state_machine_arn, definition=json.dumps(definition)
    )
    received = receive(w.pipeline, "two.x12", X12)
    [ended] = wait(w.pipeline, w.registry, [received.id], timeout=60)
    assert ended.state == "Error"
    assert ended.reason and ended.reason.startswith("The workflow failed: States.Runtime")


def test_an_old_execution_ending_does_not_touch_the_container_of_a_newer_one(w: World) -> None:
    received = receive(w.pipeline, "two.x12", X12)
    [done] = wait(w.pipeline, w.registry, [received.id], timeout=60)
    assert done.state == "Done"
    # Its finished execution cannot end again; a stop of a finished one changes nothing.
    w.engine.client.stop_execution(executionArn=done.execution_arn or "")
    Worker(w.engine.runtime).run_once()
    assert w.container(received.id).state == "Done"
