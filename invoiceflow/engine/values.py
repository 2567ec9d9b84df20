"""JSON values as the engine stores and shows them: compact text, as AWS renders payloads."""

from __future__ import annotations

from typing import Any

import orjson

from invoiceflow.limits import MAX_PAYLOAD

__all__ = ["MAX_PAYLOAD", "dumps", "loads"]


def dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def loads(text: str | bytes) -> Any:
    return orjson.loads(text)
