"""What every route needs: the services it works with and the tenant it works for."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from invoiceflow.api.errors import ApiError
from invoiceflow.api.keys import Authenticator
from invoiceflow.engine.client import StepFunctionsClient
from invoiceflow.pipeline import Pipeline
from invoiceflow.store import Database

MAX_UPLOAD = 50 * 1024 * 1024  # bytes


@dataclass
class Services:
    pipeline: Pipeline
    authenticator: Authenticator
    max_upload: int = MAX_UPLOAD
    # Whether the process can do its work (workers running, store reachable).
    ready: Callable[[], bool] = field(default=lambda: True)

    @property
    def db(self) -> Database:
        return self.pipeline.engine.db

    def sfn(self, tenant: str) -> StepFunctionsClient:
        return self.pipeline.engine.client.for_tenant(tenant)


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


_bearer = HTTPBearer(auto_error=False, description="An API key from `invoiceflow keys create`.")


def tenant(
    svc: Annotated[Services, Depends(services)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    """The tenant whose key the request carries; 401 without a valid one."""
    if credentials is None:
        raise ApiError(401, "Unauthorized", "Send an API key: Authorization: Bearer KEY.")
    found = svc.authenticator.tenant(credentials.credentials)
    if found is None:
        raise ApiError(401, "Unauthorized", "The API key is not valid (or was revoked).")
    return found


Svc = Annotated[Services, Depends(services)]
Tenant = Annotated[str, Depends(tenant)]
