"""The queues as one tenant sees them: its own messages' counts, dead letters, redrive."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from invoiceflow.api.context import Services, Svc, Tenant
from invoiceflow.api.errors import ApiError, not_found, responses
from invoiceflow.api.json_body import JsonRoute
from invoiceflow.api.models import MessageList, MessageOut, QueueList, QueueOut, QueueRedriven
from invoiceflow.pipeline import kept_dead_letter_queues
from invoiceflow.pipeline.handlers import PREFIX
from invoiceflow.queues import Queue, tenants
from invoiceflow.queues.queue import dead_letter_sources, find_all

router = APIRouter(prefix="/v1/queues", tags=["queues"], route_class=JsonRoute)


def _visible(svc: Services, tenant: str) -> tuple[list[Queue], dict[int, tenants.Counts]]:
    """The queues a tenant sees, with its counts: the pipeline's (every tenant's work goes
    through them), any queue holding the tenant's messages, and the dead-letter queues and
    sources of those, so that a redrive's path shows. Queues of other applications or
    tenants are not named to it at all."""
    queues = svc.pipeline.engine.runtime.queues
    with svc.db.transaction(write=False) as tx:
        every = find_all(tx)
    mine = tenants.counts(queues, tenant)
    held = {q.name for q in every if q.id in mine or q.name.startswith(PREFIX)}
    chosen = set(held)
    for q in every:
        if q.redrive is not None and q.name in held:
            chosen.add(q.redrive.dead_letter_queue)
        if q.redrive is not None and q.redrive.dead_letter_queue in held:
            chosen.add(q.name)
    return [q for q in every if q.name in chosen], mine


def _queue(svc: Services, tenant: str, name: str) -> Queue:
    found = next((q for q in _visible(svc, tenant)[0] if q.name == name), None)
    if found is None:
        raise not_found("queue")
    return found


@router.get("", response_model=QueueList, responses=responses(401))
def list_queues(svc: Svc, tenant: Tenant) -> QueueList:
    visible, mine = _visible(svc, tenant)
    now = time.time()
    out = []
    for q in visible:
        counts = mine.get(q.id, tenants.NONE)
        out.append(
            QueueOut(
                name=q.name,
                url=q.url,
                arn=q.arn,
                visible=counts.visible,
                in_flight=counts.in_flight,
                delayed=counts.delayed,
                oldest_age_seconds=round(now - counts.oldest_sent, 3)
                if counts.oldest_sent is not None
                else None,
                dead_letter_queue=q.redrive.dead_letter_queue if q.redrive else None,
            )
        )
    return QueueList(queues=out)


@router.get("/{name}/messages", response_model=MessageList, responses=responses(401, 404, 422))
def peek(
    svc: Svc, tenant: Tenant, name: str, limit: Annotated[int, Query(ge=1, le=100)] = 10
) -> MessageList:
    """Your messages in a queue, oldest first, left where they are. A dead-letter queue of
    a pipeline step keeps each message for its retention period (14 days) after it failed
    its step, so what went wrong can be looked at."""
    queue = _queue(svc, tenant, name)
    found = tenants.peek(svc.pipeline.engine.runtime.queues, queue, tenant, limit)
    return MessageList(
        messages=[
            MessageOut(
                message_id=m.message_id,
                body=m.body,
                attributes=m.attributes,
                sent=datetime.fromtimestamp(m.sent).astimezone(),
                receive_count=m.receive_count,
                dead_letter_source=m.dead_letter_source,
            )
            for m in found
        ]
    )


@router.post("/{name}/redrive", response_model=QueueRedriven, responses=responses(401, 404, 409))
def redrive(svc: Svc, tenant: Tenant, name: str) -> QueueRedriven:
    """Move your messages in a dead-letter queue back to the queues they came from. The
    dead-letter queues of the pipeline's steps are not redriven: the step each message was
    for has already failed and ended its container in Error, so retry the container."""
    queue = _queue(svc, tenant, name)
    if name in kept_dead_letter_queues():
        raise ApiError(
            409,
            "StepAlreadyFailed",
            f"The messages in {name} are kept to be looked at: the workflow step each was "
            "sent for has already failed and its container is in Error. Run the container "
            "again with POST /v1/containers/{id}/retry (the id is in the message body).",
        )
    with svc.db.transaction(write=False) as tx:
        is_dead_letter = bool(dead_letter_sources(tx, queue))
    if not is_dead_letter:
        raise ApiError(409, "NotADeadLetterQueue", f"{name} is no queue's dead-letter queue.")
    return QueueRedriven(moved=tenants.redrive(svc.pipeline.engine.runtime.queues, queue, tenant))
