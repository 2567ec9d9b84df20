"""What every request must pass before the application reads a byte of its body.

FastAPI reads and decodes a JSON body before it resolves any dependency, so a key checked
by a dependency is checked too late: an anonymous client could make the server hold and
parse 100 MB to be told 401. Here, in front of the routes:

- the head of the request is bounded (64 KiB of headers in all; the protocol in
  ``invoiceflow.api.protocol`` bounds the raw bytes before they are even parsed);
- one ``Authorization`` header at most (two could be read differently by a proxy);
- every ``/v1`` call is authenticated, and the tenant kept in the request's state for
  ``context.tenant``;
- the body has a ceiling by route: a declared length over it is refused at once, and a
  body without one is counted as it arrives (Starlette's ``RequestBodyLimitResponder``,
  whose 413 the application turns into JSON).

A refusal closes the connection: the client may still be sending a body we will not read.
"""

from __future__ import annotations

from starlette.middleware.body_limit import RequestBodyLimitResponder
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from invoiceflow.api.keys import Authenticator

MAX_HEADERS = 64 * 1024  # bytes of header names and values, together
JSON_BODY = 1024 * 1024  # the ceiling of any JSON body but an invoice event's
EVENT_BODY = 10 * 1024 * 1024
UPLOAD_SLACK = 64 * 1024  # room for the multipart framing around an uploaded file
TENANT = "tenant"  # where the authenticated tenant is kept in the request's state


def refusal(status: int, code: str, message: str, **headers: str) -> JSONResponse:
    return JSONResponse(
        {"code": code, "message": message},
        status_code=status,
        headers={"Connection": "close", **headers},
    )


class Guard:
    def __init__(self, app: ASGIApp, authenticator: Authenticator, max_upload: int) -> None:
        self.app = app
        self.authenticator = authenticator
        self.max_upload = max_upload

    def body_limit(self, method: str, path: str) -> int:
        if method == "POST" and path == "/v1/containers":
            return self.max_upload + UPLOAD_SLACK
        if method == "POST" and path == "/v1/invoice-events":
            return EVENT_BODY
        return JSON_BODY

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refused = self._check(scope)
        if refused is not None:
            await refused(scope, receive, send)
            return
        limit = self.body_limit(scope["method"], scope["path"])
        await RequestBodyLimitResponder(self.app, limit)(scope, receive, send)

    def _check(self, scope: Scope) -> JSONResponse | None:
        """The refusal the request earns from its head alone, if any."""
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        if sum(len(name) + len(value) for name, value in headers) > MAX_HEADERS:
            return refusal(
                431, "HeadersTooLarge", f"Request headers may be at most {MAX_HEADERS} bytes."
            )
        keys = [value for name, value in headers if name == b"authorization"]
        if len(keys) > 1:
            return refusal(400, "DuplicateHeader", "Send one Authorization header, not several.")
        declared = [value for name, value in headers if name == b"content-length"]
        limit = self.body_limit(scope["method"], scope["path"])
        if scope["path"].startswith("/v1/"):
            tenant, problem = self.authenticate(keys[0] if keys else b"")
            if tenant is None:
                return refusal(401, "Unauthorized", problem, **{"WWW-Authenticate": "Bearer"})
            scope.setdefault("state", {})[TENANT] = tenant
        if len(declared) > 1 or (declared and not declared[0].isdigit()):
            return refusal(400, "BadRequest", "Send one Content-Length, a number of bytes.")
        if declared and int(declared[0]) > limit:
            return refusal(413, "PayloadTooLarge", f"The body may be at most {limit} bytes.")
        return None

    def authenticate(self, header: bytes) -> tuple[str | None, str]:
        """(the key's tenant, or None with the reason)."""
        scheme, _, key = header.decode("latin-1").partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            return None, "Send an API key: Authorization: Bearer KEY."
        tenant = self.authenticator.tenant(key.strip())
        if tenant is None:
            return None, "The API key is not valid (or was revoked)."
        return tenant, ""
