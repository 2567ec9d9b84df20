"""JSONPath for the States language.

Reference paths (``$.a.b[0]['c d']``) are by far the most common and are parsed here into a
tuple of steps, so reading and writing them costs a few dict look-ups. Anything richer
(wildcards, filters, slices, unions, recursive descent) goes to jsonpath-ng, compiled once.
A path whose form can select several nodes returns a list, as Step Functions does.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from jsonpath_ng.ext.parser import parse as _jp_parse

Step = str | int

_NAME = re.compile(r"\.([^.\[\]\s]+)")
_QUOTED = re.compile(r"\[\s*(?:'((?:[^'\\]|\\.)*)'|\"((?:[^\"\\]|\\.)*)\")\s*\]")
_INDEX = re.compile(r"\[\s*(\d+)\s*\]")
_INDEFINITE = re.compile(r"\*|\.\.|\?\(|:|,")
_VARIABLE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


class PathError(ValueError):
    """A path is malformed, or does not resolve against the document it is applied to."""


def parse_reference(path: str) -> tuple[Step, ...] | None:
    """Steps of a reference path rooted at ``$``, or None when the path is not one."""
    if not path.startswith("$"):
        return None
    steps: list[Step] = []
    pos = 1
    while pos < len(path):
        m = _NAME.match(path, pos)
        if m:
            steps.append(m.group(1))
        elif m := _QUOTED.match(path, pos):
            raw = m.group(1) if m.group(1) is not None else m.group(2)
            steps.append(re.sub(r"\\(.)", r"\1", raw))
        elif m := _INDEX.match(path, pos):
            steps.append(int(m.group(1)))
        else:
            return None
        pos = m.end()
    return tuple(steps)


class Path:
    """A compiled query path. ``find`` raises PathError when nothing matches."""

    __slots__ = ("_expr", "definite", "steps", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.steps = parse_reference(text)
        self.definite = self.steps is not None or not _INDEFINITE.search(text)
        self._expr: Any = None
        if self.steps is None:
            try:
                self._expr = _jp_parse(text)
            except Exception as exc:  # jsonpath-ng raises several unrelated types
                raise PathError(f"invalid JSONPath {text!r}: {exc}") from None

    def find(self, doc: Any) -> Any:
        if self.steps is not None:
            return get_steps(doc, self.steps, self.text)
        try:
            matches = [m.value for m in self._expr.find(doc)]
        except Exception as exc:
            raise PathError(f"the JSONPath {self.text!r} could not be applied: {exc}") from None
        if self.definite:
            if not matches:
                raise PathError(f"the JSONPath {self.text!r} could not be found")
            return matches[0]
        return matches


def get_steps(doc: Any, steps: tuple[Step, ...], text: str) -> Any:
    cur = doc
    for step in steps:
        if isinstance(step, int):
            if isinstance(cur, list) and step < len(cur):
                cur = cur[step]
                continue
        elif isinstance(cur, dict) and step in cur:
            cur = cur[step]
            continue
        raise PathError(f"the JSONPath {text!r} could not be found")
    return cur


@lru_cache(maxsize=4096)
def compile_path(text: str) -> Path:
    return Path(text)


@lru_cache(maxsize=4096)
def compile_reference(text: str) -> tuple[Step, ...]:
    """Steps of a path that must be a reference path (ResultPath, Variable, ...)."""
    steps = parse_reference(text)
    if steps is None:
        raise PathError(f"{text!r} is not a valid reference path")
    return steps


def set_steps(doc: Any, steps: tuple[Step, ...], value: Any) -> Any:
    """``doc`` with ``value`` placed at ``steps``; missing objects on the way are created.

    The input is never mutated: the nodes along the path are shallow-copied, so the rest of
    the document is shared with the original.
    """
    if not steps:
        return value
    head, rest = steps[0], steps[1:]
    if isinstance(head, int):
        if not isinstance(doc, list) or head >= len(doc):
            raise PathError("index out of range")
        out_list = list(doc)
        out_list[head] = set_steps(doc[head], rest, value)
        return out_list
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise PathError(f"cannot set field {head!r} on a {type(doc).__name__}")
    out = dict(doc)
    out[head] = set_steps(doc.get(head), rest, value) if rest else value
    return out


Getter = Callable[[Any, Any, Any], Any]


@lru_cache(maxsize=4096)
def compile_getter(text: str) -> Getter:
    """A reader for any path the data-flow fields accept: ``$...`` (the state's data),
    ``$$...`` (the context object) or ``$name...`` (a variable).

    The reader takes (data, context, variables) and raises PathError when the path does
    not resolve.
    """
    if text.startswith("$$"):
        path = compile_path("$" + text[2:])
        return lambda _data, ctx, _vars: path.find(ctx)
    m = _VARIABLE.match(text)
    if m:
        name = m.group(1)
        inner = compile_path("$" + text[m.end() :])

        def read_variable(_data: Any, _ctx: Any, variables: Any) -> Any:
            if variables is None or name not in variables:
                raise PathError(f"the variable ${name} is not defined")
            return inner.find(variables[name])

        return read_variable
    path = compile_path(text)
    return lambda data, _ctx, _vars: path.find(data)
