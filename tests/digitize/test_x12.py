"""The X12 reader and 810 mapping on hand-made files: delimiters, envelopes, segments."""

import re
from decimal import Decimal

import pytest

from invoiceflow.digitize import DigitizeError, parse

ISA = (
    "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       "
    "*240101*1200*U*00401*000000001*0*P*>~"
)


def envelope(body: str, *, sets: int = 1, isa: str = ISA) -> str:
    return f"{isa}GS*IN*S*R*20240101*1200*7*X*004010~{body}GE*{sets}*7~IEA*1*000000001~"


def transaction(control: str = "0001", *, extra: str = "", count: int | None = None) -> str:
    segments = [
        f"ST*810*{control}",
        f"BIG*20240115*INV-{control}*20240110*PO-9***CR",
        "CUR*SE*EUR",
        "N1*SE*Seller Inc*UL*4000001000005",
        "N3*1 Main St*Suite 2",
        "N4*Springfield*IL*62701*US",
        "PER*AR*Ann*TE*555-0100*EM*ann@example.com",
        "N1*BY*Buyer LLC",
        "ITD*01*3*2*20240125*10*20240214*30",
        "IT1*1*3*EA*10.50**VP*SKU-1*UP*012345678905",
        "PID*F****Widget",
        "TXI*VA*6.30*20",
        "IT1*2*2*EA*5",
        "SAC*A*C310***100**********Promo",
        *([extra] if extra else []),
        "TDS*4930",
        "SAC*C*D240***250",
        "CTT*2*5",
    ]
    n = count if count is not None else len(segments) + 1
    return "~".join(segments) + f"~SE*{n}*{control}~"


def test_a_complete_transaction() -> None:
    [inv] = parse(envelope(transaction()).encode())
    assert inv.invoice_number == "INV-0001"
    assert inv.document_type == "credit_note" and inv.type_code == "CR"
    assert inv.currency == "EUR" and inv.purchase_order == "PO-9"
    assert inv.seller and inv.seller.id == "4000001000005" and inv.seller.id_scheme == "GLN"
    assert inv.seller.address and inv.seller.address.lines == ["1 Main St", "Suite 2"]
    assert inv.seller.contact and inv.seller.contact.email == "ann@example.com"
    assert inv.buyer and inv.buyer.name == "Buyer LLC"
    assert inv.payment_terms and inv.payment_terms.discount_percent == 2
    assert str(inv.due_date) == "2024-02-14"
    first, second = inv.lines
    assert (first.net_amount, first.tax_rate, first.standard_item_id) == (
        Decimal("31.50"),
        Decimal("20"),
        "012345678905",
    )
    assert second.net_amount == Decimal("9")  # 2 x 5 less the 1.00 allowance
    assert inv.totals.charges == Decimal("2.50")  # the SAC in the summary is the invoice's
    assert inv.totals.tax_total == Decimal("6.30")
    assert inv.totals.payable == Decimal("49.30")
    assert [p.code for p in inv.problems] == []


@pytest.mark.parametrize(
    ("isa_separators", "terminator"),
    [(("*", ">"), "~"), (("|", "^"), "\n"), (("+", ":"), "'")],
)
def test_delimiters_come_from_the_isa_segment(
    isa_separators: tuple[str, str], terminator: str
) -> None:
    element, sub = isa_separators
    text = envelope(transaction()).replace("~", "\x00").replace("*", element).replace(">", sub)
    text = text.replace("\x00", terminator)
    [inv] = parse(("\ufeff" + text).encode())
    assert inv.invoice_number == "INV-0001" and len(inv.lines) == 2


def test_newlines_indentation_and_several_interchanges() -> None:
    one = envelope(transaction("0001")).replace("~", "~\r\n    ")
    two = envelope(transaction("0002") + transaction("0003"), sets=2)
    invoices = list(parse((one + "\n" + two).encode()))
    assert [i.source.transaction for i in invoices] == ["0001", "0002", "0003"]
    assert [i.source.index for i in invoices] == [0, 1, 2]
    assert all(not i.problems for i in invoices)


def test_envelope_counts_and_control_numbers_are_checked() -> None:
    text = envelope(transaction(count=99), sets=3).replace("SE*99*0001", "SE*99*0002")
    [inv] = parse(text.encode())
    codes = sorted(p.code for p in inv.problems)
    assert codes == ["x12_control_mismatch", "x12_count_mismatch", "x12_count_mismatch"]


def test_line_count_and_hash_total_are_checked() -> None:
    [inv] = parse(envelope(transaction().replace("CTT*2*5", "CTT*3*9")).encode())
    assert [p.code for p in inv.problems] == ["x12_ctt_mismatch", "x12_ctt_mismatch"]
    assert {p.severity for p in inv.problems} == {"error", "warning"}


def test_bad_values_are_problems_not_crashes() -> None:
    text = envelope(
        transaction().replace("BIG*20240115", "BIG*20241315").replace("IT1*1*3*", "IT1*1*x*")
    )
    [inv] = parse(text.encode())
    assert {p.code for p in inv.problems} >= {"bad_date", "bad_number"}


def test_a_missing_se_and_a_truncated_file() -> None:
    text = re.sub(r"~SE\*\d+\*0001~", "~", envelope(transaction()))
    [inv] = parse(text.encode())
    assert "x12_missing_se" in {p.code for p in inv.problems}
    cut = envelope(transaction())[:-60]
    [inv] = parse(cut.encode())
    assert "x12_truncated" in {p.code for p in inv.problems}


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "empty"),
        (b"ISA*00*short~", "x12_bad_isa"),
        (b"\x00\x01\x02 binary", "unknown_format"),
    ],
)
def test_unreadable_files_raise_one_clear_error(data: bytes, code: str) -> None:
    with pytest.raises(DigitizeError) as err:
        list(parse(data))
    assert err.value.problem.code == code


def test_version_005010_reads_the_same() -> None:
    isa = ISA.replace("*U*00401*", "*^*00501*")
    text = envelope(transaction(), isa=isa).replace("*X*004010~", "*X*005010~")
    [inv] = parse(text.encode())
    assert inv.source.version == "005010" and inv.invoice_number == "INV-0001"
    assert [p.code for p in inv.problems] == []
