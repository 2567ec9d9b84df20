"""Cursors for newest-first listings: the (created, id) of the last item a page showed,
opaque to clients."""

from __future__ import annotations

import base64
import binascii

import orjson

from invoiceflow.api.errors import ApiError

FIRST = (float("inf"), "")  # before every item: the first page


def encode(created: float, item_id: str) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([created, item_id])).decode()


def decode(cursor: str | None) -> tuple[float, str]:
    if not cursor:
        return FIRST
    try:
        created, item_id = orjson.loads(base64.urlsafe_b64decode(cursor.encode()))
        if isinstance(created, int | float) and isinstance(item_id, str):
            return float(created), item_id
    except (ValueError, TypeError, binascii.Error, orjson.JSONDecodeError):
        pass
    raise ApiError(400, "InvalidCursor", "The cursor is not one this API gave.")
