"""Reading X12 interchanges: delimiters from the ISA segment, segments streamed one by one.

The ISA segment declares the separators: the character after "ISA" separates elements, the
one after the sixteenth element separates sub-elements, and the next one ends segments
(ISA11 is the repetition separator from version 00402 on). Segments may be followed by line
breaks and indentation, and the file may start with a byte-order mark. The reader holds one
chunk of the file at a time, so memory does not grow with the file.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from invoiceflow.digitize import limits
from invoiceflow.digitize.errors import DigitizeError

CHUNK = 1 << 16
_BOM = codecs.BOM_UTF8


@dataclass(frozen=True, slots=True)
class Delimiters:
    element: str
    sub_element: str
    segment: str
    repetition: str | None


@dataclass(frozen=True, slots=True)
class Segment:
    tag: str
    elements: list[str]  # elements[0] is the tag, so elements[n] is the nth element
    position: int  # 1-based position of the segment in the file

    def get(self, n: int) -> str:
        """Element ``n`` (1-based), or "" when absent."""
        return self.elements[n].strip() if n < len(self.elements) else ""


def _delimiters(head: str) -> Delimiters:
    if not head.startswith("ISA") or len(head) < 4:
        raise DigitizeError(
            "x12_no_isa", "An X12 file must start with an ISA segment.", "segment 1"
        )
    element = head[3]
    index = 3
    for _ in range(15):  # from the first element separator to the sixteenth
        index = head.find(element, index + 1)
        if index < 0:
            raise DigitizeError(
                "x12_bad_isa", "The ISA segment is cut short: it needs 16 elements.", "segment 1"
            )
    if len(head) < index + 3:
        raise DigitizeError(
            "x12_bad_isa", "The ISA segment ends before its segment terminator.", "segment 1"
        )
    sub_element, segment = head[index + 1], head[index + 2]
    fields = head[: index + 1].split(element)
    repetition = fields[11] if len(fields) > 12 and fields[12].strip() >= "00402" else None
    if len({element, sub_element, segment}) < 3 or segment.isalnum() or element.isalnum():
        raise DigitizeError(
            "x12_bad_delimiters",
            f"The ISA segment declares unusable separators {element!r}, {sub_element!r}, "
            f"{segment!r}.",
            "segment 1",
        )
    return Delimiters(element, sub_element, segment, repetition)


def read_segments(stream: BinaryIO) -> Iterator[tuple[Delimiters, Segment]]:
    """Every segment of the X12 data in ``stream``, with the delimiters in force (a file may
    hold several interchanges, each declaring its own).

    The buffer is walked with an offset and cut once per chunk, never once per segment, so
    reading is linear in the file. A segment longer than ``limits.MAX_SEGMENT`` ends the
    file in error (it would otherwise be held whole), as does a file whose only terminated
    segment is the ISA: its terminator is not the one the rest of the file uses."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    first = stream.read(CHUNK)
    if first.startswith(_BOM):
        first = first[len(_BOM) :]
    buffer = decoder.decode(first).lstrip()
    at = 0  # where the unread part of buffer begins
    position = 0
    delimiters: Delimiters | None = None
    eof = not first

    def more() -> bool:
        nonlocal buffer, at, eof
        if eof:
            return False
        data = stream.read(CHUNK)
        eof = not data
        buffer = buffer[at:] + decoder.decode(data, final=eof)
        at = 0
        return True

    while True:
        while at < len(buffer) and buffer[at].isspace():
            at += 1
        if delimiters is None or buffer.startswith("ISA", at):
            while len(buffer) - at < 200 and more():
                pass
            while at < len(buffer) and buffer[at].isspace():
                at += 1
            if at >= len(buffer):
                return
            delimiters = _delimiters(buffer[at : at + 200])
        end = buffer.find(delimiters.segment, at)
        while end < 0:
            if len(buffer) - at > limits.MAX_SEGMENT:
                raise limits.segment_too_long(f"An X12 segment (after segment {position})")
            searched = len(buffer) - at
            if not more():
                break
            end = buffer.find(delimiters.segment, at + searched)
        if end < 0:  # the last segment may lack its terminator: the end of data ends it
            if not buffer[at:].strip():
                return
            if position <= 1:
                raise DigitizeError(
                    "x12_no_terminator",
                    f"The ISA segment declares {delimiters.segment!r} as the segment "
                    "terminator, but no segment after it ends with one.",
                    "segment 2",
                )
            end = len(buffer)
        if end - at > limits.MAX_SEGMENT:
            raise limits.segment_too_long(f"X12 segment {position + 1}")
        text = buffer[at:end].strip()
        at = end + 1
        if not text:
            continue
        position += 1
        elements = text.split(delimiters.element)
        yield delimiters, Segment(elements[0].strip().upper(), elements, position)
