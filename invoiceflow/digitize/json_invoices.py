"""JSON files: invoiceflow's own schema (one invoice, a list, or {"invoices": [...]}), or any
other shape through a profile's JSONata expression.

Numbers are read as Decimal straight from the text, never through float; what a JSONata
expression computes comes back from its floats by their shortest decimal form.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any, BinaryIO

import jsonata
import msgspec

from invoiceflow.digitize.errors import DigitizeError
from invoiceflow.digitize.model import Invoice
from invoiceflow.digitize.profiles import Profile

MAX_JSON = 256 * 1024 * 1024
CHUNK = 1 << 20


_DECODER = msgspec.json.Decoder(float_hook=Decimal)


def read_json(stream: BinaryIO, profile: Profile | None = None) -> Iterator[Invoice]:
    data = _read_all(stream)
    expression = profile.jsonata if profile else None
    try:
        raw = msgspec.json.decode(data) if expression else _DECODER.decode(data)
    except msgspec.DecodeError as exc:
        raise DigitizeError("bad_json", f"The file is not valid JSON: {exc}.") from None
    if expression:
        raw = _transform(expression, raw)
    if isinstance(raw, dict) and isinstance(raw.get("invoices"), list):
        raw = raw["invoices"]
    items = raw if isinstance(raw, list) else [raw]
    for index, item in enumerate(items):
        if isinstance(item, dict):
            item["source"] = {"format": "json", "index": index}
        try:
            yield msgspec.convert(item, Invoice, strict=False)
        except msgspec.ValidationError as exc:
            raise DigitizeError(
                "json_schema",
                f"Invoice {index + 1} does not follow invoiceflow's invoice schema: {exc}.",
                f"$[{index}]" if isinstance(raw, list) else "$",
            ) from None


def _read_all(stream: BinaryIO) -> bytes:
    """The whole stream, refusing one over MAX_JSON. Read in chunks: one read of MAX_JSON
    bytes would have a buffer that size set up for every file, however small."""
    chunks = []
    size = 0
    while chunk := stream.read(CHUNK):
        size += len(chunk)
        if size > MAX_JSON:
            raise DigitizeError("too_large", f"JSON files over {MAX_JSON} bytes are not read.")
        chunks.append(chunk)
    return b"".join(chunks)


def _transform(expression: str, document: Any) -> Any:
    try:
        result = jsonata.Jsonata(expression).evaluate(document)
    except Exception as exc:  # the library raises its own exception types
        raise DigitizeError("profile_failed", f"The profile's JSONata failed: {exc}") from None
    if result is None:
        raise DigitizeError("profile_failed", "The profile's JSONata found nothing to read.")
    return result
