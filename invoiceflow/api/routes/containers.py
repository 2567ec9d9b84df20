"""Files in, containers out: upload, list, look at, retry."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import AwareDatetime

from invoiceflow.api import idempotency, paging, uploads
from invoiceflow.api.context import Svc, Tenant
from invoiceflow.api.errors import ApiError, not_found, responses
from invoiceflow.api.json_body import JsonRoute
from invoiceflow.api.models import ContainerOut, ContainerPage, InvoicePage, State
from invoiceflow.api.routes import profiles as profiles_routes
from invoiceflow.api.routes.invoices import invoice_page
from invoiceflow.pipeline import containers, profiles, submit
from invoiceflow.pipeline.containers import Container
from invoiceflow.store import ConstraintViolation, Transaction

files = APIRouter(prefix="/v1/containers", tags=["containers"], route_class=JsonRoute)
ROUTE = "containers"  # idempotency keys are per route

UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "profile": {
                            "type": "string",
                            "description": "A stored profile to read the file with.",
                        },
                    },
                }
            },
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


def container_out(c: Container) -> ContainerOut:
    return ContainerOut(
        id=c.id,
        name=c.name,
        source=c.source,
        state=c.state,  # type: ignore[arg-type]
        reason=c.reason,
        size=c.size,
        sha256=c.sha256,
        parsed=c.parsed_count,
        invoices=c.created_count,
        needs_review=c.needs_review,
        review_count=c.review_count,
        last_error=c.last_error,
        attempts=c.attempts,
        last_error_at=datetime.fromtimestamp(c.last_error_at).astimezone()
        if c.last_error_at is not None
        else None,
        profile=c.profile_name,
        execution_arn=c.execution_arn,
        created=datetime.fromtimestamp(c.created).astimezone(),
        updated=datetime.fromtimestamp(c.updated).astimezone(),
    )


def own_container(svc: Svc, tenant: str, container_id: str) -> Container:
    with svc.db.transaction(write=False) as tx:
        found = containers.get(tx, container_id)
    if found is None or found.tenant != tenant:
        raise not_found("container")
    return found


@files.post(
    "",
    status_code=201,
    response_model=ContainerOut,
    responses=responses(400, 401, 413, 415, 422),
    openapi_extra=UPLOAD_BODY,
    summary="Upload a file; it becomes a container and its workflow starts",
)
async def upload(
    request: Request,
    svc: Svc,
    tenant: Tenant,
    x_filename: Annotated[str | None, Header()] = None,
    idempotency_key: Annotated[str | None, Header()] = None,
    profile: Annotated[
        str | None,
        Query(
            description="Read the file with this stored profile (also a multipart form "
            "field). Without it, a profile matching the file's name or supplier is used."
        ),
    ] = None,
) -> Response:
    key = idempotency.checked(idempotency_key)
    upload = await uploads.read_file(request, svc.max_upload, x_filename)
    if profile and upload.profile and profile != upload.profile:
        raise ApiError(
            400,
            "ConflictingProfiles",
            f"The query names profile {profile!r} and the form {upload.profile!r}; name one.",
        )
    named = profile or upload.profile
    return await run_in_threadpool(_store, svc, tenant, upload.name, upload.data, key, named)


def _store(
    svc: Svc, tenant: str, name: str, data: bytes, key: str | None, named: str | None = None
) -> Response:
    """A new container, or, for a repeated Idempotency-Key, the first response (refused
    when the key came with another file, or another profile)."""
    digest = ""
    if key is not None:
        digest = idempotency.upload_digest(f"{name}\0profile={named}" if named else name, data)
        replayed = idempotency.replay(svc.db, tenant, ROUTE, key, digest)
        if replayed is not None:
            return replayed
    chosen = None
    if named is not None:
        try:
            chosen = profiles.named(svc.db, tenant, named)
        except profiles.ProfileError as exc:
            raise ApiError(400, "UnknownProfile", f"{exc}.") from None
    answer: dict[str, Any] = {}

    def record(tx: Transaction, container: Container) -> None:
        body = container_out(container).model_dump_json().encode()
        headers = {"Location": f"/v1/containers/{container.id}"}
        answer.update(body=body, headers=headers)
        if key is not None:
            idempotency.remember(tx, tenant, ROUTE, key, 201, body, headers, digest)

    try:
        submit.receive(
            svc.pipeline, name, data, tenant=tenant, source="api", also=record, profile=chosen
        )
    except ConstraintViolation:
        replayed = idempotency.replay(svc.db, tenant, ROUTE, key, digest) if key else None
        if replayed is None:
            raise
        return replayed
    return Response(
        answer["body"], status_code=201, media_type="application/json", headers=answer["headers"]
    )


@files.get("", response_model=ContainerPage, responses=responses(400, 401, 422))
def list_containers(
    svc: Svc,
    tenant: Tenant,
    state: State | None = None,
    since: Annotated[
        AwareDatetime | None,
        Query(description="Only containers created since (with a time zone: Z or +hh:mm)."),
    ] = None,
    needs_review: Annotated[
        bool | None,
        Query(
            description="Only containers whose invoices have error-level problems (true), "
            "or only those without (false)."
        ),
    ] = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> ContainerPage:
    before = paging.decode(cursor)
    start = since.timestamp() if since else 0.0
    with svc.db.transaction(write=False) as tx:
        found = containers.page(
            tx,
            tenant,
            state=state,
            since=start,
            needs_review=needs_review,
            before=before,
            limit=limit + 1,
        )
    page = found[:limit]
    more = len(found) > limit
    return ContainerPage(
        items=[container_out(c) for c in page],
        next_cursor=paging.encode(page[-1].created, page[-1].id) if more else None,
    )


@files.get("/{container_id}", response_model=ContainerOut, responses=responses(401, 404))
def get_container(svc: Svc, tenant: Tenant, container_id: str) -> ContainerOut:
    return container_out(own_container(svc, tenant, container_id))


@files.get(
    "/{container_id}/invoices", response_model=InvoicePage, responses=responses(400, 401, 404)
)
def container_invoices(
    svc: Svc,
    tenant: Tenant,
    container_id: str,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> InvoicePage:
    own_container(svc, tenant, container_id)
    return invoice_page(svc, tenant, cursor, limit, container=container_id)


@files.post(
    "/{container_id}/retry", response_model=ContainerOut, responses=responses(401, 404, 409)
)
def retry(svc: Svc, tenant: Tenant, container_id: str) -> ContainerOut:
    """Run a container in Error again; its parse results and invoices are reused."""
    found = own_container(svc, tenant, container_id)
    if found.state != "Error":
        raise ApiError(409, "NotInError", f"The container is {found.state}; only Error is retried.")
    return container_out(submit.start(svc.pipeline, container_id))


# What the app includes: the containers, and the profiles their files are read with.
router = APIRouter()
router.include_router(files)
router.include_router(profiles_routes.router)
