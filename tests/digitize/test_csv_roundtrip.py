"""CSV exports written in every convention a spreadsheet uses read back to the invoices they
were written from: random invoices (numbers, dates, lines with quantity, price and amount,
discounts, totals that add up) written with a decimal point or comma, with or without
thousands separators or trailing zeros, currency signs, negatives with a minus or in
parentheses; dates in ISO, day-first, month-first, dotted or compact order, padded or not,
with or without a time; comma, semicolon, tab or bar delimiters, every field quoted or only
those that need it; columns in any order, under English or German headers, with one the
reader does not know; UTF-8 (with or without its byte order mark), cp1252 or UTF-16.

Every amount and date comes back equal, except what the file cannot tell: a slashed date
whose day and month could be either, in a file whose other dates prove no order, carries an
``ambiguous_date`` warning naming its row and field, and a number either decimal mark reads
(1,200), in a file none of whose numbers shows its mark, an ``ambiguous_number`` warning;
those, and only those."""

from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from invoiceflow.digitize import parse

CENT = Decimal("0.01")
NAMES = ("Acme Ltd", "Müller & Söhne GmbH", "Société Générale", "Ærø Øl ApS", "Café Zürich")
ITEMS = ("Paper", "Pens, blue", "Schrauben M4", 'Label "A"', "Crème fraîche")
RATES = (Decimal(0), Decimal(7), Decimal(19), Decimal("20"), Decimal("5.5"))
DATE_ORDERS = {
    "iso": "%Y-%m-%d",
    "day-first": "%d/%m/%Y",
    "month-first": "%m/%d/%Y",
    "dotted": "%d.%m.%Y",
    "compact": "%Y%m%d",
}
SLASHED = ("day-first", "month-first")
MISMATCHES = ("line_amount_mismatch", "line_total_mismatch", "payable_mismatch")
HEADERS = {
    "en": (
        "Invoice Number",
        "Invoice Date",
        "Due Date",
        "Currency",
        "Supplier",
        "Description",
        "Quantity",
        "Unit Price",
        "Amount",
        "VAT Rate",
        "Invoice Total",
    ),
    "de": (
        "Rechnungsnummer",
        "Rechnungsdatum",
        "Fälligkeit",
        "Währung",
        "Lieferant",
        "Bezeichnung",
        "Menge",
        "Einzelpreis",
        "Nettobetrag",
        "MwSt-Satz",
        "Gesamtbetrag",
    ),
}


@dataclass
class Row:
    description: str
    quantity: Decimal
    price: Decimal
    amount: Decimal
    rate: Decimal


@dataclass
class Made:
    number: str
    issued: date
    due: date | None
    seller: str
    rows: list[Row]

    @property
    def tax(self) -> Decimal:
        return sum(
            ((r.amount * r.rate / 100).quantize(CENT, ROUND_HALF_UP) for r in self.rows),
            Decimal(0),
        )

    @property
    def payable(self) -> Decimal:
        return sum((r.amount for r in self.rows), Decimal(0)) + self.tax


@dataclass
class Convention:
    mark: str
    group: str  # the thousands separator, "" for none
    dates: str
    delimiter: str
    encoding: str
    newline: str
    language: str
    trim: bool  # trailing zeros left out: 12.5 for 12.50, 3 for 3.000
    negative: str  # "-" for -12.50, "()" for the accountant's (12.50)
    symbol: str  # before or after each amount of money: "$", "€ ", " EUR"...
    quote_all: bool  # every field in quotes, not only those that need them
    padded: bool  # 01/07/2026, not 1/7/2026
    time: str  # a time after the date, as spreadsheets write dates that are date-times
    order: list[int]  # the columns' order in the file
    total: str  # the invoice total's header
    amount: str  # the line amount's header


quantities = st.one_of(
    st.integers(1, 5000).map(Decimal),
    st.decimals(Decimal("0.001"), Decimal("999.999"), places=3),
)
prices = st.decimals(Decimal("0.01"), Decimal("99999.99"), places=2)
days = st.dates(date(2000, 1, 1), date(2035, 12, 31))


