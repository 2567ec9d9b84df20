"""What every route needs: the services it works with and the tenant it works for."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from invoiceflow.api.batcher import Batcher
from invoiceflow.api.errors import ApiError
from invoiceflow.api.guard import TENANT, Guard
from invoiceflow.api.keys import Authenticator
from invoiceflow.engine.client import StepFunctionsClient
from invoiceflow.limits import MAX_FILE
from invoiceflow.pipeline import Pipeline
from invoiceflow.store import Database

MAX_UPLOAD = MAX_FILE  # bytes, unless serve --max-upload says otherwise


@dataclass
class Services:
    pipeline: Pipeline
    authenticator: Authenticator
    batcher: Batcher
    max_upload: int = MAX_UPLOAD
    # Whether the process can do its work (workers running): True, or False or the reason
    # it cannot.
    ready: Callable[[], bool | str] = field(default=lambda: True)

    @property
    def db(self) -> Database:
        return self.pipeline.engine.db

    def sfn(self, tenant: str) -> StepFunctionsClient:
        return self.pipeline.engine.client.for_tenant(tenant)


# Dependencies are coroutines: FastAPI runs plain functions on the thread pool, a hop that
# costs more than their work. The key lookup blocks only on a cache miss (once a second).
async def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


async def tenant(request: Request) -> str:
    """The tenant whose key the request carries, as ``guard.Guard`` found it before the
    body was read; 401 without a valid one (for an application mounted without the guard).
    Read straight from the request: this runs on every request, and each dependency
    FastAPI resolves costs (the bearer scheme is declared in the OpenAPI document by
    ``app``)."""
    found: str | None = request.scope.get("state", {}).get(TENANT)
    if found is not None:
        return found
    svc: Services = request.app.state.services
    guard = Guard(request.app, svc.authenticator, svc.max_upload)
    found, problem = guard.authenticate(request.headers.get("authorization", "").encode("latin-1"))
    if found is None:
        raise ApiError(401, "Unauthorized", problem)
    return found


Svc = Annotated[Services, Depends(services)]
Tenant = Annotated[str, Depends(tenant)]
