"""Reading EDIFACT interchanges: the UNA service string advice, release characters, and
segments streamed one at a time (memory does not grow with the file).

Without UNA the defaults of ISO 9735 apply: component ``:``, element ``+``, decimal ``.``,
release ``?`` and segment terminator ``'``. A released character (``?+``) is data.
"""

from __future__ import annotations

import codecs
import re
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
    pattern = _segment_pattern(service)
    position = 0
    eof = not first
    while True:
        end = 0
        for match in pattern.finditer(text):
            end = match.end()
            body = match.group(1).lstrip("\r\n\t ")
            if not body:
                continue
            elements = _split(body, service)
            position += 1
            tag = elements[0][0].strip()
            yield service, Segment(tag.upper(), [[tag], *elements[1:]], position)
        text = text[end:]
        if eof:
            break
        more = stream.read(CHUNK)
        eof = not more
        text += decoder.decode(more, final=eof)
    rest = text.strip()
    if rest:  # the last segment may lack its terminator
        elements = _split(rest, service)
        tag = elements[0][0].strip()
        yield service, Segment(tag.upper(), [[tag], *elements[1:]], position + 1)


def _segment_pattern(service: Service) -> re.Pattern[str]:
    t = re.escape(service.terminator)
    if not service.release:
        return re.compile(f"([^{t}]*){t}")
    r = re.escape(service.release)
    return re.compile(f"((?:[^{r}{t}]|{r}.)*){t}", re.S)


def _split(body: str, service: Service) -> list[list[str]]:
    """A segment's data elements and their components, release characters resolved."""
    release = service.release
    if not release or release not in body:
        return [e.split(service.component) for e in body.split(service.element)]
    elements: list[list[str]] = [[""]]
    chars = iter(body)
    for ch in chars:
        if ch == release:
            elements[-1][-1] += next(chars, "")
        elif ch == service.element:
            elements.append([""])
        elif ch == service.component:
            elements[-1].append("")
        else:
            elements[-1][-1] += ch
    return elements
