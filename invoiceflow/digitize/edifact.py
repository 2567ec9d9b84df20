"""Reading EDIFACT interchanges: the UNA service string advice, release characters, and
segments streamed one at a time (memory does not grow with the file).

Without UNA the defaults of ISO 9735 apply: component ``:``, element ``+``, decimal ``.``,
release ``?`` and segment terminator ``'``. A released character (``?+``) is data.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

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
    segment: list[list[str]] = [[""]]
    i = 0
    release, element, component, terminator = (
        service.release,
        service.element,
        service.component,
        service.terminator,
    )
    while True:
        if i >= len(text):
            if eof:
                break
            more = stream.read(CHUNK)
            eof = not more
            text = decoder.decode(more, final=eof)
            i = 0
            continue
        ch = text[i]
        i += 1
        if release and ch == release:
            if i >= len(text) and not eof:
                more = stream.read(CHUNK)
                eof = not more
                text = text[i:] + decoder.decode(more, final=eof)
                i = 0
            if i < len(text):
                segment[-1][-1] += text[i]
                i += 1
            continue
        if ch == terminator:
            tag = segment[0][0].strip()
            if tag:
                position += 1
                yield service, Segment(tag.upper(), [[tag], *segment[1:]], position)
            segment = [[""]]
        elif ch == element:
            segment.append([""])
        elif ch == component:
            segment[-1].append("")
        elif ch in "\r\n" and segment == [[""]]:
            continue  # line breaks between segments
        else:
            segment[-1][-1] += ch
    if segment != [[""]] and segment[0][0].strip():
        position += 1
        tag = segment[0][0].strip()
        yield service, Segment(tag.upper(), [[tag], *segment[1:]], position)
