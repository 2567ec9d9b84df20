"""Invoice events: one invoice as JSON, accepted at once and processed later."""

from __future__ import annotations

import hashlib
from datetime import datetime
from functools import partial

from fastapi import APIRouter, Request, Response

from invoiceflow.api import idempotency
from invoiceflow.api.context import Services, Svc, Tenant
from invoiceflow.api.context import tenant as tenant_of
from invoiceflow.api.errors import ApiError, not_found, responses
from invoiceflow.api.guard import EVENT_BODY
from invoiceflow.api.json_body import check_depth
from invoiceflow.api.models import EventAccepted, EventOut
from invoiceflow.pipeline import events
from invoiceflow.store import Transaction

router = APIRouter(prefix="/v1/invoice-events", tags=["invoice events"])
ROUTE = "invoice-events"  # idempotency keys are per route

# The busiest route reads its headers itself: each parameter or dependency FastAPI resolves
# costs more than the rest of the request's work. This describes them for the document.
EVENT_REQUEST = {
    "parameters": [
        {
            "name": "idempotency-key",
            "in": "header",
            "required": False,
            "schema": {"type": "string", "maxLength": idempotency.MAX_KEY},
        }
    ],
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"$ref": "#/components/schemas/Invoice"},
            }
        },
    },
}


@router.post(
    "",
    status_code=202,
    response_model=EventAccepted,
    responses=responses(400, 401, 413, 415, 422),
    openapi_extra=EVENT_REQUEST,
    summary="Submit one invoice; it is queued and becomes a container of its own",
)
async def submit_event(request: Request) -> Response:
    who = await tenant_of(request)
    svc: Services = request.app.state.services
    key = idempotency.checked(request.headers.get("idempotency-key"))
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "application/json":
        raise ApiError(415, "UnsupportedMediaType", "Send the invoice as application/json.")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > EVENT_BODY:  # one without a Content-Length is counted here
            raise ApiError(413, "PayloadTooLarge", f"An event may be at most {EVENT_BODY} bytes.")
    data = bytes(body)
    check_depth(data)
    try:
        data.decode()
    except UnicodeDecodeError as exc:
        raise ApiError(400, "InvalidJson", f"The body is not UTF-8: {exc.reason}.") from None
    try:
        events.check(data)
    except events.InvalidEvent as exc:
        raise ApiError(422, "InvalidInvoice", str(exc)) from None
    # The request's digest matters only to an Idempotency-Key: most events carry none.
    digest = hashlib.sha256(data).hexdigest() if key is not None else ""
    return await svc.batcher.run(partial(_accept, svc, who, data, key, digest))


def _accept(
    svc: Services, tenant: str, body: bytes, key: str | None, digest: str, tx: Transaction
) -> Response:
    """Inside the batch's transaction: the first answer for ``key`` (refused when it came
    with another body), or a new event."""
    if key is not None:
        replayed = idempotency.replay_in(tx, tenant, ROUTE, key, digest)
        if replayed is not None:
            return replayed
    event_id = events.accept(tx, svc.pipeline, tenant, body)
    answer = EventAccepted(message_id=event_id, state="Queued").model_dump_json().encode()
    headers = {"Location": f"/v1/invoice-events/{event_id}"}
    if key is not None:
        idempotency.remember(tx, tenant, ROUTE, key, 202, answer, headers, digest)
    return Response(answer, status_code=202, media_type="application/json", headers=headers)


@router.get("/{message_id}", response_model=EventOut, responses=responses(401, 404))
def get_event(svc: Svc, tenant: Tenant, message_id: str) -> EventOut:
    with svc.db.transaction(write=False) as tx:
        found = events.status(tx, tenant, message_id)
    if found is None:
        raise not_found("invoice event")
    return EventOut(
        message_id=found.message_id,
        state=found.state,  # type: ignore[arg-type]
        container=found.container,
        invoice=found.invoice,
        reason=found.reason,
        received=datetime.fromtimestamp(found.received).astimezone(),
    )
