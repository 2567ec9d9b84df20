"""Which format a file is in, from its first bytes: never from its name."""

from __future__ import annotations

import codecs
import re

from invoiceflow.digitize.errors import DigitizeError

X12, EDIFACT, XML, JSON, CSV = "x12", "edifact", "xml", "json", "csv"
_BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_TEXT = re.compile(rb"^[^\x00-\x08\x0e-\x1f\x7f]*$")


def detect(head: bytes) -> str:
    """The format of data beginning with ``head`` (its first few kilobytes)."""
    start = head
    for bom in _BOMS:
        if start.startswith(bom):
            start = start[len(bom) :]
            if bom is not codecs.BOM_UTF8:
                return CSV  # UTF-16 text: only spreadsheets export that
            break
    start = start.lstrip()
    if not start:
        raise DigitizeError("empty", "The file is empty.")
    if start.startswith(b"ISA"):
        return X12
    if start.startswith((b"UNA", b"UNB")):
        return EDIFACT
    if start.startswith(b"<"):
        return XML
    if start.startswith((b"{", b"[")):
        return JSON
    if _TEXT.match(start[:4096]) and (b"\n" in start or len(head) < 4096):
        return CSV
    raise DigitizeError(
        "unknown_format",
        "The file is not in a format invoiceflow reads (X12 810, EDIFACT INVOIC, UBL, CII, "
        "CSV or JSON).",
    )
