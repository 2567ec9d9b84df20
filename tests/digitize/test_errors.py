"""Every way a file can fail to be read ends in DigitizeError with a reason: never a
traceback of RecursionError, decimal errors, UnicodeDecodeError or csv errors."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from invoiceflow.digitize import DigitizeError, Invoice, load_profile, parse
from invoiceflow.limits import JSON_DEPTH
from invoiceflow.samples import SAMPLES
from tests.digitize.shapes import FORMATS, ISA


def read(data: bytes) -> list[Invoice]:
    return list(parse(data))


def refused(data: bytes) -> DigitizeError:
    with pytest.raises(DigitizeError) as err:
        read(data)
    return err.value


@pytest.mark.parametrize("depth", [JSON_DEPTH + 1, 252, 300, 100_000])
def test_json_nested_deeper_than_the_limit_is_refused(depth: int) -> None:
    for data in (
        b"[" * depth + b"]" * depth,
        b'{"invoice_number": "1", "notes": ' + b"[" * depth + b"]" * depth + b"}",
    ):
        err = refused(data)
        assert err.problem.code == "too_deep", err
        assert str(JSON_DEPTH) in err.problem.message


def test_json_nested_deeper_than_the_limit_is_refused_with_a_profile_too() -> None:
    profile = load_profile({"jsonata": "$"})
    with pytest.raises(DigitizeError) as err:
        list(parse(b'{"a": ' * 300 + b"1" + b"}" * 300, profile))
    assert err.value.problem.code == "too_deep"


def test_json_within_the_depth_limit_is_judged_on_its_content() -> None:
    depth = JSON_DEPTH - 2
    err = refused(b'{"invoice_number": "1", "notes": ' + b"[" * depth + b"]" * depth + b"}")
    assert err.problem.code == "json_schema"


NOT_NUMBERS = ["NaN", "-NaN", "sNaN", "Infinity", "-Infinity", "Inf", "1E+999999999", "9" * 5000]


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.parametrize("amount", NOT_NUMBERS)
def test_non_finite_and_absurd_amounts_are_refused_in_every_format(fmt: str, amount: str) -> None:
    try:
        invoices = read(FORMATS[fmt](2, amount=amount))
    except DigitizeError as err:
        assert err.problem.code in ("bad_number", "json_schema", "bad_json"), err
        return
    for invoice in invoices:
        assert "bad_number" in {p.code for p in invoice.problems}
        for line in invoice.lines:
            for value in (line.quantity, line.net_amount, line.unit_price):
                assert value is None or (value.is_finite() and abs(value) < Decimal("1E+20"))


def test_an_x12_file_without_segment_terminators_is_an_error() -> None:
    data = ISA.encode() + b"GS*IN*S*R*20240101*1200*7*X*004010\nST*810*0001\nBIG*20240115*1\n"
    err = refused(data)
    assert err.problem.code == "x12_no_terminator"


def test_an_x12_file_with_no_invoice_is_an_error() -> None:
    data = ISA + "GS*PO*S*R*20240101*1200*7*X*004010~ST*850*1~SE*2*1~GE*1*7~IEA*1*000000001~"
    assert refused(data.encode()).problem.code == "x12_no_invoice"


@pytest.mark.parametrize(
    "data",
    [
        # an X12 payment term with more digits than int() converts
        (ISA + "ST*810*1~BIG*20240101*1~ITD*01*3*2**10**" + "9" * 5000 + "~SE*4*1~").encode(),
        # a line amount times a tax rate that no longer fits to the cent
        b"invoice_number,qty,unit_price,vat_rate\n1,1,1e30,1e30\n",
        b"invoice_number,qty,unit_price,vat_rate\n1,1,1e15,1e15\n",
    ],
)
def test_arithmetic_and_conversion_failures_are_digitize_errors_or_problems(data: bytes) -> None:
    try:
        invoices = read(data)
    except DigitizeError:
        return
    if data.startswith(b"invoice_number"):
        assert any(p.code == "bad_number" for inv in invoices for p in inv.problems)


def test_a_profile_with_an_unknown_encoding_is_a_digitize_error() -> None:
    profile = load_profile({"encoding": "no-such-codec", "columns": {}})
    with pytest.raises(DigitizeError) as err:
        list(parse(b"invoice_number,qty\n1,2\n", profile))
    assert err.value.problem.code == "bad_profile"


def test_the_cli_reports_a_bad_file_in_one_line_and_reads_the_next(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"invoice_number,qty\n1," + b"2," * 1_000_000)  # a 2 MB row
    odd = tmp_path / "odd.csv"
    odd.write_bytes(b'invoice_number,qty\n1,"2"\r3\n')  # its sample once broke the reader
    bad_json = tmp_path / "deep.json"
    bad_json.write_bytes(b"[" * 100_000 + b"]" * 100_000)
    good = SAMPLES / "x12" / "oopfactory-Example4_Adobe.x12"
    command = Path(sys.executable).parent / "invoiceflow"
    out = subprocess.run(
        [str(command), "parse", str(bad), str(odd), str(bad_json), str(good)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 1
    assert [line.split(": ")[0] for line in out.stderr.splitlines()] == [str(bad), str(bad_json)]
    assert all("cannot be read" in line for line in out.stderr.splitlines()), out.stderr
    assert "0013833070" in out.stdout and f"{odd}: 1" in out.stdout
