"""Parsing XML invoices safely, and the small helpers the UBL and CII mappings share.

No DTDs, no entities, no network: a document with a DOCTYPE (the carrier of billion-laughs
and external-entity attacks) is refused outright, before anything in it is expanded. The
document is parsed as it is read and its lines are mapped and dropped one by one, so time
is linear in the file and memory holds the invoice's header, not its lines' elements.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any, BinaryIO

from lxml import etree

from invoiceflow.digitize import limits
from invoiceflow.digitize.errors import DigitizeError
from invoiceflow.digitize.model import Line, Problem
from invoiceflow.digitize.values import decimal

MAX_XML = 64 * 1024 * 1024  # bytes: no XML invoice comes near this


CHUNK = 1 << 16


class Lines:
    """What a format does with the elements it streams: which ones are invoice lines, and
    how one becomes a ``Line``."""

    def __init__(self, depth: int, names: set[str], read: Callable[[etree._Element], Line]):
        self.depth = depth  # the lines' depth: the root is at 1
        self.names = names  # their Clark names, {namespace}local
        self.read = read


def stream_xml(
    stream: BinaryIO, choose: Callable[[etree._Element], Lines]
) -> tuple[etree._Element, list[Line]]:
    """The document's root without its lines, and its lines mapped as they were read.

    lxml parses the file as it arrives; each line element is mapped once it closes and
    then removed from the tree, so time is linear and memory holds the header and one line.
    ``choose`` sees the root element when it opens (to tell UBL from CII) and may refuse
    it. Depth, elements held and bytes are bounded (``limits``, ``MAX_XML``)."""
    parser = etree.XMLPullParser(
        events=("start", "end"),
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    root: etree._Element | None = None
    spec: Lines | None = None
    lines: list[Line] = []
    depth = held = size = 0
    refusal: DigitizeError | None = None
    while True:
        chunk = stream.read(CHUNK)
        size += len(chunk)
        if size > MAX_XML:
            raise DigitizeError("too_large", f"XML invoices over {MAX_XML} bytes are not read.")
        try:
            if chunk:
                parser.feed(chunk)
            else:
                parser.close()
        except etree.XMLSyntaxError as exc:
            raise DigitizeError("bad_xml", f"The file is not well-formed XML: {exc}.") from None
        for event, element in parser.read_events():
            if not isinstance(element, etree._Element):
                continue  # only start and end events were asked for: always elements
            if event == "start":
                depth += 1
                held += 1
                if depth > limits.MAX_XML_DEPTH:
                    raise DigitizeError(
                        "too_deep", f"The XML nests more than {limits.MAX_XML_DEPTH} elements."
                    )
                if held > limits.MAX_XML_HELD:
                    raise DigitizeError(
                        "too_large",
                        f"The XML has more than {limits.MAX_XML_HELD} elements outside its "
                        "invoice lines.",
                    )
                if root is None:
                    root = element
                    _refuse_doctype(root)
                    try:
                        spec = choose(root)
                    except DigitizeError as exc:
                        refusal = exc  # said once the file is known to be well-formed
                continue
            if spec is not None and depth == spec.depth and element.tag in spec.names:
                lines.append(spec.read(element))
                limits.check_lines(len(lines), f"line {len(lines)}")
                held -= len(list(element.iter()))
                parent = element.getparent()
                element.clear()
                if parent is not None:
                    parent.remove(element)
            depth -= 1
        if not chunk:
            break
    if root is None:
        raise DigitizeError("bad_xml", "The file is not well-formed XML: it has no element.")
    if refusal is not None:
        raise refusal
    return root, lines


def _refuse_doctype(root: etree._Element) -> None:
    docinfo: Any = root.getroottree().docinfo  # the stubs lag lxml: doctype is there
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise DigitizeError(
            "xml_doctype",
            "The XML declares a DOCTYPE; invoices have none, and DTDs can carry entity "
            "expansion or external-entity attacks, so the file is refused.",
        )


_XPATHS: dict[tuple[str, tuple[tuple[str, str], ...]], etree.XPath] = {}


def _xpath(path: str, namespaces: dict[str, str]) -> etree.XPath:
    """``path`` compiled once per process: compiling it again for every element and
    amount cost more than evaluating it."""
    key = (path, tuple(sorted(namespaces.items())))
    found = _XPATHS.get(key)
    if found is None:
        found = _XPATHS[key] = etree.XPath(path, namespaces=namespaces)
    return found


class Reader:
    """XPath look-ups on one document with its namespaces, collecting problems."""

    def __init__(self, namespaces: dict[str, str], problems: list[Problem]) -> None:
        self.ns = namespaces
        self.problems = problems
        self.line: tuple[etree._Element, str] | None = None  # the line being read, its path

    def all(self, node: etree._Element, path: str) -> list[etree._Element]:
        found = _xpath(path, self.ns)(node)
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
        if not value:
            return None
        before = len(self.problems)
        result = decimal(value, self.problems, "")
        if len(self.problems) > before:  # where it is, worked out only when it is needed
            self.problems[-1].location = self.where(node, path)
        return result

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
        """An XPath to ``path`` under ``node``. Read lines are removed from the tree, so
        within the line being read its own path (kept in ``line``) is put in front."""
        if node is None:
            return path
        tree = node.getroottree()
        at = tree.getpath(node)
        if self.line is not None:
            element, real = self.line
            own = tree.getpath(element)
            if at.startswith(own):
                at = real + at[len(own) :]
        return f"{at}/{path}"
