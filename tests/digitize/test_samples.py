"""Every published sample file, with its header fields, line counts and totals.

The samples are copied in tests/data/samples; SOURCES.md there says where each comes from
and under which licence: X12 810 from the OopFactory X12 parser's tests and the bots EDI
project's demos, UBL and CII examples from the European Commission's EN 16931 validation
artefacts.
"""

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from invoiceflow.digitize import parse
from invoiceflow.samples import SAMPLES

# file: [(number, issue date, currency, lines, line total, tax total, payable, seller)]
EXPECTED = {
    "x12/bots-810-004010-01.x12": [
        (
            "465266",
            date(2002, 5, 24),
            None,
            4,
            "7880.40",
            "551.62",
            "8432.02",
            "BARRY AND LAMB CAN",
        ),
        ("465267", date(2002, 5, 24), None, 1, "1056", "73.92", "1129.92", "BARRY AND LAMB CAN"),
    ],
    "x12/oopfactory-2011110815164104.x12": [
        ("3323399", date(2011, 10, 31), None, 7, "56358", "0", "56358.00", None),
    ],
    "x12/oopfactory-Example1_CaliforniaISO.x12": [
        ("10429", date(1998, 12, 31), None, 16, "213516.63", "0", "213516.63", None),
    ],
    "x12/oopfactory-Example2_ManualBilling.x12": [
        ("3662", date(1998, 10, 14), None, 1, "2896035.3", "0", "2896035.30", None),
    ],
    "x12/oopfactory-Example4_Adobe.x12": [
        (
            "0013833070",
            date(2007, 1, 29),
            "USD",
            1,
            "160",
            "0",
            "160.00",
            "ADOBE SYSTEMS INCORPORATED",
        ),
    ],
    "x12/oopfactory-Example5_Walmart.x12": [
        ("6463367", date(2005, 2, 5), None, 1, "3875.30", "0", "3875.30", "SUPPLIER NAME"),
    ],
    "ubl/en16931-ubl-tc434-example1.xml": [
        ("12115118", date(2015, 1, 9), "EUR", 20, "229.60", "20.73", "250.33", "De Koksmaat"),
    ],
    "ubl/en16931-ubl-tc434-example2.xml": [
        (
            "TOSL108",
            date(2013, 6, 30),
            "NOK",
            5,
            "1436.50",
            "365.28",
            "801.78",
            "Salescompany ltd.",
        ),
    ],
    "ubl/en16931-ubl-tc434-example3.xml": [
        (
            "TOSL108",
            date(2013, 4, 10),
            "DKK",
            2,
            "1600.00",
            "305.00",
            "2005.00",
            "SubscriptionSeller",
        ),
    ],
    "ubl/en16931-ubl-tc434-creditnote1.xml": [
        (
            "018304 / 28865",
            date(2019, 9, 23),
            "EUR",
            1,
            "100.11",
            "0.00",
            "100.11",
            "My Supplier Company",  # the legal name; PartyName is the trading name
        ),
    ],
    "edifact/en16931-EDIFACT_EXAMPLE0.edi": [
        ("12115118", date(2017, 2, 1), "EUR", 1, "20.00", "2.00", "22.00", "De Koksmaat"),
    ],
    "edifact/en16931-EDIFACT_EXAMPLE0a.edi": [
        ("12115118", date(2017, 2, 1), "EUR", 1, "20.00", "2.00", "22.00", "De Koksmaat"),
    ],
    "edifact/pydifact-invoice1.edi": [
        ("1060113800026", date(1999, 10, 6), "EUR", 1, "1960.29", "0", "1960.29", None),
    ],
    "cii/en16931-CII_example3.xml": [
        ("TOSL108", date(2013, 4, 10), "DKK", 1, "800", "225", "1125", "SubscriptionSeller"),
    ],
}
SAME_AS = {  # files holding the same invoices as another: versions, layouts, syntaxes
    "x12/bots-810-004010VICS-01.x12": "x12/bots-810-004010-01.x12",
    "x12/bots-810-004030-01.x12": "x12/bots-810-004010-01.x12",
    "x12/bots-810-004030VICS-01.x12": "x12/bots-810-004010-01.x12",
    "x12/oopfactory-Example3_MultiInvoice.x12": "x12/bots-810-004010-01.x12",
    # the EN 16931 examples 1 and 2 are the same invoices in both syntaxes
    "cii/en16931-CII_example1.xml": "ubl/en16931-ubl-tc434-example1.xml",
    "cii/en16931-CII_example2.xml": "ubl/en16931-ubl-tc434-example2.xml",
}


# What the published files get wrong, and we report: their UNT01 counts 171 segments.
KNOWN_PROBLEMS = {
    "edifact/en16931-EDIFACT_EXAMPLE0.edi": ["edifact_count_mismatch"],
    "edifact/en16931-EDIFACT_EXAMPLE0a.edi": ["edifact_count_mismatch"],
}


