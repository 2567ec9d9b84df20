"""The HTTP API: ``create_app`` wires the routes to a pipeline.

Routes that touch the store are plain functions, run on the server's thread pool, so that
concurrent requests' writes meet in the store's group commit and share fsyncs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from invoiceflow.api import docs, errors
from invoiceflow.api.batcher import Batcher
from invoiceflow.api.context import MAX_UPLOAD, Services
from invoiceflow.api.guard import Guard
from invoiceflow.api.keys import Authenticator
from invoiceflow.api.metrics import metrics_registry
from invoiceflow.api.routes import containers, events, executions, health, invoices, queues, tasks
from invoiceflow.digitize.model import schema_components as invoice_schema
from invoiceflow.functions import Registry
from invoiceflow.pipeline import Pipeline

BEARER = {
    "type": "http",
    "scheme": "bearer",
    "description": "An API key from `invoiceflow keys create --tenant T`.",
}
DESCRIPTION = """Upload invoice files or submit single invoices; follow containers,
invoices, workflow executions and queues. Every `/v1` call needs
`Authorization: Bearer KEY` with a key from `invoiceflow keys create --tenant T`, and sees
only that tenant's data. Refusals are JSON: `{"code": ..., "message": ...}`."""


def create_app(
    pipeline: Pipeline,
    functions: Registry,
    *,
    max_upload: int = MAX_UPLOAD,
    ready: Callable[[], bool | str] | None = None,
) -> FastAPI:
    app = FastAPI(
        title="invoiceflow",
        version="0.1.0",
        description=DESCRIPTION,
        openapi_url="/openapi.json",
        docs_url=None,  # FastAPI's pages load from CDNs; ``docs`` serves its own
        redoc_url=None,
    )
    app.state.services = Services(
        pipeline,
        Authenticator(pipeline.engine.db),
        Batcher(pipeline.engine.db.transaction),
        max_upload=max_upload,
        ready=ready or (lambda: True),
    )
    app.state.metrics = metrics_registry(pipeline.engine.db, functions)
    errors.install(app)
    app.add_middleware(Guard, authenticator=app.state.services.authenticator, max_upload=max_upload)
    # Routes are matched in order: the busiest first.
    for module in (events, containers, invoices, executions, tasks, queues, health):
        app.include_router(module.router)
    docs.install(app)
    _complete_spec(app)
    return app


def _complete_spec(app: FastAPI) -> None:
    """What the OpenAPI document needs beyond the routes: the invoice JSON form (from
    msgspec's model), so the invoice-event body is described exactly, and the bearer key
    every ``/v1`` operation wants (checked by ``context.tenant``)."""
    plain = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = plain()
            _, schemas = invoice_schema("#/components/schemas/{name}")
            components = spec.setdefault("components", {})
            components.setdefault("schemas", {}).update(schemas)
            components["securitySchemes"] = {"HTTPBearer": BEARER}
            for path, operations in spec["paths"].items():
                if path.startswith("/v1/"):
                    for operation in operations.values():
                        operation["security"] = [{"HTTPBearer": []}]
            _link(spec)
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


# What a response hands to the next call, as OpenAPI links: a client (or a stateful test)
# follows an upload to its container, execution and invoices, an event to its status.
_LINKS = {
    ("/v1/containers", "post", "201"): [
        ("/v1/containers/{container_id}", "get", {"container_id": "$response.body#/id"}),
        ("/v1/containers/{container_id}/invoices", "get", {"container_id": "$response.body#/id"}),
        ("/v1/containers/{container_id}/retry", "post", {"container_id": "$response.body#/id"}),
        ("/v1/executions/{arn}", "get", {"arn": "$response.body#/execution_arn"}),
        ("/v1/executions/{arn}/history", "get", {"arn": "$response.body#/execution_arn"}),
    ],
    ("/v1/containers/{container_id}", "get", "200"): [
        ("/v1/executions/{arn}", "get", {"arn": "$response.body#/execution_arn"}),
        ("/v1/executions/{arn}/stop", "post", {"arn": "$response.body#/execution_arn"}),
    ],
    ("/v1/invoice-events", "post", "202"): [
        ("/v1/invoice-events/{message_id}", "get", {"message_id": "$response.body#/message_id"}),
    ],
    ("/v1/executions/{arn}", "get", "200"): [
        ("/v1/executions/{arn}/history", "get", {"arn": "$response.body#/executionArn"}),
        ("/v1/executions/{arn}/redrive", "post", {"arn": "$response.body#/executionArn"}),
    ],
}


def _link(spec: dict[str, Any]) -> None:
    paths = spec["paths"]
    for (path, method, status), targets in _LINKS.items():
        response = paths[path][method]["responses"].setdefault(status, {"description": ""})
        links = response.setdefault("links", {})
        for target, target_method, parameters in targets:
            operation_id = paths[target][target_method]["operationId"]
            links[operation_id] = {"operationId": operation_id, "parameters": parameters}
