"""The EDIFACT reader and INVOIC mapping on hand-made interchanges."""

from decimal import Decimal

import pytest

from invoiceflow.digitize import DigitizeError, parse


def message(ref: str, number: str, *, version: str = "D:01B:UN:EAN010") -> list[str]:
    body = [
        f"UNH+{ref}+INVOIC:{version}",
        f"BGM+380+{number}+9",
        "DTM+137:20240115:102",
        "RFF+ON:PO-7",
        "NAD+SU+5412345000013::9++Supplier?+Sons+Main street 1+Ghent++9000+BE",
        "RFF+VA:BE0123456789",
        "CTA+IC+:Jan",
        "COM+jan@example.com:EM",
        "NAD+BY+5412345000020::9++Buyer NV",
        "CUX+2:EUR:4",
        "ALC+A++++64:::Volume discount",
        "MOA+8:5,00",
        "LIN+1++5410000000001:SRV",
        "IMD+F++:::Pallet, wooden",
        "QTY+47:10:PCE",
        "MOA+203:100,00",
        "PRI+AAA:10,00",
        "TAX+7+VAT+++:::21+S",
        "UNS+S",
        "MOA+79:100,00",
        "MOA+260:5,00",
        "MOA+389:95,00",
        "MOA+176:19,95",
        "MOA+388:114,95",
        "MOA+9:114,95",
        "TAX+7+VAT+++:::21+S",
        "MOA+125:95,00",
        "MOA+124:19,95",
    ]
    return [*body, f"UNT+{len(body) + 1}+{ref}"]


def interchange(*messages: list[str], una: str = "UNA:+,? '", count: int | None = None) -> bytes:
    segments = ["UNB+UNOC:3+SENDER+RECEIVER+240115:1200+REF42"]
    for m in messages:
        segments += m
    segments.append(f"UNZ+{count if count is not None else len(messages)}+REF42")
    return (una + "'\n".join(segments) + "'\n").encode()


def test_a_complete_message_with_decimal_commas_and_released_characters() -> None:
    [inv] = parse(interchange(message("1", "INV-9")))
    assert inv.invoice_number == "INV-9" and inv.currency == "EUR"
    assert inv.source.version == "D01B EAN010" and inv.source.interchange == "REF42"
    assert inv.purchase_order == "PO-7"
    assert inv.seller and inv.seller.name == "Supplier+Sons"
    assert inv.seller.id == "5412345000013" and inv.seller.tax_id == "BE0123456789"
    assert inv.seller.contact and inv.seller.contact.email == "jan@example.com"
    [line] = inv.lines
    assert (line.quantity, line.unit, line.unit_price, line.net_amount) == (
        Decimal(10),
        "PCE",
        Decimal(10),
        Decimal(100),
    )
    assert line.standard_item_id == "5410000000001" and line.description == "Pallet, wooden"
    [discount] = inv.allowances_charges
    assert (discount.charge, discount.amount, discount.reason) == (False, 5, "Volume discount")
    assert inv.totals.payable == Decimal("114.95") and inv.totals.allowances == 5
    assert [(t.rate, t.taxable_amount, t.tax_amount) for t in inv.tax] == [
        (21, 95, Decimal("19.95"))
    ]
    assert inv.problems == []


def test_default_service_characters_and_several_messages() -> None:
    data = interchange(message("1", "A"), message("2", "B"), una="").replace(b",", b".")
    assert [i.invoice_number for i in parse(data)] == ["A", "B"]


def test_counts_and_references_are_checked() -> None:
    broken = message("1", "A")
    broken[-1] = "UNT+5+9"
    [inv] = parse(interchange(broken, count=3))
    assert sorted(p.code for p in inv.problems) == [
        "edifact_control_mismatch",
        "edifact_count_mismatch",
        "edifact_count_mismatch",
    ]


def test_other_messages_are_skipped_and_no_invoice_is_an_error() -> None:
    order = ["UNH+1+ORDERS:D:96A:UN", "BGM+220+PO1", "UNT+3+1"]
    assert [i.invoice_number for i in parse(interchange(order, message("2", "B")))] == ["B"]
    with pytest.raises(DigitizeError) as err:
        list(parse(interchange(order)))
    assert err.value.problem.code == "edifact_no_invoic"
