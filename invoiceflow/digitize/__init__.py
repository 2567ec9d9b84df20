"""Digitizing invoice files: every supported format into one ``Invoice`` model.

    for invoice in invoiceflow.digitize.parse("incoming/acme.x12"):
        print(invoice.invoice_number, invoice.totals.payable)

``parse`` takes a path, bytes or a binary stream, detects the format from the content and
yields invoices as it reads them. A file that cannot be read raises ``DigitizeError``, whose
``problem`` says why; anything doubtful about a readable invoice is in its ``problems``.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterator
from typing import Any, BinaryIO

from lxml import etree

from invoiceflow.digitize import cii, limits, ubl
from invoiceflow.digitize.checks import DuplicateNumbers, check
from invoiceflow.digitize.csv_invoices import read_csv
from invoiceflow.digitize.detect import EDIFACT, JSON, X12, XML, detect
from invoiceflow.digitize.edifact_invoic import EdifactReader
from invoiceflow.digitize.errors import DigitizeError
from invoiceflow.digitize.json_invoices import read_json
from invoiceflow.digitize.model import Invoice, Problem, from_json, json_schema, to_json
from invoiceflow.digitize.profiles import Profile, load_profile
from invoiceflow.digitize.x12_810 import X12Reader
from invoiceflow.digitize.xml import Lines, Reader, stream_xml

__all__ = [
    "DigitizeError",
    "Invoice",
    "Problem",
    "Profile",
    "detect",
    "from_json",
    "json_schema",
    "limits",
    "load_profile",
    "parse",
    "to_json",
]

Source = str | os.PathLike[str] | bytes | BinaryIO


def parse(source: Source, profile: Profile | None = None) -> Iterator[Invoice]:
    """The invoices in ``source``, in file order, each as soon as it has been read.

    ``profile`` (see ``load_profile``) says how to read a CSV file whose columns are not
    recognised from their headers."""
    if isinstance(source, bytes):
        yield from _parse(io.BytesIO(source), profile)
    elif isinstance(source, (str, os.PathLike)):
        try:
            stream = open(source, "rb")  # noqa: SIM115 - closed below, after the last invoice
        except OSError as exc:
            raise DigitizeError("unreadable", f"Cannot open {source}: {exc.strerror}.") from None
        with stream:
            yield from _parse(stream, profile)
    else:
        yield from _parse(source, profile)


class _Rewound(io.RawIOBase):
    """A stream whose first bytes were read to detect the format, given back in front."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self.head = head
        self.rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if self.head:
            n = min(len(view), len(self.head))
            view[:n] = self.head[:n]
            self.head = self.head[n:]
            return n
        data = self.rest.read(len(view))
        view[: len(data)] = data
        return len(data)


def _parse(stream: BinaryIO, profile: Profile | None) -> Iterator[Invoice]:
    duplicates = DuplicateNumbers()
    count = 0
    try:
        for invoice in _read(stream, profile):
            count += 1
            limits.check_invoices(count)
            invoice.problems.extend(check(invoice))
            invoice.problems.extend(duplicates.check(invoice))
            yield invoice
    except _UNREADABLE as exc:
        # The readers turn what they expect into DigitizeError with a precise reason; this
        # is the net under them, so that no input ends in a traceback instead of a reason.
        raise DigitizeError(
            "unreadable", f"The file cannot be read ({type(exc).__name__}: {exc})."
        ) from None


_UNREADABLE = (ArithmeticError, RecursionError, UnicodeError, LookupError, csv.Error)


def _read(stream: BinaryIO, profile: Profile | None) -> Iterator[Invoice]:
    head = stream.read(4096)
    kind = detect(head)
    buffered: BinaryIO = io.BufferedReader(_Rewound(head, stream), 1 << 16)
    if kind == X12:
        yield from X12Reader(buffered).invoices()
    elif kind == XML:
        yield _xml(buffered)
    elif kind == JSON:
        yield from read_json(buffered, profile)
    elif kind == EDIFACT:
        yield from EdifactReader(buffered).invoices()
    else:
        yield from read_csv(buffered, profile)


def _name(element: etree._Element) -> tuple[str | None, str]:
    """An element's namespace and local name. Read from its tag, not with etree.QName,
    which refuses a tag such as 'rsm:CrossIndustryInvoice' whose prefix was never declared
    (lxml then keeps the prefix in the tag)."""
    tag = element.tag if isinstance(element.tag, str) else ""
    if tag.startswith("{"):
        namespace, _, localname = tag[1:].partition("}")
        return namespace, localname
    return None, tag


def _xml(stream: BinaryIO) -> Invoice:
    ubl_reader, cii_reader = Reader(ubl.NS, []), Reader(cii.NS, [])

    def choose(root: etree._Element) -> Lines:
        namespace, localname = _name(root)
        if namespace in (ubl.INVOICE, ubl.CREDIT_NOTE):
            return ubl.line_reader(ubl_reader)
        if namespace == cii.ROOT and localname == "CrossIndustryInvoice":
            return cii.line_reader(cii_reader)
        raise DigitizeError(
            "unknown_xml",
            f"The XML document is a {localname!r} in {namespace!r}, not a UBL "
            "Invoice/CreditNote or a CII CrossIndustryInvoice.",
        )

    root, lines = stream_xml(stream, choose)
    if _name(root)[0] == cii.ROOT:
        return cii.read_cii(root, reader=cii_reader, lines=lines)
    return ubl.read_ubl(root, reader=ubl_reader, lines=lines)
