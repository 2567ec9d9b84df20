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

import codecs
from dataclasses import asdict, dataclass, field
from datetime import datetime
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


KEYS = ("columns", "delimiter", "decimal", "encoding", "date_format", "jsonata")


def read_profile(path: str | Path) -> dict[str, Any]:
    """A profile file's content (YAML or JSON, whose syntax YAML includes), unchecked; a
    file that cannot be read, or is not YAML, is a DigitizeError in one line."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise DigitizeError(
            "bad_profile", f"Cannot read the profile {path}: {exc.strerror or exc}."
        ) from None
    except UnicodeDecodeError:
        raise DigitizeError("bad_profile", f"The profile {path} is not UTF-8 text.") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "not YAML or JSON"
        raise DigitizeError(
            "bad_profile", f"The profile {path} is not YAML or JSON{where}: {problem}."
        ) from None
    if not isinstance(data, dict):
        raise DigitizeError("bad_profile", "A profile is a mapping with a 'columns' mapping.")
    return data


def load_profile(source: str | Path | dict[str, Any]) -> Profile:
    """A profile from a YAML/JSON file or an already-parsed mapping, checked for what would
    be misread (unknown fields or keys, a decimal mark); see ``check_profile`` for the
    checks made before a profile is stored or given to the pipeline."""
    data: Any = source if isinstance(source, dict) else read_profile(source)
    if not isinstance(data, dict) or not isinstance(data.get("columns") or {}, dict):
        raise DigitizeError("bad_profile", "A profile is a mapping with a 'columns' mapping.")
    columns = data.get("columns") or {}
    unknown = sorted(str(k) for k in set(columns) - set(FIELDS))
    if unknown:
        raise DigitizeError(
            "bad_profile",
            f"The profile maps unknown fields {', '.join(unknown)}; known fields are "
            f"{', '.join(FIELDS)}.",
        )
    extra = sorted(str(k) for k in set(data) - set(KEYS))
    if extra:
        raise DigitizeError("bad_profile", f"The profile has unknown keys {', '.join(extra)}.")
    if data.get("decimal") not in (None, ".", ","):
        raise DigitizeError("bad_profile", "The profile's decimal mark must be '.' or ','.")
    return Profile(
        columns={str(k): str(v) for k, v in columns.items()},
        delimiter=data.get("delimiter"),
        decimal=data.get("decimal"),
        encoding=data.get("encoding"),
        date_format=data.get("date_format"),
        jsonata=_expression(data.get("jsonata")),
    )


def check_profile(source: str | Path | dict[str, Any]) -> Profile:
    """``load_profile`` and more: every value must be one the readers can use (a column
    header for each field, a one-character delimiter, an encoding Python knows, a strftime
    date format), so that a profile is refused when it is given, not when a file is read."""
    data: Any = source if isinstance(source, dict) else read_profile(source)
    profile = load_profile(data)
    columns = data.get("columns") or {}
    blank = sorted(str(k) for k, v in columns.items() if not isinstance(v, str) or not v.strip())
    if blank:
        raise DigitizeError(
            "bad_profile",
            f"The profile's columns must name a column header (text) for {', '.join(blank)}.",
        )
    delimiter = data.get("delimiter")
    if delimiter is not None and (not isinstance(delimiter, str) or len(delimiter) != 1):
        raise DigitizeError("bad_profile", "The profile's delimiter must be one character.")
    encoding = data.get("encoding")
    if encoding is not None:
        try:
            codecs.lookup(str(encoding))
        except LookupError:
            raise DigitizeError(
                "bad_profile", f"The profile's encoding {encoding!r} is not one Python knows."
            ) from None
    date_format = data.get("date_format")
    if date_format is not None and not _date_format(date_format):
        raise DigitizeError(
            "bad_profile",
            "The profile's date_format must be a strftime pattern for a whole date, "
            "such as '%d.%m.%Y'.",
        )
    if not any(
        (profile.columns, profile.jsonata, delimiter, profile.decimal, encoding, date_format)
    ):
        raise DigitizeError("bad_profile", "The profile says nothing: name some columns.")
    return profile


def _date_format(pattern: Any) -> bool:
    """Whether ``pattern`` reads back a date it wrote (a strftime pattern with a day)."""
    if not isinstance(pattern, str) or "%" not in pattern:
        return False
    sample = datetime(2026, 11, 23)
    try:
        return datetime.strptime(sample.strftime(pattern), pattern).date() == sample.date()
    except ValueError:
        return False


def to_mapping(profile: Profile) -> dict[str, Any]:
    """The profile as the mapping ``load_profile`` reads back equal (for storing it)."""
    return {key: value for key, value in asdict(profile).items() if value not in (None, {})}


def _expression(text: Any) -> str | None:
    if text is None:
        return None
    try:
        jsonata.Jsonata(str(text))
    except Exception as exc:  # the library raises its own exception types
        first = " ".join(str(exc).split())
        raise DigitizeError(
            "bad_profile", f"The profile's JSONata does not compile: {first}"
        ) from None
    return str(text)
