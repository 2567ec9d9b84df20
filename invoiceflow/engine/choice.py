"""Choice rules of JSONPath states, compiled into predicates over (data, context, variables)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from invoiceflow.engine.errors import RUNTIME, StatesError
from invoiceflow.engine.paths import PathError, compile_getter

Predicate = Callable[[Any, Any, Any], bool]

_KINDS = {"String": "string", "Numeric": "number", "Boolean": "boolean", "Timestamp": "timestamp"}
_RELATIONS: dict[str, Callable[[Any, Any], bool]] = {
    "Equals": lambda a, b: a == b,
    "LessThan": lambda a, b: a < b,
    "GreaterThan": lambda a, b: a > b,
    "LessThanEquals": lambda a, b: a <= b,
    "GreaterThanEquals": lambda a, b: a >= b,
}
COMPARISONS: dict[str, tuple[str, str, bool]] = {}
for _kind_prefix, _kind in _KINDS.items():
    for _rel in ("Equals", "LessThan", "GreaterThan", "LessThanEquals", "GreaterThanEquals"):
        if _kind == "boolean" and _rel != "Equals":
            continue
        COMPARISONS[_kind_prefix + _rel] = (_kind, _rel, False)
        COMPARISONS[_kind_prefix + _rel + "Path"] = (_kind, _rel, True)
COMPARISONS["StringMatches"] = ("string", "Matches", False)
TYPE_TESTS = ("IsNull", "IsPresent", "IsNumeric", "IsString", "IsBoolean", "IsTimestamp")
OPERATORS = frozenset({*COMPARISONS, *TYPE_TESTS})

_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$")


def parse_timestamp(value: Any) -> datetime | None:
    """An RFC 3339 timestamp as Step Functions accepts it (date, 'T', time, zone), else None."""
    if not isinstance(value, str) or not _TIMESTAMP.match(value):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _coerce(kind: str, value: Any) -> Any:
    """The value as a comparable of ``kind``, or None when its type does not fit."""
    if kind == "string":
        return value if isinstance(value, str) else None
    if kind == "number":
        return value if _is_number(value) else None
    if kind == "boolean":
        return value if isinstance(value, bool) else None
    return parse_timestamp(value)


def wildcard_regex(pattern: str) -> re.Pattern[str]:
    """StringMatches: '*' is any run of characters; '\\*' and '\\\\' are literal."""
    out = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern) and pattern[i + 1] in "*\\":
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if ch == "*" else re.escape(ch))
        i += 1
    return re.compile("".join(out), re.DOTALL)


def _invalid_path(path: str) -> StatesError:
    return StatesError(
        RUNTIME,
        f"Invalid path '{path}': The choice state's condition path references an invalid value.",
    )


def compile_rule(rule: dict[str, Any]) -> Predicate:
    """Compile one rule (boolean combinator or data test); the definition is already valid."""
    if "And" in rule:
        parts = [compile_rule(r) for r in rule["And"]]
        return lambda d, c, v: all(p(d, c, v) for p in parts)
    if "Or" in rule:
        parts = [compile_rule(r) for r in rule["Or"]]
        return lambda d, c, v: any(p(d, c, v) for p in parts)
    if "Not" in rule:
        inner = compile_rule(rule["Not"])
        return lambda d, c, v: not inner(d, c, v)
    variable = rule["Variable"]
    read = compile_getter(variable)
    op = next(k for k in rule if k in OPERATORS)
    operand = rule[op]
    if op in TYPE_TESTS:
        return _type_test(op, operand, read, variable)
    kind, relation, is_path = COMPARISONS[op]
    if relation == "Matches":
        regex = wildcard_regex(operand)

        def matches(d: Any, c: Any, v: Any) -> bool:
            value = _read(read, variable, d, c, v)
            return isinstance(value, str) and regex.fullmatch(value) is not None

        return matches
    compare = _RELATIONS[relation]
    if is_path:
        read_other = compile_getter(operand)

        def compare_path(d: Any, c: Any, v: Any) -> bool:
            left = _coerce(kind, _read(read, variable, d, c, v))
            right = _coerce(kind, _read(read_other, operand, d, c, v))
            return left is not None and right is not None and compare(left, right)

        return compare_path
    expected = _coerce(kind, operand)

    def compare_value(d: Any, c: Any, v: Any) -> bool:
        left = _coerce(kind, _read(read, variable, d, c, v))
        return left is not None and expected is not None and compare(left, expected)

    return compare_value


def _read(read: Callable[[Any, Any, Any], Any], path: str, d: Any, c: Any, v: Any) -> Any:
    try:
        return read(d, c, v)
    except PathError:
        raise _invalid_path(path) from None


def _type_test(
    op: str, expected: bool, read: Callable[[Any, Any, Any], Any], path: str
) -> Predicate:
    if op == "IsPresent":

        def present(d: Any, c: Any, v: Any) -> bool:
            try:
                read(d, c, v)
            except PathError:
                return not expected
            return expected

        return present
    test: Callable[[Any], bool] = {
        "IsNull": lambda x: x is None,
        "IsNumeric": _is_number,
        "IsString": lambda x: isinstance(x, str),
        "IsBoolean": lambda x: isinstance(x, bool),
        "IsTimestamp": lambda x: parse_timestamp(x) is not None,
    }[op]

    def type_test(d: Any, c: Any, v: Any) -> bool:
        return test(_read(read, path, d, c, v)) == expected

    return type_test
