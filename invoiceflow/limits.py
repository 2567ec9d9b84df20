"""The limits every entry point enforces, in one place so that they agree.

A value that one layer accepts must be one that every layer below can store and every layer
above can show: a JSON document nested 200 levels deep that the API took but the engine's
encoder cannot write would poison whichever worker claims it. So each entry point (API
bodies, task answers, start inputs, definitions, files) checks against the same numbers.
This module imports nothing of invoiceflow, so any layer may use it.
"""

from __future__ import annotations

import re
from typing import Any

JSON_DEPTH = 128
"""Deepest nesting of arrays and objects accepted anywhere (a scalar at the top is depth 0,
``[1]`` is depth 1). orjson writes at most 255 levels; 128 leaves room for what a workflow
wraps around a value it was given (ResultPath, Parameters, Map items)."""

MAX_PAYLOAD = 256 * 1024
"""Bytes of a state's input or output, and of an execution's input: the Step Functions
quota."""

MAX_FILE = 50 * 1024 * 1024
"""Bytes of one received invoice file, by upload or ``submit`` (``serve --max-upload``
changes it for the API)."""

MAX_HISTORY_EVENTS = 25_000
"""Events in one execution's history: the Step Functions Standard quota. The execution that
would pass it fails with ``States.Runtime``, as on AWS."""


class TooDeep(ValueError):
    """A JSON value nested deeper than ``JSON_DEPTH``."""

    def __init__(self, limit: int = JSON_DEPTH) -> None:
        super().__init__(f"JSON is nested more than {limit} levels deep")
        self.limit = limit


def check_depth(value: Any, limit: int = JSON_DEPTH) -> None:
    """Raise ``TooDeep`` if ``value`` (decoded JSON) nests deeper than ``limit``.

    Iterative, so a value deep enough to break recursion is measured all the same; it stops
    at the first branch past the limit.
    """
    stack: list[tuple[Any, int]] = [(value, 0)]
    pop, push = stack.pop, stack.append
    while stack:
        item, depth = pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        depth += 1
        if depth > limit:
            raise TooDeep(limit)
        for child in children:
            if isinstance(child, dict | list | tuple):
                push((child, depth))


def text_depth(text: str | bytes, limit: int = JSON_DEPTH) -> None:
    """Raise ``TooDeep`` if JSON ``text`` opens more than ``limit`` brackets at once, before
    anything decodes it (a decoder may recurse, or refuse with a less helpful message).

    Brackets inside strings are skipped; the text need not be valid JSON (the decoder that
    follows says what else is wrong). Only brackets are visited, so a 10 MiB body of
    ordinary JSON costs a few milliseconds.
    """
    data = text.encode() if isinstance(text, str) else text
    if data.count(b"[") + data.count(b"{") <= limit:
        return  # cannot be deeper than it has brackets
    depth = 0
    for match in _BRACKETS.finditer(data):
        token = match.group()
        if token in b"[{":
            depth += 1
            if depth > limit:
                raise TooDeep(limit)
        elif token in b"]}":
            depth -= 1


# A string (skipped whole, escapes included) or one bracket.
_BRACKETS = re.compile(rb'"(?:[^"\\]|\\.)*"?|[\[\]{}]', re.DOTALL)