@st.composite
def line(draw: st.DrawFn, coarse: bool) -> Row:
    """A line; a ``coarse`` one has only whole numbers, or prices to the thousandth of
    a thousand units, and no tax: numbers that may show neither decimal mark."""
    rate = Decimal(0) if coarse else draw(st.sampled_from(RATES))
    if not coarse:
        quantity, price = draw(quantities), draw(prices)
        if draw(st.integers(0, 4)) == 0:
            price = -price  # a discount or a returned item
    elif draw(st.booleans()):
        quantity, price = Decimal(draw(st.integers(1, 5000))), Decimal(draw(st.integers(1, 99999)))
    else:
        quantity, price = Decimal(1000), draw(st.decimals(Decimal("0.001"), 999, places=3))
    amount = (quantity * price).quantize(CENT, ROUND_HALF_UP)
    return Row(draw(st.sampled_from(ITEMS)), quantity, price, amount, rate)


@st.composite
def invoices(draw: st.DrawFn) -> list[Made]:
    made = []
    coarse = draw(st.integers(0, 3)) == 0
    for n in range(draw(st.integers(1, 4))):
        issued = draw(days)
        due = issued + timedelta(days=draw(st.integers(0, 90)))
        rows = [draw(line(coarse)) for _ in range(draw(st.integers(1, 4)))]
        made.append(
            Made(
                f"INV-{n + 1:04d}",
                issued,
                due if draw(st.booleans()) else None,
                draw(st.sampled_from(NAMES)),
                rows,
            )
        )
    return made


@st.composite
def conventions(draw: st.DrawFn) -> Convention:
    mark = draw(st.sampled_from([".", ","]))
    groups = ["", " ", "\u00a0", "'", "," if mark == "." else "."]
    return Convention(
        mark=mark,
        group=draw(st.sampled_from(groups)),
        dates=draw(st.sampled_from(sorted(DATE_ORDERS))),
        delimiter=draw(st.sampled_from([",", ";", "\t", "|"])),
        encoding=draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16"])),
        newline=draw(st.sampled_from(["\r\n", "\n"])),
        language=draw(st.sampled_from(sorted(HEADERS))),
        trim=draw(st.booleans()),
        negative=draw(st.sampled_from(["-", "()"])),
        symbol=draw(st.sampled_from(["", "$", "€ ", "£", " €"])),
        quote_all=draw(st.booleans()),
        padded=draw(st.booleans()),
        time=draw(st.sampled_from(["", " 00:00", " 0:00", " 00:00:00", "T00:00:00"])),
        order=draw(st.permutations(range(len(HEADERS["en"]) + 1))),
        total=draw(st.sampled_from(["", "Total", "Grand Total", "Summe"])),
        amount=draw(st.sampled_from(["", "Total", "Line Total", "Extended Price", "Betrag"])),
    )


def when(day: date, c: Convention) -> str:
    """``day`` as a spreadsheet in convention ``c`` writes it."""
    text = day.strftime(DATE_ORDERS[c.dates])
    if not c.padded and c.dates in (*SLASHED, "dotted"):
        text = re.sub(r"\b0(\d)", r"\1", text)
    return text + c.time


def money(value: Decimal, c: Convention) -> str:
    """An amount of money as a spreadsheet in convention ``c`` writes it."""
    text = written(abs(value), c)
    text = f"{text}{c.symbol}" if c.symbol.startswith(" ") else f"{c.symbol}{text}"
    if value >= 0:
        return text
    return f"({text})" if c.negative == "()" else f"-{text}"


def written(value: Decimal, c: Convention) -> str:
    """``value`` as a spreadsheet in convention ``c`` writes it."""
    whole, fraction = _parts(value, c)
    if c.group:
        groups = []
        while len(whole) > 3:
            whole, last = whole[:-3], whole[-3:]
            groups.insert(0, last)
        whole = c.group.join([whole, *groups])
    return f"{whole}{c.mark}{fraction}" if fraction else whole


def _parts(value: Decimal, c: Convention) -> tuple[str, str]:
    value = abs(value)
    whole, _, fraction = f"{value.normalize() if c.trim else value:f}".partition(".")
    return whole, fraction


def shows_mark(value: Decimal, c: Convention) -> bool:
    """Whether ``value`` written in ``c`` shows the file's decimal mark: only one mark
    reads it, as with 12,5, 0,125, 1234,567 or 1.234,5 (or 1.234.567, whose dots can only
    group thousands)."""
    whole, fraction = _parts(value, c)
    if fraction:
        return len(fraction) != 3 or whole == "0" or len(whole) > 3
    return c.group in (".", ",") and len(whole) > 6


def either_way(value: Decimal, c: Convention) -> bool:
    """Whether ``value`` written in ``c`` reads differently with either decimal mark:
    1,125 or 1.200, one separator followed by three digits."""
    whole, fraction = _parts(value, c)
    if fraction:
        return len(fraction) == 3 and whole != "0" and len(whole) <= 3
    return c.group in (".", ",") and 3 < len(whole) <= 6


