"""Numbers and dates as spreadsheets write them: thousands separators, decimal commas,
currency signs, accounting negatives, and the date orders of different countries."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from invoiceflow.digitize.values import usable

# What shows a decimal comma: a comma after groups of three split by dots (1.234,5), a comma
# no thousands separator could be (0,125, 1234,567, 12,5), or several dots (1.234.567).
_COMMA = re.compile(
    r"^[-+(]?\d{1,3}(\.\d{3})*,\d+\)?$|^[-+(]?\d+,\d+\)?$|^[-+(]?\d{1,3}(\.\d{3}){2,}\)?$"
)
# and a decimal point, the other way round (1,234.5, 0.125, 1,234,567, lakh 1,23,456)
_DOT = re.compile(
    r"^[-+(]?\d{1,3}(,\d{3})*\.\d+\)?$|^[-+(]?\d+\.\d+\)?$|^[-+(]?\d{1,3}(,\d{3}){2,}\)?$"
    r"|^[-+(]?\d{1,2}(,\d{2})+,\d{3}\)?$"
)
# 1.200 or 1,200, either mark: one separator followed by three digits, not after a lone 0
GROUPED = re.compile(r"^[-+(]?[1-9]\d{0,2}[.,]\d{3}\)?$")
_NOISE = str.maketrans("", "", " \u00a0\u202f'$€£¥")
DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y", "%m/%d/%Y", "%Y%m%d", "%d-%m-%Y", "%Y/%m/%d")


def decimal_mark(samples: Iterable[str]) -> str:
    """ "," when the sample numbers are written with decimal commas, else "."."""
    return decimal_marks(samples)[0]


def decimal_marks(samples: Iterable[str]) -> tuple[str, bool]:
    """ "," when the sample numbers are written with decimal commas, else "."; and whether
    they show it: some number only one mark reads, and more of them read by it than by
    the other. Numbers such as 1,200 or 12.500 (``GROUPED``) show nothing."""
    comma = dot = 0
    for text in samples:
        value = text.translate(_NOISE)
        if GROUPED.match(value):
            continue
        comma += bool(_COMMA.match(value))
        dot += bool(_DOT.match(value))
    return ("," if comma > dot else "."), comma != dot


def number(text: str, mark: str = ".") -> Decimal:
    """``text`` as a Decimal; raises ValueError when it is not a number."""
    value = text.translate(_NOISE)
    negative = value.startswith("(") and value.endswith(")")
    if negative:
        value = value[1:-1]
    value = value.replace(".", "").replace(",", ".") if mark == "," else value.replace(",", "")
    try:
        result = Decimal(value) if len(value) <= 64 else Decimal("NaN")
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a number") from None
    if not usable(result):
        raise ValueError(f"{text!r} is not a number")
    return -result if negative else result


DAY_FIRST, MONTH_FIRST = "%d/%m/%Y", "%m/%d/%Y"  # the one shape written both ways round


class DateOrder:
    """Which way round a file writes its slashed dates, as far as its dates show: one whose
    first number is over 12 (25/07/2026) can only be day first, one whose second number is
    over 12 (07/25/2026) only month first. The order is proven when the file has dates of
    one kind and none of the other; a file with neither, or with both, proves nothing."""

    def __init__(self) -> None:
        self.day_first = self.month_first = False

    def learn(self, readings: dict[str, date]) -> None:
        """Take in the evidence of one date, given as ``date_readings`` reads it."""
        if DAY_FIRST in readings and MONTH_FIRST not in readings:
            self.day_first = True
        elif MONTH_FIRST in readings and DAY_FIRST not in readings:
            self.month_first = True

    @property
    def proven(self) -> str | None:
        """DAY_FIRST or MONTH_FIRST when the dates seen show that order and only that one."""
        if self.day_first != self.month_first:
            return DAY_FIRST if self.day_first else MONTH_FIRST
        return None


def date_readings(text: str) -> dict[str, date]:
    """Every format of DATE_FORMATS that reads ``text``, with the date it reads: none for
    what is not a date, two different dates for a slashed date whose day and month are both
    12 or less (03/04/2024), else one date."""
    return dict(_readings(text))


@lru_cache(maxsize=4096)
def _readings(text: str) -> tuple[tuple[str, date], ...]:
    """Remembered: a file repeats its dates over many rows, and trying the seven formats
    costs strptime a regex compile each (it keeps five), about 150 µs a date."""
    readings = []
    for f in DATE_FORMATS:
        try:
            readings.append((f, _read(text, f)))
        except ValueError:
            continue
    return tuple(readings)


def read_date(text: str, fmt: str | None) -> date:
    for f in (fmt,) if fmt else DATE_FORMATS:
        try:
            return _read(text, f)
        except ValueError:
            continue
    raise ValueError(f"{text!r} is not a date")


# The date of a date-time, as spreadsheets export a date cell: 1/7/2026 0:00, 20260711 00:00,
# 2026-07-11T00:00:00+02:00
_DATE_PART = re.compile(r"\d+([./-])\d+\1\d+|\d{8}(?!\d)")


def _read(text: str, fmt: str) -> date:
    """``text`` read in ``fmt`` (a profile's may have a time, or month names); failing
    that, its leading date read in ``fmt``, a time after it left out."""
    text = text.strip()
    try:
        return datetime.strptime(text, fmt).date()
    except ValueError:
        part = _DATE_PART.match(text)
        if part is None or part.group() == text:
            raise
        return datetime.strptime(part.group(), fmt).date()
