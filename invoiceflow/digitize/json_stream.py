"""JSON values built from ijson's event stream, one invoice at a time, with the bounds a
whole-document decoder cannot keep: nesting at most ``invoiceflow.limits.JSON_DEPTH``
levels, at most ``limits.MAX_LINES`` items in any array, and each line turned into its
compact ``Line`` as soon as it closes, so an invoice never holds its lines as dicts."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, BinaryIO

import ijson  # type: ignore[import-untyped]  # no stubs published
import msgspec

from invoiceflow.digitize import limits
from invoiceflow.digitize.errors import DigitizeError
from invoiceflow.digitize.model import Line
from invoiceflow.limits import JSON_DEPTH

Event = tuple[str, Any]


MAX_DIGITS = 4000  # below the 4300 digits Python converts to an int
_LONG_DIGITS = re.compile(rb"[0-9]{%d}" % (MAX_DIGITS + 1))


class _ShortNumbers:
    """The stream, refusing a run of more than MAX_DIGITS digits before ijson sees it: its
    C backend fails to convert such an integer and leaves the interpreter with an error
    set, which later crashes the process."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.tail = b""

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        if _LONG_DIGITS.search(self.tail + data):
            raise DigitizeError(
                "bad_json", f"The file has a number of more than {MAX_DIGITS} digits."
            )
        self.tail = (self.tail + data)[-MAX_DIGITS:]
        return data


def events(stream: BinaryIO) -> Iterator[Event]:
    """ijson's events, numbers as int or Decimal (never float). Anything the parser raises
    is bad JSON: its backends raise several types, not only their own error."""
    parser = ijson.basic_parse(_ShortNumbers(stream), use_float=False)
    while True:
        try:
            event = next(parser)
        except StopIteration:
            return
        except DigitizeError:
            raise
        except Exception as exc:  # the backends raise several types, see above
            raise DigitizeError("bad_json", f"The file is not valid JSON: {exc}.") from None
        yield event


def too_deep() -> DigitizeError:
    return DigitizeError(
        "too_deep",
        f"The JSON is nested more than {JSON_DEPTH} levels deep; invoiceflow reads at most "
        f"{JSON_DEPTH}.",
    )


def build(stream: Iterator[Event], first: Event, depth: int, lines: bool = False) -> Any:
    """The value that begins with ``first`` (read from ``stream``), which sits ``depth``
    levels deep. With ``lines``, the value is an invoice: the items of its top-level
    "lines" array become ``Line`` structs as they close."""
    kind, value = first
    if kind not in ("start_map", "start_array"):
        return value
    if depth + 1 > JSON_DEPTH:
        raise too_deep()
    root: Any = {} if kind == "start_map" else []
    stack: list[Any] = [root]
    keys: list[str | None] = [None]
    for kind, value in stream:
        top = stack[-1]
        if kind == "map_key":
            keys[-1] = value
            continue
        if kind in ("end_map", "end_array"):
            done = stack.pop()
            keys.pop()
            if not stack:
                return done
            if lines and len(stack) == 2 and keys[0] == "lines" and isinstance(done, dict):
                stack[-1][-1] = _line(done, len(stack[-1]))
            continue
        if kind in ("start_map", "start_array"):
            if depth + len(stack) + 1 > JSON_DEPTH:
                raise too_deep()
            value = {} if kind == "start_map" else []
        if isinstance(top, list):
            top.append(value)
            if len(top) > limits.MAX_LINES:
                limits.check_lines(len(top), f"{keys[0] or 'an array'}")
        else:
            top[keys[-1]] = value
        if kind in ("start_map", "start_array"):
            stack.append(value)
            keys.append(None)
    raise DigitizeError("bad_json", "The file ends inside a JSON value.")


def _line(item: dict[str, Any], position: int) -> Line:
    try:
        return msgspec.convert(item, Line, strict=False)
    except msgspec.ValidationError as exc:
        raise DigitizeError(
            "json_schema", f"Line {position} does not follow the invoice schema: {exc}."
        ) from None
