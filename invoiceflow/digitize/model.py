"""One invoice model for every format, its fields named after the EN 16931 business terms.

Money and quantities are Decimal, never float; dates are dates. The JSON form (``to_json``,
``from_json``, ``json_schema``) renders amounts and quantities as decimal strings and dates as
YYYY-MM-DD, always has every key (null when unknown), and round-trips: what ``to_json``
writes, ``from_json`` reads back equal.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Literal

import msgspec


class Model(msgspec.Struct, forbid_unknown_fields=True):
    """Base of the model's parts. Every field appears in the JSON form, null when unknown,
    so consumers can rely on the keys being there."""


class Address(Model):
    lines: list[str] = []  # BT-35..37 / BT-50..52
    city: str | None = None  # BT-37 / BT-52
    postal_code: str | None = None  # BT-38 / BT-53
    subdivision: str | None = None  # BT-39 / BT-54
    country: str | None = None  # BT-40 / BT-55, ISO 3166-1 alpha-2


class Contact(Model):
    name: str | None = None  # BT-41 / BT-56
    phone: str | None = None  # BT-42 / BT-57
    email: str | None = None  # BT-43 / BT-58


class Party(Model):
    """A party to the invoice. ``name`` is the one name to show: the seller's or buyer's
    legal name (BT-27 / BT-44), or its trading name when no legal name is given;
    ``trading_name`` is the name it trades under (BT-28 / BT-45) as the invoice gives it.
    For the payee and the deliver-to party, ``name`` is the only name they have (BT-59,
    BT-70)."""

    name: str | None = None  # BT-27 / BT-44 (BT-59 payee, BT-70 deliver to)
    trading_name: str | None = None  # BT-28 / BT-45
    id: str | None = None  # BT-29 / BT-46 (with its scheme, e.g. GLN, DUNS)
    id_scheme: str | None = None
    tax_id: str | None = None  # BT-31 / BT-48 (VAT identifier)
    legal_id: str | None = None  # BT-30 / BT-47
    address: Address | None = None
    contact: Contact | None = None

    def __post_init__(self) -> None:
        if self.name is None:
            self.name = self.trading_name


class AllowanceCharge(Model):
    charge: bool  # False: an allowance (BG-20/BG-27), True: a charge (BG-21/BG-28)
    amount: Decimal  # BT-92 / BT-99 / BT-136 / BT-141
    base_amount: Decimal | None = None  # BT-93 / BT-100
    percentage: Decimal | None = None  # BT-94 / BT-101
    reason: str | None = None  # BT-97 / BT-104
    reason_code: str | None = None  # BT-98 / BT-105
    tax_category: str | None = None  # BT-95 / BT-102
    tax_rate: Decimal | None = None  # BT-96 / BT-103


class Line(Model):
    line_id: str  # BT-126
    quantity: Decimal  # BT-129
    net_amount: Decimal  # BT-131
    description: str | None = None  # BT-153 item name
    unit: str | None = None  # BT-130, UN/ECE Rec 20 (or the sender's code)
    unit_price: Decimal | None = None  # BT-146 item net price
    price_base_quantity: Decimal | None = None  # BT-149
    seller_item_id: str | None = None  # BT-155
    buyer_item_id: str | None = None  # BT-156
    standard_item_id: str | None = None  # BT-157 (GTIN, UPC...)
    tax_category: str | None = None  # BT-151
    tax_rate: Decimal | None = None  # BT-152
    allowances_charges: list[AllowanceCharge] = []
    note: str | None = None  # BT-127


class TaxSubtotal(Model):
    tax_amount: Decimal  # BT-117
    taxable_amount: Decimal | None = None  # BT-116
    category: str | None = None  # BT-118
    rate: Decimal | None = None  # BT-119
    exemption_reason: str | None = None  # BT-120
    type: str | None = None  # e.g. VAT, GST, sales tax


class Totals(Model):
    line_total: Decimal | None = None  # BT-106
    allowances: Decimal | None = None  # BT-107
    charges: Decimal | None = None  # BT-108
    tax_exclusive: Decimal | None = None  # BT-109
    tax_total: Decimal | None = None  # BT-110
    tax_inclusive: Decimal | None = None  # BT-112
    prepaid: Decimal | None = None  # BT-113
    rounding: Decimal | None = None  # BT-114
    payable: Decimal | None = None  # BT-115


class PaymentTerms(Model):
    description: str | None = None  # BT-20
    net_days: int | None = None
    discount_percent: Decimal | None = None
    discount_days: int | None = None
    discount_due_date: date | None = None


class Reference(Model):
    type: str  # e.g. "contract", "despatch_advice", or the sender's own qualifier
    id: str


class Source(Model):
    """Where an invoice came from, precisely enough to find it again in the file."""

    format: str  # x12, edifact, ubl, cii, csv, json
    version: str | None = None
    index: int = 0  # 0-based position among the file's invoices
    interchange: str | None = None  # control numbers (X12 ISA13/GS06/ST02, EDIFACT UNB/UNH)
    group: str | None = None
    transaction: str | None = None
    rows: list[int] | None = None  # CSV: first and last data row (1-based, header is row 1)


Severity = Literal["error", "warning"]


class Problem(Model):
    code: str
    message: str
    severity: Severity = "error"
    location: str | None = None  # a segment position, an XPath, a row, a JSON path


class Invoice(Model):
    invoice_number: str  # BT-1
    source: Source
    document_type: Literal["invoice", "credit_note"] = "invoice"  # from BT-3
    type_code: str | None = None  # BT-3 as sent (380, 381, CR, DI...)
    issue_date: date | None = None  # BT-2
    due_date: date | None = None  # BT-9
    currency: str | None = None  # BT-5
    tax_currency: str | None = None  # BT-6
    purchase_order: str | None = None  # BT-13
    buyer_reference: str | None = None  # BT-10
    contract: str | None = None  # BT-12
    seller: Party | None = None  # BG-4
    buyer: Party | None = None  # BG-7
    payee: Party | None = None  # BG-10
    ship_to: Party | None = None  # BG-13
    delivery_date: date | None = None  # BT-72
    lines: list[Line] = []
    tax: list[TaxSubtotal] = []  # BG-23
    allowances_charges: list[AllowanceCharge] = []  # BG-20 / BG-21
    totals: Totals = msgspec.field(default_factory=Totals)
    payment_terms: PaymentTerms | None = None
    references: list[Reference] = []
    notes: list[str] = []  # BT-22
    problems: list[Problem] = []


_ENCODER = msgspec.json.Encoder(decimal_format="string")


def to_json(invoice: Invoice) -> bytes:
    return _ENCODER.encode(invoice)


def to_dict(invoice: Invoice) -> dict[str, Any]:
    out: dict[str, Any] = msgspec.json.decode(_ENCODER.encode(invoice))
    return out


def from_json(data: bytes | str) -> Invoice:
    """An invoice from its JSON form; raises msgspec.ValidationError on anything else."""
    return msgspec.json.decode(data, type=Invoice)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the JSON form, for other tools to validate against."""
    (schema,), definitions = schema_components("#/$defs/{name}")
    return {
        **schema,
        "$defs": definitions,
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "invoiceflow invoice",
    }


def schema_components(ref_template: str) -> tuple[tuple[dict[str, Any]], dict[str, Any]]:
    """The invoice's schema and the definitions it refers to (as
    ``msgspec.json.schema_components``), such that an invoice sent to invoiceflow is valid:
    ``source`` is in every invoice invoiceflow writes, but one it reads needs none, since
    the reader records where it read it from."""
    (schema,), definitions = msgspec.json.schema_components([Invoice], ref_template=ref_template)
    invoice = definitions["Invoice"]
    invoice["required"] = [name for name in invoice["required"] if name != "source"]
    invoice["properties"]["source"]["description"] = (
        "Where the invoice was read from: set by invoiceflow, ignored on input."
    )
    return (schema,), definitions
