"""How many requests are being answered right now, so that background work in the same
process (the worker) can give way to them: in one Python process they share one
interpreter lock, and a request waiting for it is a client waiting."""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send


class InFlight:
    def __init__(self) -> None:
        self.active = 0  # only the event loop's thread changes it

    def around(self, app: ASGIApp) -> ASGIApp:
        async def counted(scope: Scope, receive: Receive, send: Send) -> Any:
            if scope["type"] != "http":
                return await app(scope, receive, send)
            self.active += 1
            try:
                return await app(scope, receive, send)
            finally:
                self.active -= 1

        return counted
