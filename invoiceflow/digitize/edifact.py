"""Reading EDIFACT interchanges: the UNA service string advice, release characters, and
segments streamed one at a time (memory does not grow with the file).

Without UNA the defaults of ISO 9735 apply: component ``:``, element ``+``, decimal ``.``,
release ``?`` and segment terminator ``'``. A released character (``?+``) is data.
"""

from __future__ import annotations

import codecs
import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from invoiceflow.digitize import limits
from invoiceflow.digitize.errors import DigitizeError

CHUNK = 1 << 16


@dataclass(frozen=True, slots=True)
class Service:
    component: str = ":"
    element: str = "+"
    decimal: str = "."
    release: str = "?"
    terminator: str = "'"


@dataclass(frozen=True, slots=True)
class Segment:
    tag: str
    elements: list[list[str]]  # elements[n] holds the components of data element n (1-based)
    position: int

    def get(self, n: int, component: int = 1) -> str:
        """Component ``component`` of element ``n`` (both 1-based), or ""."""
        if n >= len(self.elements):
            return ""
        parts = self.elements[n]
        return parts[component - 1].strip() if component <= len(parts) else ""


def read_segments(stream: BinaryIO) -> Iterator[tuple[Service, Segment]]:
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    first = stream.read(CHUNK)
    if first.startswith(codecs.BOM_UTF8):
        first = first[3:]
    text = decoder.decode(first, final=not first).lstrip()
    service = Service()
    if text.startswith("UNA"):
        if len(text) < 9:
            raise DigitizeError("edifact_bad_una", "The UNA service string advice is cut short.")
        c, e, d, r, t = text[3], text[4], text[5], text[6], text[8]
        service = Service(c, e, d if d in ".," else ".", r if r.strip() else "", t)
        text = text[9:]
    elif not text.startswith("UNB"):
        raise DigitizeError("edifact_no_unb", "An EDIFACT interchange starts with UNA or UNB.")
    position = 0
    eof = not first
    at = 0  # where the unread part of text begins
    searched = 0  # how far past ``at`` no terminator was found
    while True:
        end = _terminator(text, at, at + searched, service)
        if end < 0:
            if len(text) - at > limits.MAX_SEGMENT:
                raise limits.segment_too_long(
                    f"An EDIFACT segment (after segment {position})", f"segment {position + 1}"
                )
            if eof:
                break
            more = stream.read(CHUNK)
            eof = not more
            searched = len(text) - at
            text = text[at:] + decoder.decode(more, final=eof)
            at = 0
            continue
        body = text[at:end].lstrip("\r\n\t ")
        at, searched = end + 1, 0
        if not body:
            continue
        if len(body) > limits.MAX_SEGMENT:
            raise limits.segment_too_long(f"EDIFACT segment {position + 1}")
        elements = _split(body, service)
        position += 1
        tag = elements[0][0].strip()
        yield service, Segment(tag.upper(), [[tag], *elements[1:]], position)
    rest = text[at:].strip()
    if rest:  # the last segment may lack its terminator
        if len(rest) > limits.MAX_SEGMENT:
            raise limits.segment_too_long(f"EDIFACT segment {position + 1}")
        elements = _split(rest, service)
        tag = elements[0][0].strip()
        yield service, Segment(tag.upper(), [[tag], *elements[1:]], position + 1)


def _terminator(text: str, start: int, search_from: int, service: Service) -> int:
    """The index of the first segment terminator at or after ``search_from`` that is not
    released (preceded by an odd run of release characters), or -1. Each character is
    looked at a bounded number of times, so a segment costs time in proportion to its
    length, however it is cut into chunks."""
    release = service.release
    at = search_from
    while True:
        end = text.find(service.terminator, at)
        if end < 0 or not release:
            return end
        run = end
        while run > start and text[run - 1] == release:
            run -= 1
        if (end - run) % 2 == 0:
            return end
        at = end + 1


@functools.lru_cache(maxsize=16)
def _tokens(service: Service) -> re.Pattern[str]:
    """A released character, a separator, or a run of ordinary characters."""
    r, e, c = (re.escape(x) for x in (service.release, service.element, service.component))
    return re.compile(f"{r}(.)|([{e}{c}])|([^{r}{e}{c}]+)", re.S)


def _split(body: str, service: Service) -> list[list[str]]:
    """A segment's data elements and their components, release characters resolved."""
    release = service.release
    if not release or release not in body:
        return [e.split(service.component) for e in body.split(service.element)]
    elements: list[list[str]] = []
    components: list[str] = []
    parts: list[str] = []
    for released, separator, plain in _tokens(service).findall(body):
        if not separator:
            parts.append(released or plain)
            continue
        components.append("".join(parts))
        parts = []
        if separator == service.element:
            elements.append(components)
            components = []
    components.append("".join(parts))
    elements.append(components)
    return elements
