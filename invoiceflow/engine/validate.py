"""Definition validation: every problem, each at its JSON path, before anything runs.

Checks what statelint checks and what Step Functions refuses: structure and field types,
fields allowed per state type and query language, transitions to missing states, unreachable
states, terminal rules, paths, intrinsic functions, JSONata expressions, retriers and
catchers, and resources invoiceflow cannot run. Duplicate keys are caught in the raw text.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeGuard

from invoiceflow.engine import jsonata_eval
from invoiceflow.engine.choice import COMPARISONS, OPERATORS, TYPE_TESTS, parse_timestamp
from invoiceflow.engine.intrinsics import IntrinsicSyntaxError, compile_intrinsic, is_intrinsic
from invoiceflow.engine.paths import PathError, compile_getter, compile_reference
from invoiceflow.engine.resources import parse_resource
from invoiceflow.limits import TooDeep, check_depth, text_depth

__all__ = ["Problem", "validate"]

COMMON = {"Type", "Comment", "QueryLanguage"}
JSONPATH_IO = {"InputPath", "OutputPath"}
FIELDS: dict[str, set[str]] = {
    "Pass": {"Next", "End", "Result", "ResultPath", "Parameters", "Assign", "Output"} | JSONPATH_IO,
    "Task": {
        "Next",
        "End",
        "Resource",
        "Parameters",
        "ResultSelector",
        "ResultPath",
        "Retry",
        "Catch",
        "TimeoutSeconds",
        "TimeoutSecondsPath",
        "HeartbeatSeconds",
        "HeartbeatSecondsPath",
        "Credentials",
        "Arguments",
        "Output",
        "Assign",
    }
    | JSONPATH_IO,
    "Choice": {"Choices", "Default", "Assign", "Output"} | JSONPATH_IO,
    "Wait": {
        "Next",
        "End",
        "Seconds",
        "Timestamp",
        "SecondsPath",
        "TimestampPath",
        "Assign",
        "Output",
    }
    | JSONPATH_IO,
    "Succeed": {"Output"} | JSONPATH_IO,
    "Fail": {"Error", "ErrorPath", "Cause", "CausePath"},
    "Parallel": {
        "Next",
        "End",
        "Branches",
        "Parameters",
        "ResultSelector",
        "ResultPath",
        "Retry",
        "Catch",
        "Arguments",
        "Output",
        "Assign",
    }
    | JSONPATH_IO,
    "Map": {
        "Next",
        "End",
        "Iterator",
        "ItemProcessor",
        "ItemsPath",
        "Items",
        "ItemSelector",
        "Parameters",
        "MaxConcurrency",
        "MaxConcurrencyPath",
        "ResultSelector",
        "ResultPath",
        "Retry",
        "Catch",
        "ItemReader",
        "ItemBatcher",
        "ResultWriter",
        "ToleratedFailurePercentage",
        "ToleratedFailurePercentagePath",
        "ToleratedFailureCount",
        "ToleratedFailureCountPath",
        "Label",
        "Output",
        "Assign",
    }
    | JSONPATH_IO,
}
ONLY_JSONPATH = {
    "InputPath",
    "OutputPath",
    "Parameters",
    "ResultSelector",
    "ResultPath",
    "ItemsPath",
    "TimeoutSecondsPath",
    "HeartbeatSecondsPath",
    "SecondsPath",
    "TimestampPath",
    "ErrorPath",
    "CausePath",
    "MaxConcurrencyPath",
    "ToleratedFailurePercentagePath",
    "ToleratedFailureCountPath",
}
ONLY_JSONATA = {"Arguments", "Output", "Items"}
TRANSITIONING = {"Pass", "Task", "Wait", "Parallel", "Map"}
TOP_FIELDS = {"StartAt", "States", "Comment", "Version", "TimeoutSeconds", "QueryLanguage"}


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason a definition is refused. ``path`` is a JSONPath into the definition."""

    path: str
    message: str
    code: str = "SCHEMA_VALIDATION_FAILED"

    @property
    def location(self) -> str:
        """The same place as a JSON pointer, as ValidateStateMachineDefinition reports it."""
        return _pointer(self.path)

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class _Obj(dict[str, Any]):
    """A JSON object that remembers keys it saw more than once, with the earlier values
    (which a plain dict would silently drop, hiding their own problems)."""

    shadowed: list[tuple[str, Any]]


