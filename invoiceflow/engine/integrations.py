"""Service integrations other than Lambda: work a Task hands to another service, written in
the same transaction as the transition that asks for it.

Each integration is a callable (runtime, tx, execution id, execution ARN, tenant, invoke,
now): ``states`` starts nested executions, ``sqs`` sends to the queues on the same store;
what either creates is the calling execution's tenant's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from invoiceflow.engine.commands import Invoke
from invoiceflow.engine.executions import (
    ExecutionAlreadyExists,
    InvalidInput,
    InvalidName,
    create_execution,
)
from invoiceflow.engine.resources import REQUEST_RESPONSE, TOKEN
from invoiceflow.engine.values import dumps
from invoiceflow.queues import QueueError
from invoiceflow.store import Transaction

if TYPE_CHECKING:
    from invoiceflow.engine.runtime import Runtime

Integration = Callable[["Runtime", Transaction, int, str, str, Invoke, float], None]


def start_execution(
    runtime: Runtime,
    tx: Transaction,
    execution_id: int,
    arn: str,
    tenant: str,
    cmd: Invoke,
    now: float,
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
            tx, sm_arn, params.get("Name"), input_text, now, parent=link, tenant=tenant
        )
    except (ExecutionAlreadyExists, InvalidName, ValueError) as exc:
        if isinstance(exc, ExecutionAlreadyExists):
            error = "StepFunctions.ExecutionAlreadyExistsException"
        elif isinstance(exc, InvalidInput):
            error = "StepFunctions.InvalidExecutionInputException"
        else:
            error = "StepFunctions.InvalidNameException"
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


def send_message(
    runtime: Runtime,
    tx: Transaction,
    execution_id: int,
    arn: str,
    tenant: str,
    cmd: Invoke,
    now: float,
) -> None:
    """``sqs:sendMessage``: the message is stored in the transition's own transaction; with
    ``.waitForTaskToken`` the task then waits for its token to come back."""
    params: dict[str, Any] = cmd.payload if isinstance(cmd.payload, dict) else {}
    body = params.get("MessageBody")
    if body is not None and not isinstance(body, str):
        body = dumps(body)
    try:
        queue = runtime.queues.find(tx, str(params.get("QueueUrl", "")))
        sent = runtime.queues.send(
            tx,
            queue,
            body,
            params.get("MessageAttributes"),
            params.get("DelaySeconds"),
            group=params.get("MessageGroupId"),
            dedup=params.get("MessageDeduplicationId"),
            tenant=tenant,
        )
    except QueueError as exc:
        event = {"ok": False, "error": f"SQS.{exc.code}Exception", "cause": exc.message}
        runtime.post(tx, execution_id, {"t": "result", "task": cmd.task_id, **event}, now)
        return
    output: dict[str, Any] = {"MD5OfMessageBody": sent.md5_body, "MessageId": sent.message_id}
    if sent.md5_attributes:
        output["MD5OfMessageAttributes"] = sent.md5_attributes
    if sent.sequence is not None:
        output["SequenceNumber"] = sent.sequence
    output["SdkHttpMetadata"] = {"HttpStatusCode": 200}
    output["SdkResponseMetadata"] = {"RequestId": sent.message_id}
    kind = "submitted" if cmd.resource.pattern == TOKEN else "result"
    runtime.post(
        tx, execution_id, {"t": kind, "task": cmd.task_id, "ok": True, "output": output}, now
    )


def builtin_integrations() -> dict[str, Integration]:
    return {"states": start_execution, "sqs": send_message}
