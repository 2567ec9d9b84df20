"""CSV invoice exports: one row per invoice line, the invoice's own fields repeated on each
row, rows of one invoice next to each other.

The columns are recognised from their headers (in English, German, French, Dutch and
Spanish spellings of the usual names) or named by a supplier profile. The encoding, the
delimiter, the decimal mark and the date order are detected from the first 64 KiB unless the
profile says. Rows are read one at a time: memory holds one invoice, not the file.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import BinaryIO

from charset_normalizer import from_bytes

from invoiceflow.digitize.errors import DigitizeError
from invoiceflow.digitize.model import Invoice, Line, Party, Problem, Source, TaxSubtotal
from invoiceflow.digitize.numbers import date_format, decimal_mark, number, read_date
from invoiceflow.digitize.profiles import FIELDS, LINE_FIELDS, Profile
from invoiceflow.digitize.totals import complete_totals

SAMPLE = 1 << 16
_SYNONYMS: dict[str, tuple[str, ...]] = {
    "invoice_number": (
        "invoice_number",
        "invoice_no",
        "invoice_num",
        "invoice_id",
        "invoice",
        "inv_no",
        "document_number",
        "rechnungsnummer",
        "numero_facture",
        "factuurnummer",
        "numero_factura",
        "belegnummer",
    ),
    "document_type": ("document_type", "type", "invoice_type"),
    "issue_date": (
        "invoice_date",
        "issue_date",
        "date",
        "document_date",
        "rechnungsdatum",
        "date_facture",
        "factuurdatum",
        "fecha",
    ),
    "due_date": (
        "due_date",
        "payment_due",
        "payment_due_date",
        "faelligkeit",
        "date_echeance",
        "vervaldatum",
    ),
    "currency": ("currency", "currency_code", "cur", "waehrung", "devise", "valuta", "moneda"),
    "purchase_order": (
        "purchase_order",
        "po",
        "po_number",
        "order_number",
        "order_no",
        "bestellnummer",
    ),
    "buyer_reference": ("buyer_reference", "reference", "your_reference"),
    "seller_name": (
        "seller",
        "seller_name",
        "supplier",
        "supplier_name",
        "vendor",
        "vendor_name",
        "lieferant",
        "fournisseur",
        "leverancier",
    ),
    "seller_id": ("seller_id", "supplier_id", "vendor_id", "supplier_number", "vendor_number"),
    "seller_tax_id": (
        "seller_tax_id",
        "seller_vat",
        "supplier_vat",
        "vendor_vat",
        "supplier_tax_id",
        "vat_number",
        "ust_idnr",
    ),
    "buyer_name": (
        "buyer",
        "buyer_name",
        "customer",
        "customer_name",
        "bill_to",
        "kunde",
        "client",
    ),
    "buyer_id": ("buyer_id", "customer_id", "customer_number", "kundennummer"),
    "buyer_tax_id": ("buyer_tax_id", "buyer_vat", "customer_vat"),
    "tax_total": ("tax_total", "total_tax", "vat_total", "total_vat"),
    "payable": (
        "payable",
        "amount_due",
        "invoice_total",
        "total_amount",
        "grand_total",
        "total_due",
        "gesamtbetrag",
        "montant_total",
    ),
    "note": ("note", "notes", "comment", "remarks"),
    "line_id": ("line_id", "line", "line_no", "line_number", "position", "pos"),
    "description": (
        "description",
        "item_description",
        "product",
        "product_name",
        "item",
        "item_name",
        "bezeichnung",
        "artikel",
        "libelle",
        "omschrijving",
    ),
    "quantity": ("quantity", "qty", "menge", "quantite", "aantal", "cantidad"),
    "unit": ("unit", "uom", "unit_of_measure", "einheit", "unite"),
    "unit_price": (
        "unit_price",
        "price",
        "unit_cost",
        "einzelpreis",
        "prix_unitaire",
        "prijs",
        "precio",
    ),
    "net_amount": (
        "net_amount",
        "line_amount",
        "line_total",
        "amount",
        "extended_price",
        "line_net",
        "betrag",
        "montant",
    ),
    "seller_item_id": (
        "seller_item_id",
        "sku",
        "item_number",
        "item_code",
        "product_code",
        "article_number",
        "artikelnummer",
    ),
    "buyer_item_id": ("buyer_item_id", "customer_item", "buyer_part_number"),
    "standard_item_id": ("standard_item_id", "gtin", "ean", "upc", "barcode"),
    "tax_rate": ("tax_rate", "vat_rate", "vat_percent", "tax_percent", "mwst_satz", "tva"),
    "tax_category": ("tax_category", "vat_category"),
    "line_tax": ("line_tax", "tax", "tax_amount", "vat", "vat_amount", "mwst"),
}
_LOOKUP = {name: f for f, names in _SYNONYMS.items() for name in names}
_NUMERIC = ("quantity", "unit_price", "net_amount", "line_tax", "tax_rate", "payable", "tax_total")
_DATES = ("issue_date", "due_date")
_CENT = Decimal("0.01")


def _normal(header: str) -> str:
    return re.sub(
        r"[^a-z0-9]+",
        "_",
        header.strip()
        .lower()
        .replace("ä", "ae")
        .replace("ü", "ue")
        .replace("ö", "oe")
        .replace("é", "e")
        .replace("è", "e"),
    ).strip("_")


@dataclass
class _Layout:
    """Which column holds which field, and how the file writes numbers and dates."""

    columns: dict[str, int]
    mark: str
    date_format: str | None
    ambiguous_dates: bool


@dataclass
class _Group:
    number: str
    first_row: int
    rows: list[tuple[int, list[str]]] = field(default_factory=list)


def read_csv(stream: BinaryIO, profile: Profile | None = None) -> Iterator[Invoice]:
    profile = profile or Profile()
    sample = stream.peek(SAMPLE)[:SAMPLE]  # type: ignore[attr-defined]
    encoding = profile.encoding or _encoding(sample)
    text_sample = sample.decode(encoding, errors="ignore")
    try:
        text = io.TextIOWrapper(stream, encoding=encoding, errors="replace", newline="")
    except LookupError:
        raise DigitizeError("bad_profile", f"Unknown encoding {encoding!r}.") from None
    delimiter = profile.delimiter or _delimiter(text_sample)
    rows = csv.reader(text, delimiter=delimiter)
    try:
        header = next(rows)
    except StopIteration:
        raise DigitizeError("empty", "The file is empty.") from None
    except csv.Error as exc:
        raise DigitizeError("bad_csv", f"The CSV cannot be read: {exc}.", "row 1") from None
    layout = _layout(header, profile, text_sample, delimiter)
    yield from _invoices(rows, layout)


def _encoding(sample: bytes) -> str:
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        best = from_bytes(sample).best()
        return best.encoding if best is not None else "cp1252"


def _delimiter(sample: str) -> str:
    try:
        return csv.Sniffer().sniff(sample[:20000], delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def _layout(header: list[str], profile: Profile, sample: str, delimiter: str) -> _Layout:
    names = [h.strip() for h in header]
    columns: dict[str, int] = {}
    if profile.columns:
        for f, title in profile.columns.items():
            if title not in names:
                raise DigitizeError(
                    "csv_missing_column",
                    f"The profile names a column {title!r} for {f}, which the file does not "
                    f"have (it has {', '.join(repr(n) for n in names)}).",
                    "row 1",
                )
            columns[f] = names.index(title)
    else:
        for i, title in enumerate(names):
            known = _LOOKUP.get(_normal(title))
            if known is not None and known not in columns:
                columns[known] = i
    if "invoice_number" not in columns or not {"quantity", "unit_price", "net_amount"} & set(
        columns
    ):
        raise DigitizeError(
            "csv_unknown_columns",
            "The columns are not recognised as an invoice export (it needs an invoice number "
            "and quantities, prices or amounts; found "
            f"{', '.join(repr(n) for n in names)}). A supplier profile can name them.",
            "row 1",
        )
    sample_rows = list(csv.reader(io.StringIO(sample), delimiter=delimiter))[1:200]
    values = [
        r[columns[f]] for r in sample_rows for f in _NUMERIC if f in columns and columns[f] < len(r)
    ]
    dates = [
        r[columns[f]].strip()
        for r in sample_rows
        for f in _DATES
        if f in columns and columns[f] < len(r) and r[columns[f]].strip()
    ]
    fmt, ambiguous = (profile.date_format, False) if profile.date_format else date_format(dates)
    return _Layout(columns, profile.decimal or decimal_mark(values), fmt, ambiguous)


def _invoices(rows: Iterator[list[str]], layout: _Layout) -> Iterator[Invoice]:
    key = layout.columns["invoice_number"]
    group: _Group | None = None
    index = 0
    row_number = 1
    try:
        for row in rows:
            row_number += 1
            if not any(cell.strip() for cell in row):
                continue
            number_text = row[key].strip() if key < len(row) else ""
            if group is not None and number_text != group.number:
                yield _invoice(group, layout, index)
                index += 1
                group = None
            if group is None:
                group = _Group(number_text, row_number)
            group.rows.append((row_number, row))
    except csv.Error as exc:
        raise DigitizeError(
            "bad_csv", f"The CSV cannot be read: {exc}.", f"row {row_number}"
        ) from None
    if group is not None:
        yield _invoice(group, layout, index)


def _invoice(group: _Group, layout: _Layout, index: int) -> Invoice:
    problems: list[Problem] = []
    first_row, first = group.rows[0]
    last_row = group.rows[-1][0]

    def cell(row: list[str], f: str) -> str:
        i = layout.columns.get(f)
        return row[i].strip() if i is not None and i < len(row) else ""

    def amount(row_number: int, row: list[str], f: str) -> Decimal | None:
        text = cell(row, f)
        if not text:
            return None
        try:
            return number(text, layout.mark)
        except ValueError:
            problems.append(
                Problem(
                    "bad_number", f"{text!r} is not a number.", "error", f"row {row_number}, {f}"
                )
            )
            return None

    def when(f: str) -> date | None:
        text = cell(first, f)
        if not text:
            return None
        try:
            return read_date(text, layout.date_format)
        except ValueError:
            problems.append(
                Problem("bad_date", f"{text!r} is not a date.", "error", f"row {first_row}, {f}")
            )
            return None

    for f in FIELDS:
        if f in LINE_FIELDS or f not in layout.columns:
            continue
        values = {cell(r, f) for _, r in group.rows} - {""}
        if len(values) > 1:
            problems.append(
                Problem(
                    "inconsistent_rows",
                    f"The rows of this invoice disagree on {f}: {', '.join(sorted(values))}.",
                    "warning",
                    f"rows {first_row}-{last_row}",
                )
            )
    if layout.ambiguous_dates:
        problems.append(
            Problem(
                "ambiguous_date",
                f"Dates like {cell(first, 'issue_date')!r} read either day or month first; "
                f"read as {layout.date_format}.",
                "warning",
                "issue_date",
            )
        )
    lines: list[Line] = []
    taxes: dict[Decimal | None, Decimal] = {}
    for row_number, row in group.rows:
        quantity = amount(row_number, row, "quantity")
        price = amount(row_number, row, "unit_price")
        net = amount(row_number, row, "net_amount")
        if net is None:
            net = (quantity if quantity is not None else Decimal(1)) * (price or Decimal(0))
        rate = amount(row_number, row, "tax_rate")
        tax = amount(row_number, row, "line_tax")
        if tax is None and rate is not None:
            tax = (net * rate / 100).quantize(_CENT, ROUND_HALF_UP)
        if tax is not None:
            taxes[rate] = taxes.get(rate, Decimal(0)) + tax
        lines.append(
            Line(
                line_id=cell(row, "line_id") or str(len(lines) + 1),
                quantity=quantity if quantity is not None else Decimal(1),
                net_amount=net,
                description=cell(row, "description") or None,
                unit=cell(row, "unit") or None,
                unit_price=price,
                seller_item_id=cell(row, "seller_item_id") or None,
                buyer_item_id=cell(row, "buyer_item_id") or None,
                standard_item_id=cell(row, "standard_item_id") or None,
                tax_category=cell(row, "tax_category") or None,
                tax_rate=rate,
            )
        )
    kind = cell(first, "document_type").lower()
    invoice = Invoice(
        invoice_number=group.number,
        source=Source(format="csv", index=index, rows=[first_row, last_row]),
        document_type="credit_note"
        if kind in ("credit_note", "credit", "381", "cn", "gutschrift", "avoir")
        else "invoice",
        type_code=cell(first, "document_type") or None,
        issue_date=when("issue_date"),
        due_date=when("due_date"),
        currency=cell(first, "currency").upper() or None,
        purchase_order=cell(first, "purchase_order") or None,
        buyer_reference=cell(first, "buyer_reference") or None,
        seller=_party(
            cell(first, "seller_name"), cell(first, "seller_id"), cell(first, "seller_tax_id")
        ),
        buyer=_party(
            cell(first, "buyer_name"), cell(first, "buyer_id"), cell(first, "buyer_tax_id")
        ),
        lines=lines,
        tax=[TaxSubtotal(tax_amount=amount_, rate=rate) for rate, amount_ in taxes.items()],
        notes=[cell(first, "note")] if cell(first, "note") else [],
        problems=problems,
    )
    tax_total = amount(first_row, first, "tax_total")
    if tax_total is not None:
        invoice.totals.tax_total = tax_total
    complete_totals(invoice, payable=amount(first_row, first, "payable"))
    return invoice


def _party(name: str, ident: str, tax_id: str) -> Party | None:
    if not (name or ident or tax_id):
        return None
    return Party(name=name or None, id=ident or None, tax_id=tax_id or None)
