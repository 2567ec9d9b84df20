"""The States.* intrinsic functions: parsed once into closures, evaluated per use.

Argument forms follow the Amazon States Language: single-quoted strings with the escapes
\\' \\{ \\} \\\\, numbers, true/false/null, paths ($..., $$..., $variable) and nested calls.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from invoiceflow.engine.errors import INTRINSIC_FAILURE, StatesError
from invoiceflow.engine.paths import compile_getter

Evaluator = Callable[[Any, Any, Any], Any]

MAX_STRING = 10_000
MAX_RANGE = 1000
HASH_ALGORITHMS = {
    "MD5": "md5",
    "SHA-1": "sha1",
    "SHA-256": "sha256",
    "SHA-384": "sha384",
    "SHA-512": "sha512",
}

_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")
_FUNC = re.compile(r"States\.([A-Za-z0-9]+)\s*\(")


class IntrinsicSyntaxError(ValueError):
    """The text is not a well-formed intrinsic function call."""


@dataclass(frozen=True)
class _Literal:
    value: Any
    raw: str | None = None  # the undecoded text of a string literal, for States.Format


def is_intrinsic(text: str) -> bool:
    return text.startswith("States.")


def _fail(message: str) -> StatesError:
    return StatesError(INTRINSIC_FAILURE, message)


def _is_int(v: Any) -> bool:
    return (isinstance(v, int) and not isinstance(v, bool)) or (
        isinstance(v, float) and v.is_integer()
    )


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _string(name: str, v: Any, limit: int | None = MAX_STRING) -> str:
    if not isinstance(v, str):
        raise _fail(f"{name} needs a string argument, got {json.dumps(v)}")
    if limit is not None and len(v) > limit:
        raise _fail(f"{name} accepts at most {limit} characters")
    return v


def _array(name: str, v: Any) -> list[Any]:
    if not isinstance(v, list):
        raise _fail(f"{name} needs an array argument, got {json.dumps(v)}")
    return v


def _to_json(v: Any) -> str:
    return json.dumps(v, separators=(",", ":"), ensure_ascii=False)


def _format_arg(v: Any) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, dict | list):
        raise _fail("States.Format accepts only strings, numbers, booleans and null as values")
    return _to_json(v)


def _render_template(template: str, escaped: bool, args: list[Any]) -> str:
    out: list[str] = []
    used = 0
    i = 0
    while i < len(template):
        ch = template[i]
        if escaped and ch == "\\" and i + 1 < len(template):
            out.append(template[i + 1])
            i += 2
            continue
        if ch == "{" and template.startswith("{}", i):
            if used >= len(args):
                raise _fail("States.Format has more {} placeholders than arguments")
            out.append(_format_arg(args[used]))
            used += 1
            i += 2
            continue
        out.append(ch)
        i += 1
    if used != len(args):
        raise _fail("States.Format has more arguments than {} placeholders")
    return "".join(out)


def _array_range(start: Any, end: Any, step: Any) -> list[int]:
    if not (_is_int(start) and _is_int(end) and _is_int(step)):
        raise _fail("States.ArrayRange needs integer arguments")
    start, end, step = int(start), int(end), int(step)
    if step == 0:
        raise _fail("States.ArrayRange step must not be 0")
    values = list(range(start, end + (1 if step > 0 else -1), step))
    if len(values) > MAX_RANGE:
        raise _fail(f"States.ArrayRange may produce at most {MAX_RANGE} items")
    return values


def _array_partition(array: Any, size: Any) -> list[list[Any]]:
    items = _array("States.ArrayPartition", array)
    if not _is_int(size) or int(size) <= 0:
        raise _fail("States.ArrayPartition chunk size must be a positive integer")
    n = int(size)
    return [items[i : i + n] for i in range(0, len(items), n)]


def _array_get_item(array: Any, index: Any) -> Any:
    items = _array("States.ArrayGetItem", array)
    if not _is_int(index) or int(index) < 0 or int(index) >= len(items):
        raise _fail(f"States.ArrayGetItem index {json.dumps(index)} is out of range")
    return items[int(index)]


def _array_unique(array: Any) -> list[Any]:
    seen: set[str] = set()
    out = []
    for item in _array("States.ArrayUnique", array):
        key = json.dumps(item, sort_keys=True)
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


def _base64_decode(v: Any) -> str:
    text = _string("States.Base64Decode", v)
    try:
        return base64.b64decode(text, validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        raise _fail("States.Base64Decode input is not valid base64 of UTF-8 text") from None


def _hash(data: Any, algorithm: Any) -> str:
    if not isinstance(algorithm, str) or algorithm not in HASH_ALGORITHMS:
        raise _fail(
            f"States.Hash algorithm must be one of {', '.join(HASH_ALGORITHMS)}, "
            f"got {json.dumps(algorithm)}"
        )
    text = data if isinstance(data, str) else _to_json(data)
    if len(text) > MAX_STRING:
        raise _fail(f"States.Hash accepts at most {MAX_STRING} characters")
    return hashlib.new(HASH_ALGORITHMS[algorithm], text.encode("utf-8")).hexdigest()


def _json_merge(a: Any, b: Any, deep: Any) -> dict[str, Any]:
    if not isinstance(a, dict) or not isinstance(b, dict):
        raise _fail("States.JsonMerge needs two JSON objects")
    if deep is not False:
        raise _fail("States.JsonMerge supports only a shallow merge: its third argument is false")
    return {**a, **b}


def _math_random(start: Any, end: Any, seed: Any = None) -> int:
    if not (_is_int(start) and _is_int(end)):
        raise _fail("States.MathRandom needs integer bounds")
    lo, hi = int(start), int(end)
    if lo >= hi:
        raise _fail("States.MathRandom start must be less than end")
    if seed is not None and not _is_int(seed):
        raise _fail("States.MathRandom seed must be an integer")
    rng = random.Random(int(seed)) if seed is not None else random
    return rng.randrange(lo, hi)


def _math_add(a: Any, b: Any) -> int:
    if not (_is_int(a) and _is_int(b)):
        raise _fail("States.MathAdd needs integer arguments")
    return int(a) + int(b)


def _string_split(text: Any, delimiters: Any) -> list[str]:
    s = _string("States.StringSplit", text, None)
    d = _string("States.StringSplit", delimiters, None)
    if not d:
        return [s] if s else []
    return [part for part in re.split("[" + re.escape(d) + "]", s) if part]


def _string_to_json(v: Any) -> Any:
    text = _string("States.StringToJson", v, None)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise _fail(f"States.StringToJson input is not valid JSON: {exc}") from None


def _array_length(v: Any) -> int:
    return len(_array("States.ArrayLength", v))


def _array_contains(array: Any, value: Any) -> bool:
    return value in _array("States.ArrayContains", array)


def _base64_encode(v: Any) -> str:
    return base64.b64encode(_string("States.Base64Encode", v).encode("utf-8")).decode("ascii")


# name -> (function, min args, max args); States.Format is handled apart for its template.
FUNCTIONS: dict[str, tuple[Callable[..., Any], int, int]] = {
    "StringToJson": (_string_to_json, 1, 1),
    "JsonToString": (_to_json, 1, 1),
    "Array": (lambda *a: list(a), 0, 10_000),
    "ArrayPartition": (_array_partition, 2, 2),
    "ArrayContains": (_array_contains, 2, 2),
    "ArrayRange": (_array_range, 3, 3),
    "ArrayGetItem": (_array_get_item, 2, 2),
    "ArrayLength": (_array_length, 1, 1),
    "ArrayUnique": (_array_unique, 1, 1),
    "Base64Encode": (_base64_encode, 1, 1),
    "Base64Decode": (_base64_decode, 1, 1),
    "Hash": (_hash, 2, 2),
    "JsonMerge": (_json_merge, 3, 3),
    "MathRandom": (_math_random, 2, 3),
    "MathAdd": (_math_add, 2, 2),
    "StringSplit": (_string_split, 2, 2),
    "UUID": (lambda: str(uuid.uuid4()), 0, 0),
}
NAMES = frozenset({"Format", *FUNCTIONS})


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def error(self, message: str) -> IntrinsicSyntaxError:
        return IntrinsicSyntaxError(f"{message} at position {self.pos} of {self.text!r}")

    def skip_ws(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def call(self) -> Evaluator:
        m = _FUNC.match(self.text, self.pos)
        if not m:
            raise self.error("expected States.<Function>(")
        name = m.group(1)
        if name not in NAMES:
            raise IntrinsicSyntaxError(f"unknown intrinsic function States.{name}")
        self.pos = m.end()
        args: list[Evaluator | _Literal] = []
        self.skip_ws()
        if self.text.startswith(")", self.pos):
            self.pos += 1
        else:
            while True:
                self.skip_ws()
                args.append(self.argument())
                self.skip_ws()
                if self.text.startswith(",", self.pos):
                    self.pos += 1
                    continue
                if self.text.startswith(")", self.pos):
                    self.pos += 1
                    break
                raise self.error("expected ',' or ')'")
        return _bind(name, args)

    def argument(self) -> Evaluator | _Literal:
        text, pos = self.text, self.pos
        if text.startswith("'", pos):
            return self.string()
        if text.startswith("States.", pos):
            return self.call()
        if text.startswith("$", pos):
            return self.path()
        for word, value in (("true", True), ("false", False), ("null", None)):
            if text.startswith(word, pos):
                self.pos += len(word)
                return _Literal(value)
        m = _NUMBER.match(text, pos)
        if m:
            self.pos = m.end()
            raw = m.group(0)
            is_float = any(c in raw for c in ".eE")
            return _Literal(float(raw) if is_float else int(raw))
        raise self.error("expected an argument")

    def string(self) -> _Literal:
        self.pos += 1
        out: list[str] = []
        start = self.pos
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if ch == "\\":
                nxt = self.text[self.pos + 1 : self.pos + 2]
                if nxt not in ("'", "{", "}", "\\"):
                    raise self.error("open escape backslash in a string literal")
                out.append(nxt)
                self.pos += 2
                continue
            if ch == "'":
                raw = self.text[start : self.pos]
                self.pos += 1
                return _Literal("".join(out), raw)
            out.append(ch)
            self.pos += 1
        raise self.error("unterminated string literal")

    def path(self) -> Evaluator:
        depth = 0
        quote = ""
        start = self.pos
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if quote:
                if ch == "\\":
                    self.pos += 1
                elif ch == quote:
                    quote = ""
            elif ch in "'\"":
                quote = ch
            elif ch in "[(":
                depth += 1
            elif ch in "])":
                if depth == 0:
                    break
                depth -= 1
            elif ch == "," and depth == 0:
                break
            self.pos += 1
        text = self.text[start : self.pos].rstrip()
        try:
            return compile_getter(text)
        except ValueError as exc:
            raise IntrinsicSyntaxError(str(exc)) from None


def _bind(name: str, args: list[Evaluator | _Literal]) -> Evaluator:
    evals = [_as_evaluator(a) for a in args]
    if name == "Format":
        if not args:
            raise IntrinsicSyntaxError("States.Format needs a template argument")
        first = args[0]
        template_lit = first if isinstance(first, _Literal) else None
        if template_lit is not None and not isinstance(template_lit.value, str):
            raise IntrinsicSyntaxError("States.Format's template must be a string")
        rest = evals[1:]

        def format_(data: Any, ctx: Any, variables: Any) -> str:
            values = [e(data, ctx, variables) for e in rest]
            if template_lit is not None:
                return _render_template(template_lit.raw or "", True, values)
            template = evals[0](data, ctx, variables)
            if not isinstance(template, str):
                raise _fail("States.Format's template must be a string")
            return _render_template(template, False, values)

        return format_
    fn, lo, hi = FUNCTIONS[name]
    if not lo <= len(args) <= hi:
        expected = str(lo) if lo == hi else f"{lo} to {hi}"
        raise IntrinsicSyntaxError(f"States.{name} takes {expected} arguments, got {len(args)}")

    def call(data: Any, ctx: Any, variables: Any) -> Any:
        return fn(*[e(data, ctx, variables) for e in evals])

    return call


def _as_evaluator(arg: Evaluator | _Literal) -> Evaluator:
    if isinstance(arg, _Literal):
        value = arg.value
        return lambda _d, _c, _v: value
    return arg


@lru_cache(maxsize=4096)
def compile_intrinsic(text: str) -> Evaluator:
    """Compile ``States.Fn(...)``; raises IntrinsicSyntaxError for malformed text."""
    parser = _Parser(text.strip())
    fn = parser.call()
    parser.skip_ws()
    if parser.pos != len(parser.text):
        raise parser.error("unexpected text after the call")
    return fn