def _pairs(pairs: list[tuple[str, Any]]) -> _Obj:
    obj = _Obj()
    obj.shadowed = []
    for key, value in pairs:
        if key in obj:
            obj.shadowed.append((key, obj[key]))
        obj[key] = value
    return obj


MAX_DEFINITION = 1024 * 1024  # bytes, the Step Functions quota on a definition


def parse_definition(text: str) -> Any:
    """Parse JSON text keeping track of duplicate keys; raises ValueError if not JSON."""
    return json.loads(text, object_pairs_hook=_pairs)


def validate(definition: dict[str, Any] | str) -> list[Problem]:
    """Every problem of ``definition`` (a dict or JSON text); empty when it is valid."""
    if isinstance(definition, str | bytes):
        text = definition if isinstance(definition, str) else definition.decode()
        if len(text.encode()) > MAX_DEFINITION:
            return [
                Problem(
                    "$",
                    f"the definition is larger than {MAX_DEFINITION} bytes",
                    "INVALID_JSON_DESCRIPTION",
                )
            ]
        try:
            text_depth(text)
            definition = parse_definition(text)
        except ValueError as exc:  # TooDeep is one
            return [
                Problem("$", f"the definition is not valid JSON: {exc}", "INVALID_JSON_DESCRIPTION")
            ]
    else:
        try:
            check_depth(definition)
        except TooDeep as exc:
            return [
                Problem("$", f"the definition is not valid JSON: {exc}", "INVALID_JSON_DESCRIPTION")
            ]
    checker = _Checker()
    checker.machine(definition, "$", top=True, jsonata=False)
    return checker.problems


def _key(path: str, key: str) -> str:
    if key.isidentifier():
        return f"{path}.{key}"
    return f"{path}[{json.dumps(key)}]"


def _pointer(path: str) -> str:
    out = []
    rest = path[1:]
    while rest:
        if rest.startswith("."):
            end = len(rest)
            for sep in (".", "["):
                i = rest.find(sep, 1)
                if i != -1:
                    end = min(end, i)
            out.append(rest[1:end])
            rest = rest[end:]
        else:
            end = rest.index("]")
            token = rest[1:end]
            out.append(str(json.loads(token)) if token.startswith('"') else token)
            rest = rest[end + 1 :]
    return "/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in out)


def _is_int(v: Any) -> TypeGuard[int]:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> TypeGuard[float]:
    return isinstance(v, int | float) and not isinstance(v, bool)


