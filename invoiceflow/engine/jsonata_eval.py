"""JSONata for states whose QueryLanguage is JSONata.

A field value ``"{% expr %}"`` is an expression; every other string is literal. Expressions are
compiled once. ``$states`` and the execution's variables are bound for each evaluation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

import jsonata

from invoiceflow.engine.errors import QUERY_EVALUATION_ERROR, StatesError

Evaluator = Callable[[Mapping[str, Any], Any], Any]


def is_expression(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("{%") and value.endswith("%}")


@lru_cache(maxsize=4096)
def compile_expression(text: str) -> Any:
    """The compiled JSONata expression inside ``{% ... %}``; raises ValueError if malformed."""
    body = text[2:-2].strip()
    if not body:
        raise ValueError("empty JSONata expression")
    try:
        return jsonata.Jsonata(body)
    except Exception as exc:  # the library raises its own JException
        raise ValueError(f"invalid JSONata expression {body!r}: {exc}") from None


def _plain(value: Any) -> Any:
    """Convert the library's sequences and numbers to plain JSON values."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def evaluate(text: str, states: Mapping[str, Any], variables: Any) -> Any:
    expr = compile_expression(text)
    bindings: dict[str, Any] = dict(variables) if variables else {}
    bindings["states"] = states
    try:
        result = expr.evaluate(None, bindings)
    except StatesError:
        raise
    except Exception as exc:
        raise StatesError(QUERY_EVALUATION_ERROR, f"{text}: {exc}") from None
    return _plain(result)


def compile_value(template: Any) -> Evaluator:
    """An evaluator ``(states, variables) -> value`` for a JSONata-mode field value.

    Objects and arrays are walked, so expressions may sit at any depth.
    """
    if is_expression(template):
        compile_expression(template)
        return lambda states, variables: evaluate(template, states, variables)
    if isinstance(template, dict):
        parts = [(k, compile_value(v)) for k, v in template.items()]
        return lambda states, variables: {k: fn(states, variables) for k, fn in parts}
    if isinstance(template, list):
        items = [compile_value(v) for v in template]
        return lambda states, variables: [fn(states, variables) for fn in items]
    return lambda _s, _v: template
