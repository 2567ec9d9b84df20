"""Reading the numbers and dates that invoice formats write as text, without floats."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from invoiceflow.digitize.model import Problem

MAX_DIGITS_BEFORE = 18  # a quintillion: more than any amount or quantity on an invoice
MAX_DIGITS_AFTER = 30  # decimal places: finer than any price


def shown(text: str) -> str:
    """A cell as a problem quotes it: whole up to 40 characters, else its start."""
    return text if len(text) <= 40 else f"{text[:40]}..."


def usable(value: Decimal) -> bool:
    """Whether ``value`` can be an amount: finite (not NaN, sNaN or Infinity) and within
    bounds, so that sums, products and rounding to the cent stay exact and cannot raise
    decimal's Overflow or InvalidOperation."""
    return (
        value.is_finite()
        and value.adjusted() < MAX_DIGITS_BEFORE
        and value.as_tuple().exponent >= -MAX_DIGITS_AFTER  # type: ignore[operator]
    )


def decimal(
    text: str, problems: list[Problem], location: str, *, implied: int = 0
) -> Decimal | None:
    """``text`` as a Decimal (``implied`` decimal places when the format leaves the point
    out, as X12's N2 fields do); None, with a problem, when it is not a number."""
    text = text.strip()
    if not text:
        return None
    try:
        value = Decimal(text) if len(text) <= 64 else Decimal("NaN")
    except InvalidOperation:
        value = Decimal("NaN")
    if not usable(value):
        problems.append(
            Problem("bad_number", f"{shown(text)!r} is not an amount.", "error", location)
        )
        return None
    return value.scaleb(-implied) if implied else value


def ymd(text: str, problems: list[Problem], location: str) -> date | None:
    """A date written CCYYMMDD (or YYMMDD, which older X12 versions use; years 50-99 are
    taken as 19xx)."""
    text = text.strip()
    if not text:
        return None
    digits = text if len(text) == 8 else ""
    if len(text) == 6 and text.isdigit():
        digits = ("19" if text[:2] >= "50" else "20") + text
    try:
        if not digits.isdigit():
            raise ValueError(text)
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        problems.append(
            Problem("bad_date", f"{text!r} is not a date (CCYYMMDD).", "error", location)
        )
        return None
