"""Every refusal is JSON with a code and a message, whatever raised it; nothing a client
sends can produce a traceback. The codes are stable words a program can branch on."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.middleware.body_limit import MAX_BODY_SIZE_SCOPE_KEY

from invoiceflow.client_errors import ClientError, ServiceError
from invoiceflow.store import ValueRefused

log = structlog.get_logger("invoiceflow.api")


class Problem(BaseModel):
    """What went wrong: ``code`` for programs, ``message`` for people."""

    code: str
    message: str


class ApiError(HTTPException):
    """A refusal with its code. An ``HTTPException``, so that FastAPI lets it through
    unchanged when it is raised while a body is being read."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(status, message)
        self.status = status
        self.code = code
        self.message = message


def not_found(what: str) -> ApiError:
    return ApiError(404, "NotFound", f"No such {what}.")


# Engine and queue errors by the HTTP status they mean here; the rest are 400.
_STATUS = {
    "ExecutionDoesNotExist": 404,
    "StateMachineDoesNotExist": 404,
    "TaskDoesNotExist": 404,
    "QueueDoesNotExist": 404,
    "ExecutionNotRedrivable": 409,
    "ExecutionAlreadyExists": 409,
    "TaskTimedOut": 409,
}

_HTTP_CODES = {
    400: "BadRequest",
    401: "Unauthorized",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    409: "Conflict",
    413: "PayloadTooLarge",
    415: "UnsupportedMediaType",
}


def problem(status: int, code: str, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"code": code, "message": message}, status_code=status, headers=headers)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors()[:10]:
        if error.get("type") == "json_invalid":
            why = error.get("ctx", {}).get("error", "")
            parts.append(f"The body is not JSON: {why}" if why else "The body is not JSON.")
            continue
        where = ".".join(str(p) for p in error.get("loc", ()) if p != "body") or "request"
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return "; ".join(parts) or "The request is not valid."


def install(app: FastAPI) -> None:
    async def api_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else {}
        return problem(exc.status, exc.code, exc.message, **headers)

    async def service_error(_request: Request, exc: Exception) -> JSONResponse:
        if isinstance(exc, ClientError):
            code, message = exc.code, str(exc.response["Error"]["Message"])
        else:
            assert isinstance(exc, ServiceError)
            code, message = exc.code, exc.message
        return problem(_STATUS.get(code, 400), code, message)

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        code = _HTTP_CODES.get(exc.status_code, "Error")
        detail = exc.detail if isinstance(exc.detail, str) else code
        headers = dict(exc.headers or {})
        if exc.status_code == 413:  # from the body limit, while the body streamed in
            limit = request.scope.get(MAX_BODY_SIZE_SCOPE_KEY)
            detail = f"The body may be at most {limit} bytes." if limit else detail
            headers["Connection"] = "close"  # the rest of the body is not read
        return problem(exc.status_code, code, detail, **headers)

    async def invalid(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return problem(422, "ValidationError", _validation_message(exc))

    async def refused(_request: Request, exc: Exception) -> JSONResponse:
        message = str(exc)
        return problem(400, "InvalidParameterValue", f"{message[:1].upper()}{message[1:]}.")

    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected error", path=request.url.path, error=repr(exc))
        return problem(500, "InternalError", "Something went wrong on our side.")

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(ServiceError, service_error)
    app.add_exception_handler(ClientError, service_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(ValueRefused, refused)
    app.add_exception_handler(Exception, unexpected)


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the refusals a route can give."""
    return {s: {"model": Problem, "description": _HTTP_CODES.get(s, "Error")} for s in statuses}
