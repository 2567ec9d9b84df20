"""Callbacks: answer a waiting task with its token, as SendTaskSuccess/Failure/Heartbeat.

An output is checked here as Step Functions checks it, before the token is looked at: what
the engine would refuse later is refused at the call, with the code AWS gives."""

from __future__ import annotations

import orjson
from fastapi import APIRouter

from invoiceflow.api.context import Svc, Tenant
from invoiceflow.api.errors import responses
from invoiceflow.api.json_body import JsonRoute
from invoiceflow.api.models import Empty, TaskFailure, TaskHeartbeat, TaskSuccess

router = APIRouter(prefix="/v1/tasks", tags=["tasks"], route_class=JsonRoute)
REFUSALS = responses(400, 401, 404, 409, 422)


@router.post("/success", response_model=Empty, responses=REFUSALS)
def success(svc: Svc, tenant: Tenant, answer: TaskSuccess) -> Empty:
    # Size, depth and JSON are checked by SendTaskSuccess itself (InvalidOutput).
    output = orjson.dumps(answer.output).decode()
    svc.sfn(tenant).send_task_success(taskToken=answer.taskToken, output=output)
    return Empty()


@router.post("/failure", response_model=Empty, responses=REFUSALS)
def failure(svc: Svc, tenant: Tenant, answer: TaskFailure) -> Empty:
    svc.sfn(tenant).send_task_failure(
        taskToken=answer.taskToken, error=answer.error, cause=answer.cause
    )
    return Empty()


@router.post("/heartbeat", response_model=Empty, responses=REFUSALS)
def heartbeat(svc: Svc, tenant: Tenant, answer: TaskHeartbeat) -> Empty:
    svc.sfn(tenant).send_task_heartbeat(taskToken=answer.taskToken)
    return Empty()