def csv_file(made: list[Made], c: Convention) -> bytes:
    out = io.StringIO()
    quoting = csv.QUOTE_ALL if c.quote_all else csv.QUOTE_MINIMAL
    writer = csv.writer(out, delimiter=c.delimiter, lineterminator=c.newline, quoting=quoting)
    headers = [*HEADERS[c.language], "Internal Ref"]
    if c.total:
        headers[10] = c.total
    if c.amount:
        headers[8] = c.amount
        if c.amount == "Total" and c.total in ("Total", "Summe"):
            headers[10] = "Grand Total"  # one column headed only Total is all a file has
    writer.writerow([headers[i] for i in c.order])
    for inv in made:
        for n, row in enumerate(inv.rows):
            cells = [
                inv.number,
                when(inv.issued, c),
                when(inv.due, c) if inv.due else "",
                "EUR",
                inv.seller,
                row.description,
                written(row.quantity, c),
                money(row.price, c),
                money(row.amount, c),
                written(row.rate, c),
                money(inv.payable, c),
                f"line {n + 1}; see {inv.number}",  # a column the reader does not know
            ]
            writer.writerow([cells[i] for i in c.order])
    text = out.getvalue()
    if c.encoding == "utf-16":
        return codecs.BOM_UTF16_LE + text.encode("utf-16-le")
    return text.encode(c.encoding)


def ambiguous(day: date, c: Convention) -> bool:
    return c.dates in SLASHED and day.day != day.month and day.day <= 12


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(invoices(), conventions())
def test_a_csv_export_reads_back_as_written_or_says_which_dates_it_cannot_tell(
    made: list[Made], c: Convention
) -> None:
    data = csv_file(made, c)
    read = list(parse(data))
    numbers = {
        inv.number: [
            {
                "quantity": r.quantity,
                "unit_price": r.price,
                "net_amount": r.amount,
                "tax_rate": r.rate,
                "payable": inv.payable,
            }
            for r in inv.rows
        ]
        for inv in made
    }
    # A number only one decimal mark reads shows the file's mark for all the others; a
    # slashed date whose day is over 12 proves the file's order for all the others.
    mark_shown = any(
        shows_mark(v, c) for rows in numbers.values() for cells in rows for v in cells.values()
    )
    proven = c.dates in SLASHED and any(
        d.day > 12 for inv in made for d in (inv.issued, inv.due) if d is not None
    )
    assert [inv.invoice_number for inv in read] == [inv.number for inv in made]
    first_row = 2
    for inv, want in zip(read, made, strict=True):
        where = f"invoice {want.number} of {c}"
        assert inv.source.rows == [first_row, first_row + len(want.rows) - 1], where
        assert inv.seller and inv.seller.name == want.seller, where
        assert inv.currency == "EUR", where
        assert [ln.description for ln in inv.lines] == [r.description for r in want.rows]
        unclear = []  # numbers either mark reads, in a file that shows neither
        for n, (line, cells) in enumerate(zip(inv.lines, numbers[want.number], strict=True)):
            read = {f: getattr(line, f) for f in ("quantity", "unit_price", "net_amount")}
            read |= {"tax_rate": line.tax_rate, "payable": inv.totals.payable}
            for f, value in cells.items():
                if f == "payable" and n > 0:
                    continue  # the invoice's total is read from its first row
                if not mark_shown and either_way(value, c):
                    unclear.append(f"row {first_row + n}, {f}")
                else:
                    assert read[f] == value, (f, n, where)
        locations = sorted(p.location or "" for p in inv.problems if p.code == "ambiguous_number")
        assert locations == sorted(unclear), where
        if not unclear:
            assert inv.totals.tax_total == want.tax, where
        flagged = []
        for field, day in (("issue_date", want.issued), ("due_date", want.due)):
            if day is not None and ambiguous(day, c) and not proven:
                flagged.append(f"row {first_row}, {field}")
            else:
                assert getattr(inv, field) == day, (field, where)
        assert [p.location for p in inv.problems if p.code == "ambiguous_date"] == flagged, where
        # a date read the other way round may put the due date before the issue date, a
        # number read the other way round may not add up
        allowed = {"ambiguous_date", "due_before_issue"} if flagged else set()
        if unclear:
            allowed |= {"ambiguous_number", *MISMATCHES}
        assert [p for p in inv.problems if p.code not in allowed] == [], where
        first_row += len(want.rows)
