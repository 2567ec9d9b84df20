"""JSON bodies as every layer below can hold them.

FastAPI decodes a body with the standard library, which accepts ``NaN``, ``Infinity`` and
``1e999999999`` (as infinity), values no other JSON reader agrees on and that the engine
cannot write back, and which recurses once per level of nesting. ``JsonRoute`` gives each
route a request whose ``json()`` refuses a body nested deeper than ``limits.JSON_DEPTH``
(400 ``TooDeep``, measured on the text before anything decodes it) and decodes with orjson,
which refuses those numbers and any byte that is not UTF-8. orjson's error is a
``json.JSONDecodeError``, so FastAPI answers it as it answers any malformed body (422).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import orjson
from fastapi import Request, Response
from fastapi.routing import APIRoute

from invoiceflow.api.errors import ApiError
from invoiceflow.limits import JSON_DEPTH, TooDeep, text_depth


def check_depth(body: bytes) -> None:
    """400 ``TooDeep`` for a body nested deeper than every layer accepts."""
    try:
        text_depth(body)
    except TooDeep:
        raise ApiError(
            400, "TooDeep", f"The JSON body is nested more than {JSON_DEPTH} levels deep."
        ) from None


class StrictJsonRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            check_depth(body)
            self._json = orjson.loads(body)
        return self._json


class JsonRoute(APIRoute):
    """A route whose body, if it takes JSON, is read by ``StrictJsonRequest``."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def strict(request: Request) -> Response:
            return await handle(StrictJsonRequest(request.scope, request.receive))

        return strict
