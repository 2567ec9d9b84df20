"""Supplier profiles: how to read a CSV or JSON file whose shape invoiceflow does not know.

A profile is a small YAML or JSON document. For CSV, it names the columns::

    columns:            # model field: the file's column header
      invoice_number: Belegnummer
      issue_date: Datum
      quantity: Menge
      unit_price: Einzelpreis
    delimiter: ";"      # optional: detected otherwise
    decimal: ","        # optional: detected otherwise
    encoding: cp1252    # optional: detected otherwise
    date_format: "%d.%m.%Y"   # optional: detected otherwise

For JSON, a JSONata expression turns the supplier's document into invoiceflow's schema (one
invoice, a list of them, or {"invoices": [...]})::

    jsonata: |
      orders.{"invoice_number": ref, "issue_date": date, "currency": "EUR",
              "lines": [items.{"line_id": $string(pos), "quantity": n, "net_amount": total}]}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonata
import yaml

from invoiceflow.digitize.errors import DigitizeError

HEADER_FIELDS = (
    "invoice_number",
    "document_type",
    "issue_date",
    "due_date",
    "currency",
    "purchase_order",
    "buyer_reference",
    "seller_name",
    "seller_id",
    "seller_tax_id",
    "buyer_name",
    "buyer_id",
    "buyer_tax_id",
    "tax_total",
    "payable",
    "note",
)
LINE_FIELDS = (
    "line_id",
    "description",
    "quantity",
    "unit",
    "unit_price",
    "net_amount",
    "seller_item_id",
    "buyer_item_id",
    "standard_item_id",
    "tax_rate",
    "tax_category",
    "line_tax",
)
FIELDS = HEADER_FIELDS + LINE_FIELDS


@dataclass(frozen=True)
class Profile:
    columns: dict[str, str] = field(default_factory=dict)
    delimiter: str | None = None
    decimal: str | None = None
    encoding: str | None = None
    date_format: str | None = None
    jsonata: str | None = None


def load_profile(source: str | Path | dict[str, Any]) -> Profile:
    """A profile from a YAML/JSON file or an already-parsed mapping, checked."""
    if isinstance(source, dict):
        data: Any = source
    else:
        try:
            data = yaml.safe_load(Path(source).read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise DigitizeError("bad_profile", f"Cannot read the profile {source}: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("columns", {}), dict):
        raise DigitizeError("bad_profile", "A profile is a mapping with a 'columns' mapping.")
    unknown = sorted(set(data.get("columns", {})) - set(FIELDS))
    if unknown:
        raise DigitizeError(
            "bad_profile",
            f"The profile maps unknown fields {', '.join(unknown)}; known fields are "
            f"{', '.join(FIELDS)}.",
        )
    extra = sorted(
        set(data) - {"columns", "delimiter", "decimal", "encoding", "date_format", "jsonata"}
    )
    if extra:
        raise DigitizeError("bad_profile", f"The profile has unknown keys {', '.join(extra)}.")
    if data.get("decimal") not in (None, ".", ","):
        raise DigitizeError("bad_profile", "The profile's decimal mark must be '.' or ','.")
    return Profile(
        columns={str(k): str(v) for k, v in data.get("columns", {}).items()},
        delimiter=data.get("delimiter"),
        decimal=data.get("decimal"),
        encoding=data.get("encoding"),
        date_format=data.get("date_format"),
        jsonata=_expression(data.get("jsonata")),
    )


def _expression(text: Any) -> str | None:
    if text is None:
        return None
    try:
        jsonata.Jsonata(str(text))
    except Exception as exc:  # the library raises its own exception types
        raise DigitizeError(
            "bad_profile", f"The profile's JSONata does not compile: {exc}"
        ) from None
    return str(text)
