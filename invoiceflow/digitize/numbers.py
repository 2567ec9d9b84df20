"""Numbers and dates as spreadsheets write them: thousands separators, decimal commas,
currency signs, accounting negatives, and the date orders of different countries."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from invoiceflow.digitize.values import usable

_COMMA = re.compile(r"^[-+(]?\d{1,3}(\.\d{3})*,\d+\)?$|^[-+(]?\d+,\d{1,2}\)?$")
_DOT = re.compile(r"^[-+(]?\d{1,3}(,\d{3})*\.\d+\)?$|^[-+(]?\d+\.\d+\)?$")
_GROUPED = re.compile(r"^[-+(]?\d{1,3}[.,]\d{3}\)?$")  # 1.200 or 1,200: either mark
_NOISE = str.maketrans("", "", " \u00a0\u202f'$€£¥")
DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y", "%m/%d/%Y", "%Y%m%d", "%d-%m-%Y", "%Y/%m/%d")


def decimal_mark(samples: Iterable[str]) -> str:
    """ "," when the sample numbers are written with decimal commas, else "."."""
    comma = dot = 0
    for text in samples:
        value = text.translate(_NOISE)
        if _GROUPED.match(value):
            continue
        comma += bool(_COMMA.match(value))
        dot += bool(_DOT.match(value))
    return "," if comma > dot else "."


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


def date_format(samples: list[str]) -> tuple[str | None, bool]:
    """The first of DATE_FORMATS that reads every sample, and whether another format reads
    them all too, differently (day and month both 12 or less: 03/04/2024)."""
    fitting = [f for f in DATE_FORMATS if samples and all(_fits(s, f) for s in samples)]
    if not fitting:
        return None, False
    chosen = fitting[0]
    ambiguous = any(
        f != chosen and any(_read(s, f) != _read(s, chosen) for s in samples) for f in fitting[1:]
    )
    return chosen, ambiguous


def read_date(text: str, fmt: str | None) -> date:
    for f in (fmt,) if fmt else DATE_FORMATS:
        try:
            return _read(text, f)
        except ValueError:
            continue
    raise ValueError(f"{text!r} is not a date")


def _read(text: str, fmt: str) -> date:
    return datetime.strptime(text.strip()[:10], fmt).date()


def _fits(text: str, fmt: str) -> bool:
    try:
        _read(text, fmt)
    except ValueError:
        return False
    return True
