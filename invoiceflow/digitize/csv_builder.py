"""One CSV invoice built row by row: each row becomes its compact ``Line`` as it is read, so
memory holds the invoice's lines, never its raw rows, and an invoice past
``limits.MAX_LINES`` is refused as soon as it passes the limit."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, DecimalException

from invoiceflow.digitize import limits
from invoiceflow.digitize.model import Invoice, Line, Party, Problem, Source, TaxSubtotal
from invoiceflow.digitize.numbers import (
    DAY_FIRST,
    GROUPED,
    DateOrder,
    date_readings,
    number,
    read_date,
)
from invoiceflow.digitize.profiles import FIELDS, LINE_FIELDS
from invoiceflow.digitize.totals import complete_totals
from invoiceflow.digitize.values import shown

_CENT = Decimal("0.01")
_SHOWN = 10  # differing values of a header field named in the inconsistent_rows problem
_CREDIT = ("credit_note", "credit", "381", "cn", "gutschrift", "avoir")


@dataclass
class Layout:
    """Which column holds which field, and how the file writes numbers and dates."""

    columns: dict[str, int]
    mark: str
    mark_shown: bool  # the profile names the mark, or the file's numbers show it
    date_format: str | None  # the profile's: every date is read with it, and only with it
    dates: DateOrder  # otherwise: the order the file's dates show, learnt as they are read


class InvoiceRows:
    """The rows of one invoice, read so far."""

    def __init__(self, number: str, row_number: int, row: list[str], layout: Layout) -> None:
        self.number = number
        self.layout = layout
        self.first_row = self.last_row = row_number
        self.first = row
        self.problems: list[Problem] = []
        self.mixed = False  # a mixed_number_format warning has been given
        self.lines: list[Line] = []
        self.taxes: dict[Decimal | None, Decimal] = {}
        self.header = [f for f in FIELDS if f not in LINE_FIELDS and f in layout.columns]
        self.values: dict[str, set[str]] = {f: set() for f in self.header}
        self.add(row_number, row)

    def cell(self, row: list[str], f: str) -> str:
        i = self.layout.columns.get(f)
        return row[i].strip() if i is not None and i < len(row) else ""

    def amount(self, row_number: int, row: list[str], f: str) -> Decimal | None:
        text = self.cell(row, f)
        if not text:
            return None
        mark = self.layout.mark
        quoted = shown(text)
        other = _other_mark(text, mark)
        if other is False:
            self.problems.append(
                Problem(
                    "bad_number",
                    f"{quoted!r} does not fit the file's decimal mark {mark!r}, and cannot be "
                    "told apart from a number with the other mark.",
                    "error",
                    f"row {row_number}, {f}",
                )
            )
            return None
        try:
            value = number(text, "," if mark == "." else ".") if other else number(text, mark)
        except ValueError:
            self.problems.append(
                Problem(
                    "bad_number", f"{quoted!r} is not a number.", "error", f"row {row_number}, {f}"
                )
            )
            return None
        if other is None and not self.layout.mark_shown and GROUPED.match(text.translate(_NOISE)):
            self.problems.append(
                Problem(
                    "ambiguous_number",
                    f"{quoted!r} reads as {number(text, '.')} or {number(text, ',')} "
                    "(thousands separator or decimal mark), and no other number of the file "
                    f"shows which its decimal mark is; read as {value}.",
                    "warning",
                    f"row {row_number}, {f}",
                )
            )
        if other and not self.mixed:
            self.mixed = True
            self.problems.append(
                Problem(
                    "mixed_number_format",
                    f"{quoted!r} is written with the other decimal mark than the rest of the "
                    f"file ({mark!r}); read as {value}.",
                    "warning",
                    f"row {row_number}, {f}",
                )
            )
        return value

    def add(self, row_number: int, row: list[str]) -> None:
        """File one row as a line of this invoice."""
        self.last_row = row_number
        limits.check_lines(len(self.lines) + 1, f"row {row_number}")
        for f in self.header:
            seen = self.values[f]
            if len(seen) <= _SHOWN:
                seen.add(self.cell(row, f))
        quantity = self.amount(row_number, row, "quantity")
        price = self.amount(row_number, row, "unit_price")
        net = self.amount(row_number, row, "net_amount")
        if net is not None and quantity is not None and price is not None:
            self._reconcile(row_number, quantity, price, net)
        if net is None:
            net = (quantity if quantity is not None else Decimal(1)) * (price or Decimal(0))
        rate = self.amount(row_number, row, "tax_rate")
        tax = self.amount(row_number, row, "line_tax")
        if tax is None and rate is not None:
            try:
                tax = (net * rate / 100).quantize(_CENT, ROUND_HALF_UP)
            except DecimalException:  # too many digits to round to the cent
                self.problems.append(
                    Problem(
                        "bad_number",
                        f"The tax on {net} at {rate}% is too large to be an amount.",
                        "error",
                        f"row {row_number}, tax_rate",
                    )
                )
        if tax is not None:
            self.taxes[rate] = self.taxes.get(rate, Decimal(0)) + tax
        cell = self.cell
        self.lines.append(
            Line(
                line_id=cell(row, "line_id") or str(len(self.lines) + 1),
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

    def _reconcile(self, row_number: int, quantity: Decimal, price: Decimal, net: Decimal) -> None:
        """A ``line_amount_mismatch`` when the row's amount is not its quantity times its
        price: compared at the cent, allowing a cent and what the price's own rounding can
        make of the quantity (a price of 0.33 may stand for 0.3333...)."""
        try:
            expected = quantity * price
            exponent = price.as_tuple().exponent
            slack = (
                abs(quantity) * Decimal(5).scaleb(exponent - 1)
                if isinstance(exponent, int) and exponent < 0
                else Decimal(0)
            )
            off = abs(net.quantize(_CENT, ROUND_HALF_UP) - expected.quantize(_CENT, ROUND_HALF_UP))
        except DecimalException:  # too many digits to round to the cent: compare as they are
            expected = quantity * price
            slack, off = Decimal(0), abs(net - expected)
        if off > _CENT + slack:
            self.problems.append(
                Problem(
                    "line_amount_mismatch",
                    f"Row {row_number} has the line amount {net}, but {quantity} x {price} "
                    f"come to {expected}.",
                    "error",
                    f"row {row_number}",
                )
            )

    def when(self, f: str) -> date | None:
        """The date in field ``f`` of the invoice's first row. Without a profile's format,
        a date is read by whichever of the known formats reads it; a slashed date that reads
        differently day first and month first (03/04/2024) is read in the order the file's
        other dates prove, and when they prove none it is read day first with an
        ``ambiguous_date`` warning saying so, never swapped silently."""
        text = self.cell(self.first, f)
        if not text:
            return None
        where = f"row {self.first_row}, {f}"
        fmt = self.layout.date_format
        if fmt:
            try:
                return read_date(text, fmt)
            except ValueError:
                self._bad_date(text, where)
                return None
        readings = date_readings(text)
        order = self.layout.dates
        order.learn(readings)
        read = set(readings.values())
        if len(read) == 1:
            return read.pop()
        if not read:
            self._bad_date(text, where)
            return None
        proven = order.proven
        if proven in readings:
            return readings[proven]
        value = readings[DAY_FIRST]
        others = ", ".join(str(d) for d in sorted(read - {value}))
        why = (
            "the file's other dates are written both ways round"
            if order.day_first and order.month_first
            else "no other date of the file shows which comes first"
        )
        self.problems.append(
            Problem(
                "ambiguous_date",
                f"{shown(text)!r} reads day first as {value} or month first as {others}, and "
                f"{why}; "
                f"read day first, as {value}.",
                "warning",
                where,
            )
        )
        return value

    def _bad_date(self, text: str, where: str) -> None:
        self.problems.append(Problem("bad_date", f"{shown(text)!r} is not a date.", "error", where))

    def invoice(self, index: int) -> Invoice:
        """The invoice these rows make, its totals completed."""
        problems, first, cell = self.problems, self.first, self.cell
        where = f"rows {self.first_row}-{self.last_row}"
        problems[:0] = [
            Problem(
                "inconsistent_rows",
                f"The rows of this invoice disagree on {f}: {_listed(self.values[f])}.",
                "warning",
                where,
            )
            for f in self.header
            if len(self.values[f] - {""}) > 1
        ]
        kind = cell(first, "document_type").lower()
        invoice = Invoice(
            invoice_number=self.number,
            source=Source(format="csv", index=index, rows=[self.first_row, self.last_row]),
            document_type="credit_note" if kind in _CREDIT else "invoice",
            type_code=cell(first, "document_type") or None,
            issue_date=self.when("issue_date"),
            due_date=self.when("due_date"),
            currency=cell(first, "currency").upper() or None,
            purchase_order=cell(first, "purchase_order") or None,
            buyer_reference=cell(first, "buyer_reference") or None,
            seller=_party(
                cell(first, "seller_name"), cell(first, "seller_id"), cell(first, "seller_tax_id")
            ),
            buyer=_party(
                cell(first, "buyer_name"), cell(first, "buyer_id"), cell(first, "buyer_tax_id")
            ),
            lines=self.lines,
            tax=[TaxSubtotal(tax_amount=amount, rate=rate) for rate, amount in self.taxes.items()],
            notes=[cell(first, "note")] if cell(first, "note") else [],
            problems=problems,
        )
        tax_total = self.amount(self.first_row, first, "tax_total")
        if tax_total is not None:
            invoice.totals.tax_total = tax_total
        complete_totals(invoice, payable=self.amount(self.first_row, first, "payable"))
        return invoice


_NOISE = str.maketrans("", "", " \u00a0\u202f'$€£¥+-()")
_FITS = {  # what the file's own mark allows: the other mark only between groups of three
    ".": re.compile(r"^[^,]*$|^([1-9]\d{0,2}(,\d{3})+|[1-9]\d?(,\d{2})*,\d{3})(\.\d*)?$"),  # lakh
    ",": re.compile(r"^[^.]*$|^[1-9]\d{0,2}(\.\d{3})+(,\d*)?$"),
}  # a group never starts with 0: 0,125 is a decimal comma, not 125
_OTHER = {  # unambiguously the other mark: it comes last, with one or two digits after it
    ".": re.compile(r"^(\d{1,3}(\.\d{3})+|\d+),\d{1,2}$"),
    ",": re.compile(r"^(\d{1,3}(,\d{3})+|\d+)\.\d{1,2}$"),
}


def _other_mark(text: str, mark: str) -> bool | None:
    """None when ``text`` fits the file's decimal mark ``mark`` (or has no mark at all), True
    when it can only be a number written with the other mark (``18,50`` in a file of
    ``4.50``: a thousands separator is always followed by three digits), False when it fits
    neither (``18,5000`` in that file), and must be refused rather than read either way."""
    value = text.translate(_NOISE)
    if _FITS[mark].match(value):
        return None
    return bool(_OTHER[mark].match(value))


def _listed(values: set[str]) -> str:
    shown = sorted(values - {""})
    more = " and more" if len(shown) > _SHOWN else ""
    return ", ".join(shown[:_SHOWN]) + more


def _party(name: str, ident: str, tax_id: str) -> Party | None:
    if not (name or ident or tax_id):
        return None
    return Party(name=name or None, id=ident or None, tax_id=tax_id or None)
