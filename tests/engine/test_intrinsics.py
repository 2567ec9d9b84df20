import hashlib
import json
import re

import pytest

from invoiceflow.engine.errors import INTRINSIC_FAILURE, StatesError
from invoiceflow.engine.intrinsics import IntrinsicSyntaxError, compile_intrinsic

DATA = {"name": "Ada", "tpl": "Hi {}", "arr": [1, 2, 2, 3], "obj": {"a": 1}, "s": '{"x": [1]}'}


def ev(text: str, data: object = DATA) -> object:
    return compile_intrinsic(text)(data, {"Execution": {"Id": "e"}}, {"v": {"k": 7}})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("States.Format('Hello, {}.', $.name)", "Hello, Ada."),
        ("States.Format($.tpl, $.name)", "Hi Ada"),
        ("States.Format('{} {} {}', 1, true, null)", "1 true null"),
        ("States.Format('\\{\\} {}', 'x')", "{} x"),
        ("States.Format('it\\'s {}', $$.Execution.Id)", "it's e"),
        ("States.StringToJson($.s)", {"x": [1]}),
        ("States.JsonToString($.obj)", '{"a":1}'),
        ("States.Array()", []),
        ("States.Array($.name, 1, States.Array(2))", ["Ada", 1, [2]]),
        ("States.ArrayPartition($.arr, 3)", [[1, 2, 2], [3]]),
        ("States.ArrayPartition(States.Array(), 2)", []),
        ("States.ArrayContains($.arr, 3)", True),
        ("States.ArrayContains($.arr, 9)", False),
        ("States.ArrayRange(1, 9, 2)", [1, 3, 5, 7, 9]),
        ("States.ArrayRange(5, 1, -2)", [5, 3, 1]),
        ("States.ArrayGetItem($.arr, 3)", 3),
        ("States.ArrayLength($.arr)", 4),
        ("States.ArrayUnique($.arr)", [1, 2, 3]),
        ("States.Base64Encode('Data to encode')", "RGF0YSB0byBlbmNvZGU="),
        ("States.Base64Decode('RGF0YSB0byBlbmNvZGU=')", "Data to encode"),
        ("States.Hash('x', 'SHA-256')", hashlib.sha256(b"x").hexdigest()),
        ("States.Hash('x', 'MD5')", hashlib.md5(b"x").hexdigest()),
        ("States.JsonMerge($.obj, States.StringToJson('{\"b\": 2}'), false)", {"a": 1, "b": 2}),
        ("States.MathAdd(111, -1)", 110),
        ("States.StringSplit('1,2,3', ',')", ["1", "2", "3"]),
        (
            "States.StringSplit('This.is+a,test=string', '.+,=')",
            ["This", "is", "a", "test", "string"],
        ),
        ("States.StringSplit('a,,b', ',')", ["a", "b"]),
        ("States.Format('{}', $v.k)", "7"),
    ],
)
def test_intrinsic_values(text: str, expected: object) -> None:
    assert ev(text) == expected


def test_uuid_and_random() -> None:
    assert re.fullmatch(r"[0-9a-f-]{36}", str(ev("States.UUID()")))
    values = {ev("States.MathRandom(1, 3)") for _ in range(50)}
    assert values <= {1, 2}
    assert ev("States.MathRandom(1, 1000, 7)") == ev("States.MathRandom(1, 1000, 7)")


@pytest.mark.parametrize(
    "text",
    [
        "States.Format('{} {}', 1)",
        "States.Format('{}', 1, 2)",
        "States.Format('{}', $.obj)",
        "States.ArrayRange(1, 2000, 1)",
        "States.ArrayRange(1, 5, 0)",
        "States.ArrayPartition($.arr, 0)",
        "States.ArrayGetItem($.arr, 4)",
        "States.ArrayLength($.name)",
        "States.Base64Decode('***')",
        "States.Hash('x', 'SHA-999')",
        "States.JsonMerge($.obj, $.obj, true)",
        "States.MathAdd(1.5, 1)",
        "States.MathRandom(5, 1)",
        "States.StringToJson('{nope')",
    ],
)
def test_intrinsic_failures(text: str) -> None:
    with pytest.raises(StatesError) as info:
        ev(text)
    assert info.value.error == INTRINSIC_FAILURE


def test_input_length_limits() -> None:
    with pytest.raises(StatesError):
        ev("States.Base64Encode($.s)", {"s": "x" * 10_001})
    assert ev("States.Base64Encode($.s)", {"s": "x" * 10_000})


@pytest.mark.parametrize(
    "text",
    [
        "States.Nope(1)",
        "States.Format(",
        "States.MathAdd(1)",
        "States.UUID(1)",
        "States.Format('bad \\q escape')",
        "States.Array(1) trailing",
    ],
)
def test_malformed_calls_are_refused(text: str) -> None:
    with pytest.raises(IntrinsicSyntaxError):
        compile_intrinsic(text)


def test_json_to_string_round_trips() -> None:
    value = {"a": [1, {"b": None}], "c": "é"}
    text = ev("States.JsonToString($)", value)
    assert isinstance(text, str) and json.loads(text) == value