class _Checker:
    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, path: str, message: str, code: str = "SCHEMA_VALIDATION_FAILED") -> None:
        self.problems.append(Problem(path, message, code))

    def duplicates(self, obj: Any, path: str) -> None:
        for key, _ in getattr(obj, "shadowed", ()):
            self.add(_key(path, key), f"duplicate key {key!r}", "DUPLICATE_KEY")

    # -- machines ------------------------------------------------------------------------
    def machine(self, m: Any, path: str, *, top: bool, jsonata: bool) -> None:
        if not isinstance(m, dict):
            self.add(path, "a state machine must be a JSON object")
            return
        self.duplicates(m, path)
        allowed = (
            TOP_FIELDS
            if top
            else {"StartAt", "States", "Comment", "ProcessorConfig", "QueryLanguage"}
        )
        for key in m:
            if key not in allowed:
                self.add(_key(path, key), f"field {key!r} is not allowed here")
        lang = m.get("QueryLanguage")
        if lang is not None and lang not in ("JSONPath", "JSONata"):
            self.add(_key(path, "QueryLanguage"), "QueryLanguage must be JSONPath or JSONata")
        elif lang == "JSONPath" and jsonata and not top:
            self.add(
                _key(path, "QueryLanguage"),
                "a JSONata state machine cannot contain JSONPath states",
            )
        jsonata = lang == "JSONata" if lang else jsonata
        if (
            top
            and "TimeoutSeconds" in m
            and not (_is_int(m["TimeoutSeconds"]) and m["TimeoutSeconds"] > 0)
        ):
            self.add(_key(path, "TimeoutSeconds"), "TimeoutSeconds must be a positive integer")
        states = m.get("States")
        if not isinstance(states, dict) or not states:
            self.add(_key(path, "States"), "States must be a non-empty object")
            states = {}
        else:
            self.duplicates(states, _key(path, "States"))
        start = m.get("StartAt")
        if not isinstance(start, str):
            self.add(_key(path, "StartAt"), "StartAt is required and must be a string")
        elif states and start not in states:
            self.add(
                _key(path, "StartAt"),
                f"StartAt names a state that does not exist: {start!r}",
                "MISSING_TRANSITION_TARGET",
            )
        shadowed = getattr(states, "shadowed", [])
        for name, body in [*shadowed, *states.items()]:
            spath = _key(_key(path, "States"), name)
            if len(name) > 80:
                self.add(spath, "a state name may have at most 80 characters")
            self.state(name, body, spath, states, jsonata)
        if isinstance(start, str) and start in states:
            self.reachability(start, states, _key(path, "States"))

    def reachability(self, start: str, states: dict[str, Any], path: str) -> None:
        seen = {start}
        todo = [start]
        while todo:
            body = states.get(todo.pop())
            if not isinstance(body, dict):
                continue
            for target in _targets(body):
                if target in states and target not in seen:
                    seen.add(target)
                    todo.append(target)
        for name in states:
            if name not in seen:
                self.add(
                    _key(path, name),
                    f"state {name!r} is not reachable from StartAt",
                    "UNREACHABLE_STATE",
                )

    # -- states --------------------------------------------------------------------------
    def state(self, name: str, s: Any, path: str, states: dict[str, Any], jsonata: bool) -> None:
        if not isinstance(s, dict):
            self.add(path, "a state must be a JSON object")
            return
        self.duplicates(s, path)
        kind = s.get("Type")
        if kind not in FIELDS:
            self.add(_key(path, "Type"), f"Type must be one of {', '.join(FIELDS)}, got {kind!r}")
            return
        lang = s.get("QueryLanguage")
        if lang is not None and lang not in ("JSONPath", "JSONata"):
            self.add(_key(path, "QueryLanguage"), "QueryLanguage must be JSONPath or JSONata")
        elif lang == "JSONPath" and jsonata:
            self.add(
                _key(path, "QueryLanguage"),
                "a state cannot use JSONPath in a JSONata state machine",
            )
        jsonata = lang == "JSONata" if lang else jsonata
        allowed = FIELDS[kind] | COMMON
        for key in s:
            if key not in allowed:
                self.add(_key(path, key), f"field {key!r} is not allowed in a {kind} state")
            elif jsonata and key in ONLY_JSONPATH:
                self.add(_key(path, key), f"field {key!r} is not allowed in a JSONata state")
            elif not jsonata and key in ONLY_JSONATA:
                self.add(_key(path, key), f"field {key!r} is only allowed in a JSONata state")
        self.transition(s, path, states, kind)
        for key in ("InputPath", "OutputPath"):
            if key in s and s[key] is not None:
                self.path_field(s[key], _key(path, key))
        if "ResultPath" in s and s["ResultPath"] is not None:
            self.reference(s["ResultPath"], _key(path, "ResultPath"))
        for key in ("Parameters", "ResultSelector", "ItemSelector"):
            if key in s and not jsonata:
                self.template(s[key], _key(path, key), key)
        for key in ("Arguments", "Output", "ItemSelector", "Items"):
            if key in s and jsonata:
                self.jsonata_value(s[key], _key(path, key))
        if "Assign" in s:
            self.assign(s["Assign"], _key(path, "Assign"), jsonata)
        getattr(self, f"check_{kind.lower()}")(s, path, states, jsonata)
        if "Retry" in s:
            self.retry(s["Retry"], _key(path, "Retry"))
        if "Catch" in s:
            self.catch(s["Catch"], _key(path, "Catch"), states, jsonata)

    def transition(self, s: dict[str, Any], path: str, states: dict[str, Any], kind: str) -> None:
        has_next, has_end = "Next" in s, "End" in s
        if "End" in s and s["End"] is not True:
            self.add(_key(path, "End"), f"End must be the boolean true, got {json.dumps(s['End'])}")
        if kind not in TRANSITIONING:
            return
        if has_next and has_end:
            self.add(path, "a state may have Next or End, not both")
        elif not has_next and not has_end:
            self.add(path, f'a {kind} state needs Next or "End": true', "MISSING_TRANSITION")
        if has_next:
            self.target(s["Next"], _key(path, "Next"), states)

    def target(self, name: Any, path: str, states: dict[str, Any]) -> None:
        if not isinstance(name, str):
            self.add(path, "a transition target must be a state name")
        elif name not in states:
            self.add(path, f"no state named {name!r} in this scope", "MISSING_TRANSITION_TARGET")

    # -- fields --------------------------------------------------------------------------
    def path_field(self, value: Any, path: str) -> None:
        if not isinstance(value, str) or not value.startswith("$"):
            self.add(path, f"{json.dumps(value)} is not a path (it must start with $)")
            return
        try:
            compile_getter(value)
        except (PathError, ValueError) as exc:
            self.add(path, str(exc))

    def reference(self, value: Any, path: str) -> None:
        if not isinstance(value, str):
            self.add(path, "a reference path must be a string")
            return
        try:
            compile_reference(value)
        except PathError as exc:
            self.add(path, str(exc))

    def template(self, value: Any, path: str, field: str) -> None:
        if isinstance(value, dict):
            self.duplicates(value, path)
            for key, inner in value.items():
                ipath = _key(path, key)
                if key.endswith(".$"):
                    if not isinstance(inner, str):
                        self.add(ipath, f"the value of {key!r} must be a path or intrinsic")
                    elif is_intrinsic(inner):
                        self.intrinsic(inner, ipath)
                    else:
                        self.path_field(inner, ipath)
                else:
                    self.template(inner, ipath, field)
        elif isinstance(value, list):
            for i, inner in enumerate(value):
                self.template(inner, f"{path}[{i}]", field)

    def intrinsic(self, text: str, path: str) -> None:
        try:
            compile_intrinsic(text)
        except IntrinsicSyntaxError as exc:
            self.add(path, str(exc), "INVALID_INTRINSIC_FUNCTION")

    def jsonata_value(self, value: Any, path: str) -> None:
        if jsonata_eval.is_expression(value):
            try:
                jsonata_eval.compile_expression(value)
            except ValueError as exc:
                self.add(path, str(exc), "INVALID_JSONATA")
        elif isinstance(value, dict):
            for key, inner in value.items():
                self.jsonata_value(inner, _key(path, key))
        elif isinstance(value, list):
            for i, inner in enumerate(value):
                self.jsonata_value(inner, f"{path}[{i}]")

    def assign(self, value: Any, path: str, jsonata: bool) -> None:
        if not isinstance(value, dict):
            self.add(path, "Assign must be an object")
            return
        for key in value:
            name = key[:-2] if key.endswith(".$") and not jsonata else key
            if not name.isidentifier() or name.startswith("$"):
                self.add(_key(path, key), f"{name!r} is not a valid variable name")
        if jsonata:
            self.jsonata_value(value, path)
        else:
            self.template(value, path, "Assign")

    def number_or_path(
        self,
        s: dict[str, Any],
        path: str,
        name: str,
        jsonata: bool,
        *,
        positive: bool,
        required: bool = False,
    ) -> None:
        has_value, has_path = name in s, name + "Path" in s
        if has_value and has_path:
            self.add(path, f"{name} and {name}Path cannot both be set")
        if required and not has_value and not has_path:
            self.add(path, f"one of {name} or {name}Path is required")
        if has_value:
            v = s[name]
            if jsonata and jsonata_eval.is_expression(v):
                self.jsonata_value(v, _key(path, name))
            elif not _is_int(v) or v < (1 if positive else 0):
                kind = "positive" if positive else "non-negative"
                self.add(_key(path, name), f"{name} must be a {kind} integer")
        if has_path:
            self.path_field(s[name + "Path"], _key(path, name + "Path"))

    # -- per type ------------------------------------------------------------------------
    def check_pass(self, s: dict[str, Any], path: str, states: Any, jsonata: bool) -> None:
        return

    def check_succeed(self, s: dict[str, Any], path: str, states: Any, jsonata: bool) -> None:
        return

    def check_task(self, s: dict[str, Any], path: str, states: Any, jsonata: bool) -> None:
        resource = s.get("Resource")
        if not isinstance(resource, str):
            self.add(_key(path, "Resource"), "Resource is required and must be a string")
        elif parse_resource(resource) is None:
            self.add(
                _key(path, "Resource"),
                f"unknown or unsupported resource {resource!r}",
                "UNSUPPORTED_RESOURCE",
            )
        self.number_or_path(s, path, "TimeoutSeconds", jsonata, positive=True)
        self.number_or_path(s, path, "HeartbeatSeconds", jsonata, positive=True)
        t, h = s.get("TimeoutSeconds"), s.get("HeartbeatSeconds")
        if _is_int(t) and _is_int(h) and h >= t:
            self.add(
                _key(path, "HeartbeatSeconds"),
                "HeartbeatSeconds must be smaller than TimeoutSeconds",
            )

    def check_choice(self, s: dict[str, Any], path: str, states: Any, jsonata: bool) -> None:
        choices = s.get("Choices")
        if not isinstance(choices, list) or not choices:
            self.add(_key(path, "Choices"), "Choices must be a non-empty array")
            choices = []
        for i, rule in enumerate(choices):
            rpath = f"{_key(path, 'Choices')}[{i}]"
            self.rule(rule, rpath, jsonata, top=True)
            if isinstance(rule, dict):
                self.target(rule.get("Next"), _key(rpath, "Next"), states)
        if "Default" in s:
            self.target(s["Default"], _key(path, "Default"), states)

    def rule(self, rule: Any, path: str, jsonata: bool, *, top: bool) -> None:
        if not isinstance(rule, dict):
            self.add(path, "a choice rule must be an object")
            return
        self.duplicates(rule, path)
        extra = {"Next", "Comment", "Assign", "Output"} if top else {"Comment"}
        if jsonata:
            for key in rule:
                if key not in extra | {"Condition"}:
                    self.add(
                        _key(path, key), f"field {key!r} is not allowed in a JSONata choice rule"
                    )
            if "Condition" not in rule:
                self.add(path, "a JSONata choice rule needs a Condition")
            else:
                self.jsonata_value(rule["Condition"], _key(path, "Condition"))
            if "Assign" in rule:
                self.assign(rule["Assign"], _key(path, "Assign"), True)
            return
        if "Assign" in rule and top:
            self.assign(rule["Assign"], _key(path, "Assign"), False)
        combinators = [k for k in ("And", "Or", "Not") if k in rule]
        operators = [k for k in rule if k in OPERATORS]
        for key in rule:
            if (
                key not in extra
                and key not in OPERATORS
                and key not in ("And", "Or", "Not", "Variable")
            ):
                self.add(_key(path, key), f"field {key!r} is not allowed in a choice rule")
        if combinators:
            if len(combinators) > 1 or operators or "Variable" in rule:
                self.add(path, "a boolean rule has exactly one of And, Or, Not and no Variable")
            op = combinators[0]
            if op == "Not":
                self.rule(rule["Not"], _key(path, "Not"), jsonata, top=False)
            elif not isinstance(rule[op], list) or not rule[op]:
                self.add(_key(path, op), f"{op} must be a non-empty array of rules")
            else:
                for i, inner in enumerate(rule[op]):
                    self.rule(inner, f"{_key(path, op)}[{i}]", jsonata, top=False)
            return
        if "Variable" not in rule:
            self.add(path, "a choice rule needs a Variable and a comparison (or And/Or/Not)")
        else:
            self.path_field(rule["Variable"], _key(path, "Variable"))
        if len(operators) != 1:
            self.add(path, "a choice rule needs exactly one comparison operator")
            return
        op = operators[0]
        self.operand(op, rule[op], _key(path, op))

    def operand(self, op: str, value: Any, path: str) -> None:
        if op in TYPE_TESTS:
            if not isinstance(value, bool):
                self.add(path, f"{op} takes true or false")
            return
        kind, _, is_path = COMPARISONS[op]
        if is_path:
            self.path_field(value, path)
            return
        ok = {
            "string": isinstance(value, str),
            "number": _is_number(value),
            "boolean": isinstance(value, bool),
            "timestamp": parse_timestamp(value) is not None,
        }[kind]
        if not ok:
            self.add(path, f"{op} needs a {kind} operand, got {json.dumps(value)}")

    def check_wait(self, s: dict[str, Any], path: str, states: Any, jsonata: bool) -> None:
        given = [k for k in ("Seconds", "Timestamp", "SecondsPath", "TimestampPath") if k in s]
        if len(given) != 1:
            self.add(
                path,
                "a Wait state needs exactly one of Seconds, Timestamp, SecondsPath, TimestampPath",
            )
        for key in given:
            value, kpath = s[key], _key(path, key)
            if jsonata and jsonata_eval.is_expression(value):
                self.jsonata_value(value, kpath)
            elif key == "Seconds" and not (_is_int(value) and value >= 0):
                self.add(kpath, "Seconds must be a non-negative integer")
            elif key == "Timestamp" and parse_timestamp(value) is None:
                self.add(kpath, "Timestamp must be an RFC 3339 timestamp")
            elif key.endswith("Path"):
                self.path_field(value, kpath)

    def check_fail(self, s: dict[str, Any], path: str, states: Any, jsonata: bool) -> None:
        for name in ("Error", "Cause"):
            if name in s and name + "Path" in s:
                self.add(path, f"{name} and {name}Path cannot both be set")
            if name in s and not isinstance(s[name], str):
                self.add(_key(path, name), f"{name} must be a string")
            if name + "Path" in s:
                value = s[name + "Path"]
                if isinstance(value, str) and is_intrinsic(value):
                    self.intrinsic(value, _key(path, name + "Path"))
                else:
                    self.path_field(value, _key(path, name + "Path"))

    def check_parallel(self, s: dict[str, Any], path: str, states: Any, jsonata: bool) -> None:
        branches = s.get("Branches")
        if not isinstance(branches, list) or not branches:
            self.add(_key(path, "Branches"), "Branches must be a non-empty array")
            return
        for i, branch in enumerate(branches):
            self.machine(branch, f"{_key(path, 'Branches')}[{i}]", top=False, jsonata=jsonata)

    def check_map(self, s: dict[str, Any], path: str, states: Any, jsonata: bool) -> None:
        processors = [k for k in ("ItemProcessor", "Iterator") if k in s]
        if len(processors) != 1:
            self.add(path, "a Map state needs exactly one of ItemProcessor or Iterator")
        for key in processors:
            self.processor(s[key], _key(path, key), jsonata)
        if "ItemSelector" in s and "Parameters" in s:
            self.add(path, "ItemSelector and Parameters cannot both be set")
        if "ItemsPath" in s:
            self.path_field(s["ItemsPath"], _key(path, "ItemsPath"))
        self.number_or_path(s, path, "MaxConcurrency", jsonata, positive=False)
        self.number_or_path(s, path, "ToleratedFailureCount", jsonata, positive=False)
        self.number_or_path(s, path, "ToleratedFailurePercentage", jsonata, positive=False)
        pct = s.get("ToleratedFailurePercentage")
        if _is_number(pct) and pct > 100:
            self.add(_key(path, "ToleratedFailurePercentage"), "must be at most 100")
        if "ItemReader" in s:
            self.add(
                _key(path, "ItemReader"), "ItemReader is not supported yet", "UNSUPPORTED_FEATURE"
            )
        if "ResultWriter" in s:
            self.add(
                _key(path, "ResultWriter"),
                "ResultWriter is not supported yet",
                "UNSUPPORTED_FEATURE",
            )

    def processor(self, p: Any, path: str, jsonata: bool) -> None:
        if isinstance(p, dict) and "ProcessorConfig" in p:
            config = p["ProcessorConfig"]
            mode = config.get("Mode") if isinstance(config, dict) else None
            if mode not in (None, "INLINE", "DISTRIBUTED"):
                self.add(
                    _key(_key(path, "ProcessorConfig"), "Mode"),
                    "Mode must be INLINE or DISTRIBUTED",
                )
        self.machine(p, path, top=False, jsonata=jsonata)

    # -- errors --------------------------------------------------------------------------
    def error_equals(self, value: Any, path: str, last: bool) -> None:
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            self.add(path, "ErrorEquals must be a non-empty array of error names")
            return
        if "States.ALL" in value and (len(value) > 1 or not last):
            self.add(path, "States.ALL must appear alone, in the last retrier or catcher")

    def handlers(
        self, value: Any, path: str, field: str, kind: str, allowed: set[str]
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        """Walk a Retry or Catch array: the checks both share, then each entry for the rest."""
        if not isinstance(value, list):
            self.add(path, f"{field} must be an array")
            return
        for i, entry in enumerate(value):
            epath = f"{path}[{i}]"
            if not isinstance(entry, dict):
                self.add(epath, f"a {kind} must be an object")
                continue
            self.duplicates(entry, epath)
            for key in entry:
                if key not in allowed:
                    self.add(_key(epath, key), f"field {key!r} is not allowed in a {kind}")
            self.error_equals(
                entry.get("ErrorEquals"), _key(epath, "ErrorEquals"), i == len(value) - 1
            )
            yield epath, entry

    def retry(self, retry: Any, path: str) -> None:
        for rpath, r in self.handlers(retry, path, "Retry", "retrier", RETRIER_FIELDS):
            for name, test, rule in RETRIER_CHECKS:
                if name in r and not test(r[name]):
                    self.add(_key(rpath, name), f"{name} must be {rule}")
            if "JitterStrategy" in r and r["JitterStrategy"] not in ("FULL", "NONE"):
                self.add(_key(rpath, "JitterStrategy"), "JitterStrategy must be FULL or NONE")

    def catch(self, catch: Any, path: str, states: dict[str, Any], jsonata: bool) -> None:
        allowed = {"ErrorEquals", "Next", "Comment", "Assign"} | (
            {"Output"} if jsonata else {"ResultPath"}
        )
        for cpath, c in self.handlers(catch, path, "Catch", "catcher", allowed):
            self.target(c.get("Next"), _key(cpath, "Next"), states)
            if "ResultPath" in c and c["ResultPath"] is not None:
                self.reference(c["ResultPath"], _key(cpath, "ResultPath"))
            if "Output" in c:
                self.jsonata_value(c["Output"], _key(cpath, "Output"))
            if "Assign" in c:
                self.assign(c["Assign"], _key(cpath, "Assign"), jsonata)


RETRIER_FIELDS = {
    "ErrorEquals",
    "IntervalSeconds",
    "MaxAttempts",
    "BackoffRate",
    "MaxDelaySeconds",
    "JitterStrategy",
    "Comment",
}
RETRIER_CHECKS: list[tuple[str, Callable[[Any], bool], str]] = [
    ("IntervalSeconds", lambda v: _is_int(v) and v > 0, "a positive integer"),
    ("MaxAttempts", lambda v: _is_int(v) and v >= 0, "a non-negative integer"),
    ("BackoffRate", lambda v: _is_number(v) and v >= 1, "a number of at least 1.0"),
    ("MaxDelaySeconds", lambda v: _is_int(v) and v > 0, "a positive integer"),
]


def _targets(body: dict[str, Any]) -> Iterator[str]:
    if isinstance(body.get("Next"), str):
        yield body["Next"]
    if isinstance(body.get("Default"), str):
        yield body["Default"]
    for rule in body.get("Choices") or []:
        if isinstance(rule, dict) and isinstance(rule.get("Next"), str):
            yield rule["Next"]
    for catcher in body.get("Catch") or []:
        if isinstance(catcher, dict) and isinstance(catcher.get("Next"), str):
            yield catcher["Next"]
