"""A tenant's workflow executions, as the Step Functions API shows them."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Query

from invoiceflow.api.context import Svc, Tenant
from invoiceflow.api.errors import ApiError, responses
from invoiceflow.api.json_body import JsonRoute
from invoiceflow.api.models import ExecutionOut, ExecutionPage, HistoryPage, Redriven, Stopped

_TOKEN = re.compile(r"[0-9]{1,18}")  # ids the engine gives fit in 63 bits
router = APIRouter(prefix="/v1/executions", tags=["executions"], route_class=JsonRoute)
Status = Annotated[
    str | None,
    Query(pattern="^(RUNNING|SUCCEEDED|FAILED|TIMED_OUT|ABORTED|PENDING_REDRIVE)$"),
]


def _token(given: str | None) -> str | None:
    """A ``next_token`` as the engine gave it (an event or row id), or 400: an id of any
    other shape would reach the database as a number it cannot hold."""
    if given is not None and not _TOKEN.fullmatch(given):
        raise ApiError(400, "InvalidToken", "The next_token is not one this API gave.")
    return given


@router.get("", response_model=ExecutionPage, responses=responses(400, 401, 404, 422))
def list_executions(
    svc: Svc,
    tenant: Tenant,
    status: Status = None,
    state_machine_arn: str | None = None,
    next_token: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    return svc.sfn(tenant).list_executions(
        stateMachineArn=state_machine_arn,
        statusFilter=status,
        maxResults=limit,
        nextToken=_token(next_token),
    )


@router.get("/{arn}", response_model=ExecutionOut, responses=responses(401, 404))
def describe(svc: Svc, tenant: Tenant, arn: str) -> dict[str, Any]:
    return svc.sfn(tenant).describe_execution(executionArn=arn)


@router.get("/{arn}/history", response_model=HistoryPage, responses=responses(400, 401, 404))
def history(
    svc: Svc,
    tenant: Tenant,
    arn: str,
    reverse: bool = False,
    next_token: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    return svc.sfn(tenant).get_execution_history(
        executionArn=arn, maxResults=limit, reverseOrder=reverse, nextToken=_token(next_token)
    )


@router.post("/{arn}/stop", response_model=Stopped, responses=responses(401, 404))
def stop(svc: Svc, tenant: Tenant, arn: str) -> dict[str, Any]:
    return svc.sfn(tenant).stop_execution(executionArn=arn)


@router.post("/{arn}/redrive", response_model=Redriven, responses=responses(401, 404, 409))
def redrive(svc: Svc, tenant: Tenant, arn: str) -> dict[str, Any]:
    return svc.sfn(tenant).redrive_execution(executionArn=arn)
