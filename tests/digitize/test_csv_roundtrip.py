"""CSV exports written in every convention a spreadsheet uses read back to the invoices they
were written from: random invoices (numbers, dates, lines with quantity, price and amount,
totals that add up) written with a decimal point or comma, with or without thousands
separators, dates in ISO, day-first or month-first order, comma, semicolon or tab
delimiters, and UTF-8 (with or without its byte order mark), cp1252 or UTF-16. Every amount
and date comes back equal, except a date the file cannot tell (a slashed date whose day and
month could be either, in a file whose other dates prove no order): that date, and only
that one, carries an ``ambiguous_date`` warning naming its row and field."""

from __future__ import annotations

import codecs
import csv
import io
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


quantities = st.one_of(
    st.integers(1, 5000).map(Decimal),
    st.decimals(Decimal("0.001"), Decimal("999.999"), places=3),
)
prices = st.decimals(Decimal("0.01"), Decimal("99999.99"), places=2)
days = st.dates(date(2000, 1, 1), date(2035, 12, 31))


@st.composite
def invoices(draw: st.DrawFn) -> list[Made]:
    made = []
    for n in range(draw(st.integers(1, 4))):
        issued = draw(days)
        due = issued + timedelta(days=draw(st.integers(0, 90)))
        rows = []
        for _ in range(draw(st.integers(1, 4))):
            quantity, price = draw(quantities), draw(prices)
            rows.append(
                Row(
                    draw(st.sampled_from(ITEMS)),
                    quantity,
                    price,
                    (quantity * price).quantize(CENT, ROUND_HALF_UP),
                    draw(st.sampled_from(RATES)),
                )
            )
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
        delimiter=draw(st.sampled_from([",", ";", "\t"])),
        encoding=draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16"])),
        newline=draw(st.sampled_from(["\r\n", "\n"])),
        language=draw(st.sampled_from(sorted(HEADERS))),
    )


def written(value: Decimal, c: Convention) -> str:
    """``value`` as a spreadsheet in convention ``c`` writes it."""
    whole, _, fraction = f"{value:f}".partition(".")
    if c.group:
        groups = []
        while len(whole) > 3:
            whole, last = whole[:-3], whole[-3:]
            groups.insert(0, last)
        whole = c.group.join([whole, *groups])
    return f"{whole}{c.mark}{fraction}" if fraction else whole


def csv_file(made: list[Made], c: Convention) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=c.delimiter, lineterminator=c.newline)
    writer.writerow(HEADERS[c.language])
    fmt = DATE_ORDERS[c.dates]
    for inv in made:
        for row in inv.rows:
            writer.writerow(
                [
                    inv.number,
                    inv.issued.strftime(fmt),
                    inv.due.strftime(fmt) if inv.due else "",
                    "EUR",
                    inv.seller,
                    row.description,
                    written(row.quantity, c),
                    written(row.price, c),
                    written(row.amount, c),
                    written(row.rate, c),
                    written(inv.payable, c),
                ]
            )
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
    # A slashed date whose day is over 12 proves the file's order for all the others.
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
        assert [
            (ln.quantity, ln.unit_price, ln.net_amount, ln.tax_rate, ln.description)
            for ln in inv.lines
        ] == [(r.quantity, r.price, r.amount, r.rate, r.description) for r in want.rows], where
        assert inv.totals.tax_total == want.tax, where
        assert inv.totals.payable == want.payable, where
        flagged = []
        for field, day in (("issue_date", want.issued), ("due_date", want.due)):
            if day is not None and ambiguous(day, c) and not proven:
                flagged.append(f"row {first_row}, {field}")
            else:
                assert getattr(inv, field) == day, (field, where)
        assert [p.location for p in inv.problems if p.code == "ambiguous_date"] == flagged, where
        # a date read the other way round may put the due date before the issue date
        allowed = {"ambiguous_date", "due_before_issue"} if flagged else set()
        assert [p for p in inv.problems if p.code not in allowed] == [], where
        first_row += len(want.rows)
