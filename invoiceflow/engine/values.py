"""JSON values as the engine stores and shows them: compact text, as AWS renders payloads."""

from __future__ import annotations

from typing import Any

import orjson

MAX_PAYLOAD = 256 * 1024  # bytes, the Step Functions quota on state input and output


def dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def loads(text: str | bytes) -> Any:
    return orjson.loads(text)
