"""Service integrations other than Lambda: work a Task hands to another service, written in
the same transaction as the transition that asks for it.

Each integration is a callable (runtime, tx, execution id, execution ARN, invoke, now). The
queues layer adds ``sqs``; the engine itself provides ``states`` (nested executions).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from invoiceflow.engine.commands import Invoke
from invoiceflow.engine.executions import ExecutionAlreadyExists, InvalidName, create_execution
from invoiceflow.engine.resources import REQUEST_RESPONSE
from invoiceflow.engine.values import dumps
from invoiceflow.store import Transaction

if TYPE_CHECKING:
    from invoiceflow.engine.runtime import Runtime

Integration = Callable[["Runtime", Transaction, int, str, Invoke, float], None]


def start_execution(
    runtime: Runtime, tx: Transaction, execution_id: int, arn: str, cmd: Invoke, now: float
) -> None:
    params: dict[str, Any] = cmd.payload if isinstance(cmd.payload, dict) else {}
    sm_arn = params.get("StateMachineArn")
    child_input = params.get("Input", {})
    input_text = child_input if isinstance(child_input, str) else dumps(child_input)
    fail = {"t": "result", "task": cmd.task_id, "ok": False}
    if not isinstance(sm_arn, str) or tx.fetchone("get_state_machine", (sm_arn,)) is None:
        runtime.post(
            tx,
            execution_id,
            {
                **fail,
                "error": "StepFunctions.StateMachineDoesNotExistException",
                "cause": f"State Machine Does Not Exist: '{sm_arn}'",
            },
            now,
        )
        return
    link = None
    if cmd.resource.pattern != REQUEST_RESPONSE and cmd.resource.pattern != "token":
        link = {"execution": execution_id, "task": cmd.task_id, "pattern": cmd.resource.pattern}
    try:
        _, child_arn, start, _ = create_execution(
            tx, sm_arn, params.get("Name"), input_text, now, parent=link
        )
    except (ExecutionAlreadyExists, InvalidName, ValueError) as exc:
        error = (
            "StepFunctions.ExecutionAlreadyExistsException"
            if isinstance(exc, ExecutionAlreadyExists)
            else "StepFunctions.InvalidNameException"
        )
        runtime.post(tx, execution_id, {**fail, "error": error, "cause": str(exc)}, now)
        return
    started = {"ExecutionArn": child_arn, "StartDate": start}
    if cmd.resource.pattern == REQUEST_RESPONSE:
        runtime.post(
            tx,
            execution_id,
            {"t": "result", "task": cmd.task_id, "ok": True, "output": started},
            now,
        )
    elif link is not None:
        runtime.post(
            tx, execution_id, {"t": "submitted", "task": cmd.task_id, "output": started}, now
        )


def builtin_integrations() -> dict[str, Integration]:
    return {"states": start_execution}
