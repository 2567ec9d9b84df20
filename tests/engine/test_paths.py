from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from invoiceflow.engine.paths import (
    PathError,
    compile_getter,
    compile_path,
    parse_reference,
    set_steps,
)

names = st.text(st.characters(codec="utf-8", exclude_characters="'\\\x00"), min_size=1, max_size=8)
steps = st.lists(st.one_of(names, st.integers(0, 5)), max_size=5)


def render(path_steps: list[Any]) -> str:
    out = "$"
    for s in path_steps:
        out += f"[{s}]" if isinstance(s, int) else f"['{s}']"
    return out


@given(steps)
def test_reference_paths_parse_back_to_their_steps(path_steps: list[Any]) -> None:
    assert parse_reference(render(path_steps)) == tuple(path_steps)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=10,
)


@given(
    st.dictionaries(names, json_values, max_size=4),
    st.lists(names, min_size=1, max_size=4),
    json_values,
)
def test_set_then_get_returns_the_value_and_leaves_input_alone(
    doc: dict[str, Any], keys: list[str], value: Any
) -> None:
    import copy

    before = copy.deepcopy(doc)
    try:
        out = set_steps(doc, tuple(keys), value)
    except PathError:
        return  # an intermediate node is not an object: ResultPathMatchFailure territory
    assert compile_path(render(keys)).find(out) == value
    assert doc == before


def test_dot_and_bracket_forms() -> None:
    doc = {"a": {"b c": [10, {"d": 4}]}}
    assert compile_path("$.a['b c'][1].d").find(doc) == 4
    assert compile_path("$").find(doc) is doc


def test_indefinite_paths_return_lists() -> None:
    doc = {"items": [{"id": 1, "p": 5}, {"id": 2, "p": 15}]}
    assert compile_path("$.items[*].id").find(doc) == [1, 2]
    assert compile_path("$.items[?(@.p > 10)].id").find(doc) == [2]
    assert compile_path("$.missing[*].id").find(doc) == []


def test_missing_definite_path_raises() -> None:
    with pytest.raises(PathError):
        compile_path("$.a.b").find({"a": {}})
    with pytest.raises(PathError):
        compile_path("$.a[3]").find({"a": [1]})


def test_context_and_variable_getters() -> None:
    assert compile_getter("$$.Execution.Id")(None, {"Execution": {"Id": "x"}}, None) == "x"
    assert compile_getter("$v.a[0]")(None, None, {"v": {"a": [9]}}) == 9
    with pytest.raises(PathError):
        compile_getter("$v")(None, None, {})
