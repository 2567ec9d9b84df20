"""CSV invoice exports: one row per invoice line, the invoice's own fields repeated on each
row, rows of one invoice next to each other.

The columns are recognised from their headers (in English, German, French, Dutch and
Spanish spellings of the usual names) or named by a supplier profile. The encoding, the
delimiter and the decimal mark are detected from the first 64 KiB unless the profile says.
Dates are read in any of ``numbers.DATE_FORMATS`` (ISO 2026-07-11, 11.07.2026, 11/07/2026,
07/11/2026, 20260711..., a time after them left out) unless the profile names one format.
Only a slashed date can be read both ways round, and its order is what the file's dates
prove: a date whose first number is over 12 (25/07/2026), in the first 64 KiB or in a row
read before, proves day first; one whose second number is (07/25/2026), month first. A
slashed date whose day and month are both 12 or less and differ (11/07/2026) is read in the
proven order; when the file proves neither order (its other dates are ISO, or all both ways
readable) or proves both, it is read day first with an ``ambiguous_date`` warning naming
the row, the field and the date it was read as, never swapped silently.

The decimal mark is the one the numbers of the first 64 KiB show: a number only one mark
reads (``12,5``, ``0,125``, ``1234,567``, ``1.234,56`` and ``1.234.567`` show a decimal
comma; a thousands group never starts after a lone 0). When none shows it, the file is read
with a decimal point, and a number either mark reads differently (``1,200``, ``1.125``: one
separator followed by three digits) gets an ``ambiguous_number`` warning naming the row,
the field and both readings. A number that does not fit the file's decimal mark is read
with the other mark only when that is unambiguous (``18,50`` in a file of ``4.50``: one or
two digits after the last separator, which a thousands separator never has), with a
``mixed_number_format`` warning; otherwise it is refused as ``bad_number``, never read
scaled. A line's amount (Total, Line
Total, Amount, Net Amount, Extended Price and their synonyms) is checked against its
quantity times its price; a row with only an amount is a quantity of 1. A column headed only
"Total" is the line amount unless the file has another line-amount column, or it repeats one
value on every row of an invoice where quantity times price says otherwise: then it is the
invoice total (see ``_ambiguous_total``). Rows are read one at a time and each becomes its
line at once: memory holds one invoice's lines, not the file (see ``limits`` for the bounds
on rows and lines).
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import re
from collections.abc import Iterator
from decimal import Decimal, DecimalException
from typing import BinaryIO

from charset_normalizer import from_bytes

from invoiceflow.digitize import limits
from invoiceflow.digitize.csv_builder import InvoiceRows, Layout
from invoiceflow.digitize.errors import DigitizeError
from invoiceflow.digitize.model import Invoice
from invoiceflow.digitize.numbers import (
    DateOrder,
    date_readings,
    decimal_mark,
    decimal_marks,
    number,
)
from invoiceflow.digitize.profiles import Profile

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
        "line_net_amount",
        "amount",
        "net",
        "net_total",
        "extended_price",
        "extended_amount",
        "ext_price",
        "extension",
        "line_net",
        "betrag",
        "nettobetrag",
        "positionsbetrag",
        "gesamtpreis",
        "montant",
        "montant_ht",
        "montant_net",
        "total_ligne",
        "bedrag",
        "nettobedrag",
        "regelbedrag",
        "importe",
        "importe_neto",
        "total_linea",
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
# A column only called "Total" may hold each line's amount or the invoice's total; which one
# is decided by ``_ambiguous_total``.
_TOTAL = ("total", "totaal", "summe", "gesamt")
_NUMERIC = ("quantity", "unit_price", "net_amount", "line_tax", "tax_rate", "payable", "tax_total")
_DATES = ("issue_date", "due_date")


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


class _Rows:
    """The text's lines for csv.reader, refusing a row longer than ``limits.MAX_ROW``
    characters before it is held: a row of a 50 MB file with no line break would otherwise
    be read whole, and split into millions of fields."""

    def __init__(self, text: io.TextIOBase) -> None:
        self.text = text
        self.row = 0  # characters of the row being read

    def __iter__(self) -> _Rows:
        return self

    def __next__(self) -> str:
        line = self.text.readline(limits.MAX_ROW + 1)
        if not line:
            raise StopIteration
        self.row += len(line)
        if self.row > limits.MAX_ROW:
            raise limits.segment_too_long("A CSV row", None, limits.MAX_ROW)
        return line


def read_csv(stream: BinaryIO, profile: Profile | None = None) -> Iterator[Invoice]:
    profile = profile or Profile()
    sample = stream.peek(SAMPLE)[:SAMPLE]  # type: ignore[attr-defined]
    encoding = profile.encoding or _encoding(sample)
    try:
        codecs.lookup(encoding)
        text_sample = sample.decode(encoding, errors="ignore")
        text = io.TextIOWrapper(stream, encoding=encoding, errors="replace", newline="")
    except (LookupError, UnicodeError):
        raise DigitizeError("bad_profile", f"Unknown encoding {encoding!r}.") from None
    delimiter = profile.delimiter or _delimiter(text_sample)
    lines = _Rows(text)
    rows = csv.reader(lines, delimiter=delimiter)
    try:
        header = next(rows)
    except StopIteration:
        raise DigitizeError("empty", "The file is empty.") from None
    except csv.Error as exc:
        raise DigitizeError("bad_csv", f"The CSV cannot be read: {exc}.", "row 1") from None
    layout = _layout(header, profile, text_sample, delimiter)
    lines.row = 0
    yield from _invoices(rows, lines, layout)


def _encoding(sample: bytes) -> str:
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    # A stray bad byte in a UTF-8 file (a cut, a pasted symbol) leaves its many good
    # multi-byte characters standing: the file is UTF-8, the stray byte read as U+FFFD.
    # Text in a code page makes almost no valid multi-byte UTF-8 sequence.
    text = sample.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    if sum(ord(c) > 127 for c in text) - bad >= 4 * bad:
        return "utf-8"
    # A full sample may end inside a character: the code pages are judged on whole lines.
    whole = sample[: sample.rfind(b"\n") + 1] or sample
    return _legacy_encoding(whole)


# The code pages spreadsheets write CSV in when not in Unicode, the most used first: those
# of the Latin alphabets (Western, Central European, Baltic, Turkish), of Cyrillic and
# Greek, and the double-byte ones of Chinese, Japanese and Korean.
_LATIN = ("cp1252", "cp1250", "cp1257", "cp1254")
_OTHER = ("cp1251", "cp1253")
_DOUBLE = ("gb18030", "cp932", "big5", "cp949")
_HIGH = re.compile(rb"[\x80-\xff]+")


def _legacy_encoding(sample: bytes) -> str:
    """The code page of a sample that is not UTF-8. When the bytes over 127 come mostly one
    at a time between ASCII characters (Müller, Ærø, € 12.50), the text is in a Latin
    alphabet: of the Latin code pages, the one reading the fewest of them as a symbol
    stuck to a letter (``£ódŸ`` is Łódź read in the Western page, which therefore loses to
    the Central European one), the Western one on a tie. When most come in runs (every
    character of Chinese takes two bytes, every letter of Russian one), the code page is
    the one whose reading charset_normalizer finds least garbled. Its own best guess is
    not taken: for a few accented names among ASCII it returned Central European (Ærø
    read as Ćrř) or GB18030 (Müller read as M黮ler) for files in the Western page."""
    runs = [len(run) for run in _HIGH.findall(sample)]
    if sum(n for n in runs if n > 1) * 2 <= sum(runs):
        return min(_LATIN, key=lambda page: (_stuck_symbols(sample, page), _LATIN.index(page)))
    pages = (*_OTHER, *_DOUBLE, *_LATIN)
    best: tuple[float, int] | None = None
    for match in from_bytes(sample, cp_isolation=list(pages)):
        found = [
            pages.index(n) for n in (match.encoding, *match.could_be_from_charset) if n in pages
        ]
        rank = (round(match.chaos, 2), min(found, default=len(pages)))
        best = rank if found and (best is None or rank < best) else best
    return pages[best[1]] if best is not None else "cp1252"


def _stuck_symbols(sample: bytes, page: str) -> int:
    """How many characters over 127 of ``sample`` read in ``page`` are symbols next to a
    letter; every byte the page does not define counts many."""
    text = sample.decode(page, errors="replace")  # one character a byte: the same places
    count = 0
    for run in _HIGH.finditer(sample):
        for i in range(run.start(), run.end()):
            if text[i] == "\ufffd":
                count += 100
            elif not text[i].isalpha():
                count += any(c.isalpha() for c in text[max(i - 1, 0) : i] + text[i + 1 : i + 2])
    return count


_DELIMITERS = ",;\t|"


def _delimiter(sample: str) -> str:
    """The delimiter that splits the sample's rows, read as CSV (quoted fields and all),
    into as many fields as its header, in the most rows; more fields on a tie. A delimiter
    inside a quoted field (``"Pens; blue"``) does not count, as it did for csv.Sniffer,
    which gave up on a one-row file of semicolons with one in a description, leaving the
    file read with commas and its columns unrecognised. csv.Sniffer is asked only when no
    delimiter splits the header."""
    text = sample[:20000]
    if "\n" in text and not text.endswith(("\n", "\r")):
        text = text[: text.rfind("\n")]  # a row the sample's end may have cut
    best: tuple[int, int] | None = None
    chosen = ""
    for delimiter in _DELIMITERS:
        try:
            rows = list(itertools.islice(csv.reader(io.StringIO(text), delimiter=delimiter), 200))
        except csv.Error:
            continue
        rows = [row for row in rows if any(cell.strip() for cell in row)]
        if not rows or len(rows[0]) < 2:
            continue
        score = (sum(len(row) == len(rows[0]) for row in rows), len(rows[0]))
        if best is None or score > best:
            best, chosen = score, delimiter
    if chosen:
        return chosen
    try:
        return csv.Sniffer().sniff(sample[:20000], delimiters=_DELIMITERS).delimiter
    except csv.Error:
        return ","


def _layout(header: list[str], profile: Profile, sample: str, delimiter: str) -> Layout:
    names = [h.strip() for h in header]
    sample_rows = _sample_rows(sample, delimiter)
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
        total = None
        for i, title in enumerate(names):
            known = _LOOKUP.get(_normal(title))
            if known is not None and known not in columns:
                columns[known] = i
            elif _normal(title) in _TOTAL and total is None:
                total = i
        if total is not None:
            _ambiguous_total(columns, total, sample_rows)
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
    values = [
        r[columns[f]] for r in sample_rows for f in _NUMERIC if f in columns and columns[f] < len(r)
    ]
    dates = [
        r[columns[f]].strip()
        for r in sample_rows
        for f in _DATES
        if f in columns and columns[f] < len(r) and r[columns[f]].strip()
    ]
    order = DateOrder()
    for text in dates:
        order.learn(date_readings(text))
    mark, shown = (profile.decimal, True) if profile.decimal else decimal_marks(values)
    return Layout(columns, mark, shown, profile.date_format, order)


def _ambiguous_total(columns: dict[str, int], total: int, rows: list[list[str]]) -> None:
    """Maps a column headed only "Total" (or Totaal, Summe, Gesamt) to the line amount or
    to the invoice's payable amount, whichever the file lacks; when it lacks both, the
    sample rows decide. The column is the invoice total when, in every invoice of the
    sample with several rows, it holds the same value on every row and some row's quantity
    times price is not that value: the invoice's own field, repeated on its lines as the
    other invoice fields are. Otherwise (its value varies between the lines of an
    invoice, every invoice has one row, or nothing contradicts it) it is the line amount."""
    if "net_amount" in columns:
        columns.setdefault("payable", total)
        return
    if "payable" in columns or not _repeated_on_each_invoice(columns, total, rows):
        columns["net_amount"] = total
    else:
        columns["payable"] = total


def _repeated_on_each_invoice(columns: dict[str, int], total: int, rows: list[list[str]]) -> bool:
    key = columns.get("invoice_number", -1)
    groups: list[list[list[str]]] = []
    for row in rows:
        if not any(cell.strip() for cell in row) or max(key, total) >= len(row):
            continue
        if groups and groups[-1][0][key].strip() == row[key].strip():
            groups[-1].append(row)
        else:
            groups.append([row])
    several = [g for g in groups if len(g) > 1]
    if not several or any(len({r[total].strip() for r in g}) > 1 for g in several):
        return False
    mark = decimal_mark(r[total] for g in several for r in g)
    for row in (r for g in several for r in g):
        cells = [
            row[columns[f]] if columns.get(f, len(row)) < len(row) else ""
            for f in ("quantity", "unit_price")
        ]
        try:
            quantity, price, value = (number(c, mark) for c in (*cells, row[total]))
            if abs(quantity * price - value) > Decimal("0.01"):
                return True
        except (ValueError, DecimalException):
            continue
    return False


def _sample_rows(sample: str, delimiter: str) -> list[list[str]]:
    """Up to 199 data rows of the sample, to detect number and date formats; a sample cut
    in the middle of a quoted field ends where it can no longer be read."""
    rows: list[list[str]] = []
    try:
        for row in csv.reader(io.StringIO(sample), delimiter=delimiter):
            rows.append(row)
            if len(rows) >= 200:
                break
    except csv.Error:
        pass
    return rows[1:]


def _invoices(rows: Iterator[list[str]], lines: _Rows, layout: Layout) -> Iterator[Invoice]:
    key = layout.columns["invoice_number"]
    group: InvoiceRows | None = None
    index = 0
    row_number = 1
    try:
        for row in rows:
            lines.row = 0
            row_number += 1
            if not any(cell.strip() for cell in row):
                continue
            number_text = row[key].strip() if key < len(row) else ""
            if group is not None and number_text == group.number:
                group.add(row_number, row)
                continue
            if group is not None:
                yield group.invoice(index)
                index += 1
            group = InvoiceRows(number_text, row_number, row, layout)
    except csv.Error as exc:
        raise DigitizeError(
            "bad_csv", f"The CSV cannot be read: {exc}.", f"row {row_number}"
        ) from None
    if group is not None:
        yield group.invoice(index)