@pytest.mark.parametrize("name", sorted({**EXPECTED, **SAME_AS}))
def test_sample(name: str) -> None:
    invoices = list(parse(SAMPLES / name))
    expected = EXPECTED[SAME_AS.get(name, name)]
    assert len(invoices) == len(expected)
    for inv, (number, issued, currency, lines, line_total, tax, payable, seller) in zip(
        invoices, expected, strict=True
    ):
        assert inv.invoice_number == number
        assert inv.issue_date == issued
        assert inv.currency == currency
        assert len(inv.lines) == lines
        assert inv.totals.line_total == Decimal(line_total)
        assert inv.totals.tax_total == Decimal(tax)
        assert inv.totals.payable == Decimal(payable)
        assert (inv.seller.name if inv.seller else None) == seller
        errors = [p.code for p in inv.problems if p.severity == "error"]
        assert errors == KNOWN_PROBLEMS.get(name, [])


def test_x12_details_of_the_adobe_invoice() -> None:
    [inv] = parse(SAMPLES / "x12/oopfactory-Example4_Adobe.x12")
    assert inv.source.format == "x12" and inv.source.version == "004010"
    assert (inv.source.interchange, inv.source.group, inv.source.transaction) == (
        "810000263",
        "810000263",
        "166061414",
    )
    assert inv.purchase_order == "V8748745"
    assert inv.due_date == date(2007, 3, 5)  # 35 net days after the invoice date
    assert inv.buyer and inv.buyer.name == "SOFTWARE."
    assert inv.ship_to and inv.ship_to.contact and inv.ship_to.contact.name == "JOHN DOE"
    assert inv.seller and inv.seller.address and inv.seller.address.city == "SAN JOSE"
    [line] = inv.lines
    assert (line.line_id, line.quantity, line.unit, line.unit_price) == ("000010", 1, "EA", 160)
    assert (line.seller_item_id, line.buyer_item_id, line.standard_item_id) == (
        "65008841AB02A00",
        "7167946",
        "883919019161",
    )
    assert line.description == "ACRO,8.0,WIN,AOO,UE,1PK,N/A"
    assert len(inv.notes) == 4


def test_x12_line_allowances_and_tax_charges() -> None:
    [inv] = parse(SAMPLES / "x12/oopfactory-Example5_Walmart.x12")
    [line] = inv.lines
    assert line.net_amount == Decimal("3875.30")  # 1080 x 3.61 less the 23.50 allowance
    [allowance] = line.allowances_charges
    assert (allowance.charge, allowance.amount, allowance.reason_code) == (
        False,
        Decimal("23.50"),
        "I410",
    )
    first = next(parse(SAMPLES / "x12/bots-810-004010-01.x12"))
    assert [(t.type, t.rate, t.tax_amount) for t in first.tax] == [("GST", 7, Decimal("551.62"))]


def test_the_same_invoice_in_ubl_and_cii_gives_the_same_model() -> None:
    [u] = parse(SAMPLES / "ubl/en16931-ubl-tc434-example1.xml")
    [c] = parse(SAMPLES / "cii/en16931-CII_example1.xml")
    for field in (
        "invoice_number",
        "issue_date",
        "due_date",
        "currency",
        "seller",
        "buyer",
        "tax",
        "totals",
        "payment_terms",
    ):
        assert getattr(u, field) == getattr(c, field), field
    # The two published files differ in unit codes (EA/H87) and one item name (PKAAS/KAAS).
    strip = [(ln.line_id, ln.quantity, ln.net_amount, ln.unit_price, ln.tax_rate) for ln in u.lines]
    assert strip == [
        (ln.line_id, ln.quantity, ln.net_amount, ln.unit_price, ln.tax_rate) for ln in c.lines
    ]


def test_edifact_details() -> None:
    [inv] = parse(SAMPLES / "edifact/en16931-EDIFACT_EXAMPLE0a.edi")
    assert inv.source.version == "D14B 16B" and inv.source.interchange == "87846595"
    assert inv.seller and inv.seller.tax_id == "NL8200.98.395.B.01"
    assert inv.seller.address and inv.seller.address.postal_code == "1950 AB"
    assert inv.due_date == date(2017, 3, 2)
    [line] = inv.lines
    assert (line.seller_item_id, line.unit_price, line.tax_rate) == ("166022", Decimal("9.95"), 10)
    assert inv.notes[0].endswith("25-04-'85.")  # the released apostrophe is data
    [credit] = parse(SAMPLES / "edifact/pydifact-invoice1.edi")
    assert credit.document_type == "credit_note" and credit.purchase_order == "X18V00003"


def test_ubl_credit_note() -> None:
    [inv] = parse(SAMPLES / "ubl/en16931-ubl-tc434-creditnote1.xml")
    assert inv.document_type == "credit_note"
    assert inv.buyer and inv.buyer.name == "My Customer Company"  # BT-44, the legal name
    assert inv.buyer.trading_name == "My Customer Company S.A."  # BT-45
    assert inv.seller and inv.seller.trading_name == "My Supplier Company N.V."


def test_one_invoice_in_ubl_cii_and_edifact_gives_one_model() -> None:
    folder = Path(__file__).resolve().parents[1] / "data" / "same-invoice"
    ubl, cii, edifact = (
        next(parse(folder / name)) for name in ("invoice.ubl.xml", "invoice.cii.xml", "invoice.edi")
    )
    assert [ubl.source.format, cii.source.format, edifact.source.format] == [
        "ubl",
        "cii",
        "edifact",
    ]
    cii.source = edifact.source = ubl.source
    assert ubl == cii == edifact
    assert ubl.problems == []
