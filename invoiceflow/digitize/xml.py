"""Parsing XML invoices safely, and the small helpers the UBL and CII mappings share.

No DTDs, no entities, no network: a document with a DOCTYPE (the carrier of billion-laughs
and external-entity attacks) is refused outright, before anything in it is expanded.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, BinaryIO

from lxml import etree

from invoiceflow.digitize.errors import DigitizeError
from invoiceflow.digitize.model import Problem
from invoiceflow.digitize.values import decimal

MAX_XML = 64 * 1024 * 1024  # bytes: no XML invoice comes near this


def parse_xml(stream: BinaryIO) -> etree._Element:
    data = stream.read(MAX_XML + 1)
    if len(data) > MAX_XML:
        raise DigitizeError("too_large", f"XML invoices over {MAX_XML} bytes are not read.")
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise DigitizeError("bad_xml", f"The file is not well-formed XML: {exc}.") from None
    docinfo: Any = root.getroottree().docinfo  # the stubs lag lxml: doctype is there
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise DigitizeError(
            "xml_doctype",
            "The XML declares a DOCTYPE; invoices have none, and DTDs can carry entity "
            "expansion or external-entity attacks, so the file is refused.",
        )
    return root


class Reader:
    """XPath look-ups on one document with its namespaces, collecting problems."""

    def __init__(self, namespaces: dict[str, str], problems: list[Problem]) -> None:
        self.ns = namespaces
        self.problems = problems

    def all(self, node: etree._Element, path: str) -> list[etree._Element]:
        found = node.xpath(path, namespaces=self.ns)
        if not isinstance(found, list):
            return []
        return [e for e in found if isinstance(e, etree._Element)]

    def one(self, node: etree._Element, path: str) -> etree._Element | None:
        found = self.all(node, path)
        return found[0] if found else None

    def text(self, node: etree._Element | None, path: str) -> str | None:
        if node is None:
            return None
        found = self.one(node, path)
        if found is None or found.text is None:
            return None
        value = " ".join(found.text.split())
        return value or None

    def dec(self, node: etree._Element | None, path: str) -> Decimal | None:
        value = self.text(node, path)
        return decimal(value, self.problems, self.where(node, path)) if value else None

    def amount(self, node: etree._Element | None, path: str) -> Decimal:
        """A number the model requires (a quantity, an amount): zero when the document has
        none, so a missing one shows up in the checks' sums rather than as a crash."""
        value = self.dec(node, path)
        return value if value is not None else Decimal(0)

    def date(self, node: etree._Element | None, path: str) -> date | None:
        value = self.text(node, path)
        if not value:
            return None
        digits = value.replace("-", "")
        try:
            if len(digits) != 8 or not digits.isdigit():
                raise ValueError(value)
            return date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
        except ValueError:
            self.problems.append(
                Problem("bad_date", f"{value!r} is not a date.", "error", self.where(node, path))
            )
            return None

    def where(self, node: etree._Element | None, path: str) -> str:
        if node is None:
            return path
        return f"{node.getroottree().getpath(node)}/{path}"
