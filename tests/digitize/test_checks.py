"""The checks a clerk would make: required fields, dates, sums, currencies, duplicates."""

from datetime import date
from decimal import Decimal

from invoiceflow.digitize import parse, to_json
from invoiceflow.digitize.checks import check
from invoiceflow.digitize.model import Invoice, Line, Party, Source, TaxSubtotal, Totals

D = Decimal


def invoice(**changes: object) -> Invoice:
    base = Invoice(
        invoice_number="A-1",
        source=Source(format="json"),
        issue_date=date(2024, 1, 10),
        due_date=date(2024, 2, 10),
        currency="EUR",
        seller=Party(name="Seller"),
        lines=[Line("1", D(2), D("20.00")), Line("2", D(1), D("5.00"))],
        tax=[TaxSubtotal(tax_amount=D("5.25"), rate=D(21))],
        totals=Totals(
            line_total=D("25.00"),
            allowances=D("0"),
            charges=D("0"),
            tax_exclusive=D("25.00"),
            tax_total=D("5.25"),
            tax_inclusive=D("30.25"),
            payable=D("30.25"),
        ),
    )
    for key, value in changes.items():
        setattr(base, key, value)
    return base


def codes(inv: Invoice) -> list[str]:
    return sorted(p.code for p in check(inv))


def test_a_consistent_invoice_has_no_problems() -> None:
    assert codes(invoice()) == []


def test_required_fields() -> None:
    bad = invoice(invoice_number=" ", issue_date=None, currency="EUX", seller=None, lines=[])
    assert codes(bad) == [
        "line_total_mismatch",
        "missing_invoice_number",
        "missing_issue_date",
        "missing_seller",
        "no_lines",
        "unknown_currency",
    ]
    assert codes(invoice(currency=None)) == ["missing_currency"]


def test_dates() -> None:
    assert codes(invoice(due_date=date(2023, 12, 31))) == ["due_before_issue"]


def test_each_sum_is_checked_and_a_cent_is_tolerated() -> None:
    inv = invoice()
    inv.totals.payable = D("30.26")
    assert codes(inv) == []
    inv.totals.payable = D("31.25")
    inv.totals.tax_inclusive = D("30.00")
    inv.tax[0].tax_amount = D("4")
    inv.lines[0].net_amount = D("21")
    assert codes(inv) == [
        "line_total_mismatch",
        "payable_mismatch",
        "tax_inclusive_mismatch",
        "tax_total_mismatch",
    ]
    [line_problem] = [p for p in check(inv) if p.code == "line_total_mismatch"]
    assert line_problem.location == "totals.line_total" and "+-1.00" not in line_problem.message


def test_duplicate_numbers_in_one_file_are_flagged_on_the_repeat() -> None:
    one = invoice()
    data = b"[" + to_json(one) + b"," + to_json(one) + b"]"
    first, second = parse(data)
    assert "duplicate_in_file" not in [p.code for p in first.problems]
    assert "duplicate_in_file" in [p.code for p in second.problems]
