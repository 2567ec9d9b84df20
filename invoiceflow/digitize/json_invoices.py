"""JSON files in invoiceflow's own invoice schema: one invoice, a list, or {"invoices": [...]}."""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

import msgspec

from invoiceflow.digitize.errors import DigitizeError
from invoiceflow.digitize.model import Invoice

MAX_JSON = 256 * 1024 * 1024


def read_json(stream: BinaryIO) -> Iterator[Invoice]:
    data = stream.read(MAX_JSON + 1)
    if len(data) > MAX_JSON:
        raise DigitizeError("too_large", f"JSON files over {MAX_JSON} bytes are not read.")
    try:
        raw = msgspec.json.decode(data)
    except msgspec.DecodeError as exc:
        raise DigitizeError("bad_json", f"The file is not valid JSON: {exc}.") from None
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
