"""The HTTP server's settings, and a bound on the head of a request.

uvicorn's httptools protocol keeps the request line and the headers until the head ends,
with no limit: a client that sends one header of 32 MiB (or never ends its head) makes the
server hold all of it, and httptools joins a long header's pieces by copying. uvicorn's
``h11_max_incomplete_event_size`` bounds the h11 protocol only. ``BoundedHttpTools`` counts
the bytes it is fed while a head is incomplete and answers 431, closing the connection,
once they pass ``MAX_HEAD``; ``guard.Guard`` then applies the exact limit on the parsed
headers (64 KiB of names and values), with room here for the request line and framing.
"""

from __future__ import annotations

import asyncio

import orjson
import uvicorn
from starlette.types import ASGIApp
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from invoiceflow.api.guard import MAX_HEADERS

MAX_HEAD = 2 * MAX_HEADERS  # raw bytes of a request's line and headers

_REFUSAL = orjson.dumps(
    {"code": "HeadersTooLarge", "message": f"Request headers may be at most {MAX_HEADERS} bytes."}
)
_431 = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"content-type: application/json\r\n"
    b"content-length: %d\r\n"
    b"connection: close\r\n\r\n%s" % (len(_REFUSAL), _REFUSAL)
)


class BoundedHttpTools(HttpToolsProtocol):
    """httptools, refusing a request whose head grows past ``MAX_HEAD`` bytes.

    Bytes are counted after the parser has seen them, while a head is still incomplete. The
    chunk in which a message begins is not counted (it may end a previous request's body
    too), so a connection holds at most ``MAX_HEAD`` plus one read of head bytes.
    """

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[arg-type]
        self._head = 0
        self._in_head = False
        self._began = False

    def data_received(self, data: bytes) -> None:
        self._began = False
        super().data_received(data)
        if self._in_head and not self._began:
            self._head += len(data)
            if self._head > MAX_HEAD and not self.transport.is_closing():
                self._in_head = False
                self.transport.write(_431)
                self.transport.close()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head = 0
        self._in_head = True
        self._began = True

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()


def server_config(
    app: ASGIApp, *, access_log: bool = False, graceful: int | None = None
) -> uvicorn.Config:
    """How every server of the API runs: the bounded protocol, no lifespan, no banner."""
    return uvicorn.Config(
        app,
        http=BoundedHttpTools,
        h11_max_incomplete_event_size=MAX_HEAD,  # should someone choose h11 instead
        log_config=None,
        access_log=access_log,
        lifespan="off",
        server_header=False,
        timeout_graceful_shutdown=graceful,
    )
