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


def _json(body: str) -> Invoice:
    head = '"invoice_number": "J-1", "issue_date": "2024-01-10", "currency": "EUR", '
    head += '"seller": {"name": "S"}, "lines": [{"line_id": "1", "quantity": "1", '
    head += '"net_amount": "20.00"}]'
    [inv] = parse(("{" + head + body + "}").encode())
    return inv


def test_payable_is_reconciled_with_the_parts_when_intermediate_totals_are_missing() -> None:
    bad = _json(', "totals": {"tax_total": "0", "payable": "99"}')
    [problem] = [p for p in bad.problems if p.code == "payable_mismatch"]
    assert problem.severity == "error" and problem.location == "totals.payable"
    assert "20.00" in problem.message
    good = _json(
        ', "tax": [{"tax_amount": "4.20", "rate": "21"}], '
        '"allowances_charges": [{"charge": true, "amount": "1.00"}], '
        '"totals": {"prepaid": "5", "payable": "20.20"}'
    )
    assert good.problems == []
    off = _json(', "totals": {"line_total": "20.00", "tax_exclusive": "20.00", "payable": "25"}')
    assert [p.code for p in off.problems] == ["payable_mismatch"]


def test_rounding_is_compared_at_the_cent() -> None:
    assert _json(', "totals": {"payable": "20.0149"}').problems == []
    assert _json(', "totals": {"payable": "19.99"}').problems == []
    assert [p.code for p in _json(', "totals": {"payable": "19.984"}').problems] == [
        "payable_mismatch"
    ]


def test_an_invoice_without_a_payable_amount_says_so() -> None:
    [problem] = _json("").problems
    assert (problem.code, problem.severity, problem.location) == (
        "missing_total",
        "warning",
        "totals.payable",
    )


def test_a_csv_invoice_without_a_payable_amount_gets_one_worked_out_and_a_warning() -> None:
    data = b"Invoice Number,Date,Currency,Seller,Quantity,Unit Price\nC-1,2024-01-10,EUR,S,2,5\n"
    [inv] = parse(data)
    assert inv.totals.payable == D(10)
    assert [(p.code, p.severity) for p in inv.problems] == [("missing_total", "warning")]
    with_total = data.replace(b"Unit Price\n", b"Unit Price,Invoice Total\n").replace(
        b",5\n", b",5,10\n"
    )
    assert [p.code for p in next(parse(with_total)).problems] == []
