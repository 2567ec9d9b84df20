"""Payload templates of JSONPath states: Parameters, ResultSelector, ItemSelector, Assign.

A template is compiled once into a tree of closures. Keys ending in ``.$`` take their value
from a path (``$``, ``$$``, ``$variable``) or an intrinsic function; other values are literal.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from invoiceflow.engine.errors import RUNTIME, StatesError
from invoiceflow.engine.intrinsics import compile_intrinsic, is_intrinsic
from invoiceflow.engine.paths import PathError, compile_getter
from invoiceflow.engine.values import dumps

Builder = Callable[[Any, Any, Any], Any]


def compile_template(template: Any) -> Builder:
    """A builder ``(data, context, variables) -> value`` for a payload template."""
    if isinstance(template, dict):
        parts: list[tuple[str, Builder, bool]] = []
        for key, value in template.items():
            if key.endswith(".$") and isinstance(value, str):
                parts.append((key[:-2], _dynamic(key, value), True))
            else:
                parts.append((key, compile_template(value), False))
        if not any(dynamic for _, _, dynamic in parts) and all(
            not isinstance(v, dict | list) for v in template.values()
        ):
            frozen = dict(template)
            return lambda _d, _c, _v: dict(frozen)

        def build_object(data: Any, ctx: Any, variables: Any) -> Any:
            return {name: fn(data, ctx, variables) for name, fn, _ in parts}

        return build_object
    if isinstance(template, list):
        items = [compile_template(v) for v in template]
        return lambda data, ctx, variables: [fn(data, ctx, variables) for fn in items]
    return lambda _d, _c, _v: template


def _dynamic(key: str, expr: str) -> Builder:
    if is_intrinsic(expr):
        return compile_intrinsic(expr)
    getter = compile_getter(expr)

    def read(data: Any, ctx: Any, variables: Any) -> Any:
        try:
            return getter(data, ctx, variables)
        except PathError:
            source = "context object" if expr.startswith("$$") else "input"
            doc = ctx if expr.startswith("$$") else data
            raise StatesError(
                RUNTIME,
                f"The JSONPath '{expr}' specified for the field '{key}' could not be found "
                f"in the {source} '{dumps(doc)}'",
            ) from None

    return read
