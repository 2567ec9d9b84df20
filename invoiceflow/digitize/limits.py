"""How much one file may hold, so that reading any file under the upload limit takes bounded
time and memory, whether it is read or refused.

* ``MAX_LINES`` lines in one invoice (100,000). Lines are held until their invoice is
  complete (its totals and checks need them all); an invoice past this is refused, so an
  invoice never holds more than about 100 MB of lines.
* ``MAX_INVOICES`` invoices in one file (1,000,000). Invoices are yielded one at a time, so
  this bounds the work per file and the numbers kept to find duplicates, not memory.
* ``MAX_SEGMENT`` characters in one X12 or EDIFACT segment (64 KiB): real ones are under
  a kilobyte, and a file with no terminator would otherwise be held whole.
* ``MAX_ROW`` characters in one CSV row (1 MiB), for the same reason.
* ``MAX_XML_DEPTH`` levels of XML elements (64): UBL and CII nest about 10 deep.
* ``MAX_XML_HELD`` XML elements kept at once outside the invoice lines (200,000): the
  lines are mapped and dropped as they are read; everything else stays until the end.

Readers look the values up here when they run (``limits.MAX_LINES``), so one place sets
them. JSON nesting uses the project-wide ``invoiceflow.limits.JSON_DEPTH``.
"""

from __future__ import annotations

from invoiceflow.digitize.errors import DigitizeError

MAX_LINES = 100_000
MAX_INVOICES = 1_000_000
MAX_SEGMENT = 1 << 16
MAX_ROW = 1 << 20
MAX_XML_DEPTH = 64
MAX_XML_HELD = 200_000


def check_lines(count: int, where: str | None = None) -> None:
    """Refuse an invoice that has reached ``count`` lines, when that is over the limit."""
    if count > MAX_LINES:
        raise DigitizeError(
            "too_many_lines",
            f"An invoice has more than {MAX_LINES} lines; invoiceflow reads at most "
            f"{MAX_LINES} lines per invoice.",
            where,
        )


def check_invoices(count: int) -> None:
    """Refuse a file that has reached ``count`` invoices, when that is over the limit."""
    if count > MAX_INVOICES:
        raise DigitizeError(
            "too_many_invoices",
            f"The file holds more than {MAX_INVOICES} invoices; invoiceflow reads at most "
            f"{MAX_INVOICES} invoices per file.",
        )


def segment_too_long(what: str, where: str | None = None, limit: int = 0) -> DigitizeError:
    """The error for a segment or row past its limit (``MAX_SEGMENT`` unless given)."""
    return DigitizeError(
        "segment_too_long",
        f"{what} is longer than {limit or MAX_SEGMENT} characters: the file is not in the "
        "format it starts in (a missing terminator?).",
        where,
    )
