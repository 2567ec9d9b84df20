"""Liveness, readiness and metrics: unauthenticated, and free of any tenant's data."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from invoiceflow.api.context import Svc
from invoiceflow.api.errors import Problem, problem
from invoiceflow.api.models import Health

router = APIRouter(tags=["operations"])


@router.get("/", include_in_schema=False)
def root() -> RedirectResponse:
    """A person who opens the server's address lands on the API's documentation."""
    return RedirectResponse("/docs")


@router.get("/healthz", response_model=Health)
def healthz() -> Health:
    """The process answers."""
    return Health(status="ok")


@router.get("/readyz", response_model=Health, responses={503: {"model": Problem}})
def readyz(svc: Svc) -> Response | Health:
    """The store answers and the workers run: work sent now will be done."""
    try:
        with svc.db.transaction(write=False) as tx:
            tx.fetch_raw("SELECT 1")
    except Exception:
        return problem(503, "NotReady", "The store does not answer.")
    ready = svc.ready()
    if ready is not True:
        return problem(503, "NotReady", ready or "The workers are not running.")
    return Health(status="ready")


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
def metrics(request: Request) -> Response:
    """Prometheus text format."""
    body = generate_latest(request.app.state.metrics)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
