"""A state machine definition compiled for the interpreter.

Compilation happens once per definition; the interpreter then only calls prepared closures.
The definition must already have passed ``validate``: compile trusts its shape.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from invoiceflow.engine import jsonata_eval
from invoiceflow.engine.choice import Predicate, compile_rule
from invoiceflow.engine.dataflow import Flow, compile_flow
from invoiceflow.engine.intrinsics import compile_intrinsic, is_intrinsic
from invoiceflow.engine.paths import compile_getter
from invoiceflow.engine.resources import Resource, parse_resource
from invoiceflow.engine.templates import compile_template

JSONATA = "JSONata"
ValueFn = Callable[[Any, Any, Any, Mapping[str, Any]], Any]
"""(state input, context, variables, $states) -> value, for fields given as a value,
a JSONPath ``...Path`` field, or a JSONata expression."""


@dataclass(slots=True)
class Retrier:
    error_equals: list[str]
    interval: float
    max_attempts: int
    backoff: float
    max_delay: float | None
    jitter: bool


@dataclass(slots=True)
class Catcher:
    error_equals: list[str]
    next: str
    flow: Flow


@dataclass(slots=True)
class ChoiceRule:
    test: Callable[[Any, Any, Any, Mapping[str, Any]], bool]
    next: str
    flow: Flow | None


@dataclass(slots=True)
class State:
    name: str
    type: str
    raw: dict[str, Any]
    jsonata: bool
    flow: Flow
    next: str | None = None
    end: bool = False
    retry: list[Retrier] = field(default_factory=list)
    catch: list[Catcher] = field(default_factory=list)
    # Pass
    result: Any = None
    has_result: bool = False
    # Task
    resource: Resource | None = None
    timeout: ValueFn | None = None
    heartbeat: ValueFn | None = None
    # Choice
    choices: list[ChoiceRule] = field(default_factory=list)
    default: str | None = None
    # Wait
    seconds: ValueFn | None = None
    timestamp: ValueFn | None = None
    # Fail
    error: ValueFn | None = None
    cause: ValueFn | None = None
    # Map / Parallel
    items: ValueFn | None = None
    item_selector: Callable[..., Any] | None = None
    max_concurrency: ValueFn | None = None
    tolerated_percentage: ValueFn | None = None
    tolerated_count: ValueFn | None = None
    branches: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Machine:
    key: str
    start_at: str
    states: dict[str, State]


@dataclass(slots=True)
class Definition:
    """Every (sub-)machine of a definition by key: "" is the top level, a Map's processor is
    "<parent>/<state>" and a Parallel branch "<parent>/<state>/<n>"."""

    raw: dict[str, Any]
    machines: dict[str, Machine]
    timeout_seconds: int | None

    @property
    def root(self) -> Machine:
        return self.machines[""]


def compile_definition(raw: dict[str, Any]) -> Definition:
    machines: dict[str, Machine] = {}
    _compile_machine(raw, "", raw.get("QueryLanguage") == JSONATA, machines)
    return Definition(raw=raw, machines=machines, timeout_seconds=raw.get("TimeoutSeconds"))


def _compile_machine(
    raw: Mapping[str, Any], key: str, jsonata: bool, out: dict[str, Machine]
) -> None:
    states: dict[str, State] = {}
    for name, body in raw["States"].items():
        lang = body.get("QueryLanguage")
        states[name] = _compile_state(name, body, lang == JSONATA if lang else jsonata, key, out)
    out[key] = Machine(key=key, start_at=raw["StartAt"], states=states)


def _value_fn(body: Mapping[str, Any], name: str, jsonata: bool) -> ValueFn | None:
    """A reader for a field that may be literal, a ``<name>Path`` or a JSONata expression."""
    if name in body:
        value = body[name]
        if jsonata and jsonata_eval.is_expression(value):
            expr = jsonata_eval.compile_value(value)
            return lambda _i, _c, v, states: expr(states, v)
        return lambda _i, _c, _v, _s: value
    if name + "Path" in body:
        text = body[name + "Path"]
        getter = compile_intrinsic(text) if is_intrinsic(text) else compile_getter(text)
        return lambda i, c, v, _s: getter(i, c, v)
    return None


def _compile_state(
    name: str, body: dict[str, Any], jsonata: bool, key: str, out: dict[str, Machine]
) -> State:
    kind = body["Type"]
    flow = compile_flow(body, jsonata, payload_field=None if kind == "Map" else "Parameters")
    st = State(name=name, type=kind, raw=body, jsonata=jsonata, flow=flow)
    st.next = body.get("Next")
    st.end = body.get("End") is True
    st.retry = [
        Retrier(
            error_equals=list(r["ErrorEquals"]),
            interval=float(r.get("IntervalSeconds", 1)),
            max_attempts=int(r.get("MaxAttempts", 3)),
            backoff=float(r.get("BackoffRate", 2.0)),
            max_delay=float(r["MaxDelaySeconds"]) if "MaxDelaySeconds" in r else None,
            jitter=r.get("JitterStrategy") == "FULL",
        )
        for r in body.get("Retry", [])
    ]
    st.catch = [
        Catcher(
            error_equals=list(c["ErrorEquals"]),
            next=c["Next"],
            flow=compile_flow(
                {k: v for k, v in c.items() if k in ("ResultPath", "Output", "Assign")},
                jsonata,
            ),
        )
        for c in body.get("Catch", [])
    ]
    if kind == "Pass":
        st.has_result = "Result" in body
        st.result = body.get("Result")
    elif kind == "Task":
        st.resource = parse_resource(body["Resource"])
        st.timeout = _value_fn(body, "TimeoutSeconds", jsonata)
        st.heartbeat = _value_fn(body, "HeartbeatSeconds", jsonata)
    elif kind == "Choice":
        st.default = body.get("Default")
        st.choices = [_compile_choice(rule, jsonata) for rule in body["Choices"]]
    elif kind == "Wait":
        st.seconds = _value_fn(body, "Seconds", jsonata)
        st.timestamp = _value_fn(body, "Timestamp", jsonata)
    elif kind == "Fail":
        st.error = _value_fn(body, "Error", jsonata)
        st.cause = _value_fn(body, "Cause", jsonata)
    elif kind == "Map":
        _compile_map(st, body, jsonata, key, out)
    elif kind == "Parallel":
        for n, branch in enumerate(body["Branches"]):
            child = f"{key}/{name}/{n}"
            lang = branch.get("QueryLanguage")
            _compile_machine(branch, child, lang == JSONATA if lang else jsonata, out)
            st.branches.append(child)
    return st


def _compile_choice(rule: Mapping[str, Any], jsonata: bool) -> ChoiceRule:
    flow = compile_flow({"Assign": rule["Assign"]}, jsonata) if "Assign" in rule else None
    if jsonata:
        condition = jsonata_eval.compile_value(rule["Condition"])

        def test_jsonata(_i: Any, _c: Any, v: Any, states: Mapping[str, Any]) -> bool:
            return condition(states, v) is True

        return ChoiceRule(test=test_jsonata, next=rule["Next"], flow=flow)
    predicate: Predicate = compile_rule(dict(rule))

    def test_jsonpath(i: Any, c: Any, v: Any, _s: Mapping[str, Any]) -> bool:
        return predicate(i, c, v)

    return ChoiceRule(test=test_jsonpath, next=rule["Next"], flow=flow)


def _compile_map(
    st: State, body: dict[str, Any], jsonata: bool, key: str, out: dict[str, Machine]
) -> None:
    if jsonata:
        if "Items" in body:
            st.items = _value_fn(body, "Items", True)
        if "ItemSelector" in body:
            selector = jsonata_eval.compile_value(body["ItemSelector"])
            st.item_selector = lambda _i, _c, v, states: selector(states, v)
    else:
        if "ItemsPath" in body:
            items_getter = compile_getter(body["ItemsPath"])
            st.items = lambda i, c, v, _s: items_getter(i, c, v)
        template = body.get("ItemSelector", body.get("Parameters"))
        if template is not None:
            build = compile_template(template)
            st.item_selector = lambda i, c, v, _s: build(i, c, v)
    st.max_concurrency = _value_fn(body, "MaxConcurrency", jsonata)
    st.tolerated_percentage = _value_fn(body, "ToleratedFailurePercentage", jsonata)
    st.tolerated_count = _value_fn(body, "ToleratedFailureCount", jsonata)
    processor = body.get("ItemProcessor") or body["Iterator"]
    child = f"{key}/{st.name}"
    lang = processor.get("QueryLanguage")
    _compile_machine(processor, child, lang == JSONATA if lang else jsonata, out)
    st.branches = [child]
