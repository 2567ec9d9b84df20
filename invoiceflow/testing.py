"""Run a state machine to completion in-process, for tests of users' own definitions.

    result = invoiceflow.testing.run(definition, {"x": 1}, handlers={"fn": my_handler})
    assert result.status == "SUCCEEDED"

With ``time_skipping`` (the default) Waits, retry intervals and timeouts run on a virtual
clock that jumps to the next due event whenever nothing else can run.
"""

from __future__ import annotations

import json
import tempfile
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from invoiceflow.engine import Clock, Engine
from invoiceflow.functions import Registry
from invoiceflow.store import scratch_database

__all__ = ["Result", "run"]


@dataclass
class Result:
    status: str
    output: Any = None
    error: str | None = None
    cause: str | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    execution_arn: str = ""


def run(
    definition: Mapping[str, Any] | str,
    input: Any = None,
    *,
    handlers: Mapping[str, Callable[..., Any]] | None = None,
    time_skipping: bool = True,
    state_machines: Mapping[str, Mapping[str, Any] | str] | None = None,
    timeout: float = 60.0,
) -> Result:
    """Run ``definition`` on ``input`` and return how it ended.

    ``handlers`` maps Lambda function names to ``handler(event, context)`` callables;
    ``state_machines`` names other definitions that nested ``startExecution`` tasks may start.
    Raises TimeoutError if the execution is still running after ``timeout`` seconds of wall
    time (or, with time skipping, when nothing is left that could ever wake it).
    """
    registry = Registry()
    for name, fn in (handlers or {}).items():
        registry.register(name, fn)
    with tempfile.TemporaryDirectory(prefix="invoiceflow-test-") as tmp:
        db = scratch_database(Path(tmp))
        clock = Clock()
        engine = Engine.open(db, invoker=registry, clock=clock)
        try:
            return _run(engine, definition, input, state_machines or {}, time_skipping, timeout)
        finally:
            db.close()


def _text(definition: Mapping[str, Any] | str) -> str:
    return definition if isinstance(definition, str) else json.dumps(definition)


def _run(
    engine: Engine,
    definition: Mapping[str, Any] | str,
    value: Any,
    others: Mapping[str, Mapping[str, Any] | str],
    time_skipping: bool,
    timeout: float,
) -> Result:
    client = engine.client
    for name, other in others.items():
        client.create_state_machine(name=name, definition=_text(other))
    sm = client.create_state_machine(
        name=f"test-{uuid.uuid4().hex[:12]}", definition=_text(definition)
    )["stateMachineArn"]
    arn = client.start_execution(
        stateMachineArn=sm, input=json.dumps(value if value is not None else {})
    )["executionArn"]
    import time

    deadline = time.monotonic() + timeout
    runtime = engine.runtime
    while True:
        moved = runtime.run_round("test") + runtime.run_tasks("test")
        described = client.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"{arn} still RUNNING after {timeout} s")
        if moved:
            continue
        next_wake = _next_wake(engine)
        left = max(0.0, deadline - time.monotonic())
        if not runtime.wait_for_handlers(0.0):
            # A handler is running: wait for it, in real time, at most until the next timer
            # (its task's timeout, say) is due; that timer fires on time, not after it.
            until = left if next_wake is None else max(0.0, next_wake - runtime.clock.now())
            runtime.wait_for_handlers(min(until, left))
            continue
        if next_wake is None:
            raise TimeoutError(f"{arn} is waiting for something that will never come")
        if time_skipping:
            engine.runtime.clock.skip(next_wake)
        else:
            time.sleep(min(0.05, max(0.0, next_wake - engine.runtime.clock.now())))
    history = client.get_execution_history(executionArn=arn)["events"]
    output = described.get("output")
    return Result(
        status=described["status"],
        output=json.loads(output) if output is not None else None,
        error=described.get("error"),
        cause=described.get("cause"),
        history=history,
        execution_arn=arn,
    )


def _next_wake(engine: Engine) -> float | None:
    with engine.db.transaction(write=False) as tx:
        row = tx.fetchone("next_wake")
    return row[0] if row and row[0] is not None else None
