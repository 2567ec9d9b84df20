"""The documented limits: lines per invoice and invoices per file. A file beyond them is
refused with a reason, whatever its format, before memory grows with it."""

from __future__ import annotations

import pytest

from invoiceflow.digitize import DigitizeError, limits, parse
from tests.digitize.shapes import FORMATS


def test_the_limits_are_the_documented_ones() -> None:
    assert limits.MAX_LINES == 100_000
    assert limits.MAX_INVOICES == 1_000_000


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_an_invoice_with_more_lines_than_the_limit_is_refused(
    fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limits, "MAX_LINES", 40)
    [invoice] = parse(FORMATS[fmt](40))
    assert len(invoice.lines) == 40
    with pytest.raises(DigitizeError) as err:
        list(parse(FORMATS[fmt](41)))
    assert err.value.problem.code == "too_many_lines"
    assert "40 lines" in err.value.problem.message


@pytest.mark.parametrize("fmt", sorted(set(FORMATS) - {"ubl", "cii"}))
def test_a_file_with_more_invoices_than_the_limit_is_refused(
    fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limits, "MAX_INVOICES", 5)
    assert len(list(parse(FORMATS[fmt](2, 5)))) == 5
    read = []
    with pytest.raises(DigitizeError) as err:
        read.extend(parse(FORMATS[fmt](2, 6)))
    assert err.value.problem.code == "too_many_invoices"
    assert len(read) <= 5


def test_the_real_line_limit_refuses_one_line_more() -> None:
    with pytest.raises(DigitizeError) as err:
        list(parse(FORMATS["x12"](limits.MAX_LINES + 1)))
    assert err.value.problem.code == "too_many_lines"
