"""JSON files: invoiceflow's own schema (one invoice, a list, or {"invoices": [...]}), or any
other shape through a profile's JSONata expression.

Numbers are read as Decimal straight from the text, never through float; what a JSONata
expression computes comes back from its floats by their shortest decimal form.

Files in invoiceflow's schema are streamed (ijson): an invoice is built while it is read and
yielded when it closes, so memory holds one invoice, never the file. Nesting deeper than
``invoiceflow.limits.JSON_DEPTH``, more than ``limits.MAX_LINES`` lines in an invoice and
amounts that are not finite are refused with a reason. A JSONata profile needs the whole
document, so a file read through one is held whole, up to ``MAX_JSON`` bytes.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any, BinaryIO

import jsonata
import msgspec

from invoiceflow.digitize import json_stream, limits
from invoiceflow.digitize.errors import DigitizeError
from invoiceflow.digitize.model import Invoice
from invoiceflow.digitize.profiles import Profile
from invoiceflow.digitize.values import usable
from invoiceflow.limits import TooDeep, check_depth, text_depth

MAX_JSON = 16 * 1024 * 1024  # bytes read whole for a JSONata profile
CHUNK = 1 << 20


def read_json(stream: BinaryIO, profile: Profile | None = None) -> Iterator[Invoice]:
    expression = profile.jsonata if profile else None
    if expression:
        yield from _profiled(stream, expression)
        return
    stream_events = json_stream.events(stream)
    first = next(stream_events, None)
    if first is None:
        raise DigitizeError("empty", "The file is empty.")
    if first[0] == "start_array":
        yield from _items(stream_events, 1, "$")
        return
    if first[0] != "start_map":
        yield _invoice(first[1], 0, "$")
        return
    # an object: one invoice, or {"invoices": [...]} whose items are read one by one
    document: dict[str, Any] = {}
    for kind, key in stream_events:
        if kind == "end_map":
            break
        value = next(stream_events, ("end", None))
        if key == "invoices" and value[0] == "start_array":
            yield from _items(stream_events, 2, "$.invoices")
            for _ in stream_events:  # the rest of the wrapper, checked but not kept
                pass
            return
        # build refuses a list of lines past the limit while it builds it
        document[key] = json_stream.build(stream_events, value, 1, lines=key == "lines")
    yield _invoice(document, 0, "$")


def _items(stream_events: Iterator[json_stream.Event], depth: int, where: str) -> Iterator[Invoice]:
    """The invoices of an array whose opening bracket has been read."""
    for index, event in enumerate(stream_events):
        if event[0] == "end_array":
            return
        item = json_stream.build(stream_events, event, depth, lines=True)
        yield _invoice(item, index, f"{where}[{index}]")


def _profiled(stream: BinaryIO, expression: str) -> Iterator[Invoice]:
    """A JSONata profile needs the whole document at once: it is read whole, up to
    MAX_JSON bytes, after a check of its nesting."""
    data = _read_all(stream)
    try:
        text_depth(data)
    except TooDeep:
        raise json_stream.too_deep() from None
    try:
        raw = msgspec.json.decode(data)
    except msgspec.DecodeError as exc:
        raise DigitizeError("bad_json", f"The file is not valid JSON: {exc}.") from None
    raw = _transform(expression, raw)
    try:
        check_depth(raw)
    except TooDeep:
        raise json_stream.too_deep() from None
    if isinstance(raw, dict) and isinstance(raw.get("invoices"), list):
        raw = raw["invoices"]
    items = raw if isinstance(raw, list) else [raw]
    for index, item in enumerate(items):
        yield _invoice(item, index, f"$[{index}]" if isinstance(raw, list) else "$")


def _invoice(item: Any, index: int, where: str) -> Invoice:
    if isinstance(item, dict):
        item["source"] = {"format": "json", "index": index}
    try:
        invoice = msgspec.convert(item, Invoice, strict=False)
    except msgspec.ValidationError as exc:
        raise DigitizeError(
            "json_schema",
            f"Invoice {index + 1} does not follow invoiceflow's invoice schema: {exc}.",
            where,
        ) from None
    limits.check_lines(len(invoice.lines), where)
    for field, value in _amounts(invoice):
        if not usable(value):
            raise DigitizeError(
                "bad_number",
                f"Invoice {index + 1} has {field} {str(value)[:40]!r}, which is not an amount "
                "(not finite, or too large or too precise).",
                where,
            )
    return invoice


def _amounts(invoice: Invoice) -> Iterator[tuple[str, Decimal]]:
    """Every number of an invoice, with the name of its field."""
    parts: list[Any] = [
        *invoice.lines,
        *invoice.tax,
        *invoice.allowances_charges,
        invoice.totals,
        invoice.payment_terms,
    ]
    for line in invoice.lines:
        parts.extend(line.allowances_charges)
    for part in parts:
        for name in getattr(part, "__struct_fields__", ()):
            value = getattr(part, name)
            if isinstance(value, Decimal):
                yield name, value


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
