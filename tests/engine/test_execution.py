"""Behaviour of whole executions, through the durable runtime (invoiceflow.testing.run)."""

import itertools
import json
from typing import Any

import pytest

from invoiceflow.testing import run


def machine(states: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"StartAt": next(iter(states)), "States": states, **top}


INPUT = {"a": {"b": 1}, "items": [1, 2, 3], "name": "x"}
IO = {"InputPath": "$.a", "ResultPath": "$.r", "OutputPath": "$.r"}


def echo(event: Any, _ctx: Any) -> Any:
    return {"echo": event}


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ({"Type": "Pass", **IO, "End": True}, {"b": 1}),
        (
            {"Type": "Pass", "Parameters": {"v.$": "$.b", "k": 2}, **IO, "End": True},
            {"v": 1, "k": 2},
        ),
        (
            {
                "Type": "Pass",
                "Result": {"z": 1},
                "ResultPath": "$.a.z",
                "OutputPath": "$.a",
                "End": True,
            },
            {"b": 1, "z": {"z": 1}},
        ),
        ({"Type": "Pass", "ResultPath": None, "End": True}, INPUT),
        ({"Type": "Pass", "InputPath": None, "End": True}, {}),
        ({"Type": "Task", "Resource": "echo", **IO, "End": True}, {"echo": {"b": 1}}),
        (
            {
                "Type": "Task",
                "Resource": "echo",
                "Parameters": {"p.$": "$.b"},
                "ResultSelector": {"got.$": "$.echo.p"},
                **IO,
                "End": True,
            },
            {"got": 1},
        ),
        (
            {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "echo", "Payload.$": "$"},
                "ResultSelector": {"p.$": "$.Payload"},
                **IO,
                "End": True,
            },
            {"p": {"echo": {"b": 1}}},
        ),
        ({"Type": "Wait", "Seconds": 5, "InputPath": "$.a", "OutputPath": "$.b", "End": True}, 1),
        ({"Type": "Succeed", "InputPath": "$.a", "OutputPath": "$.b"}, 1),
        (
            {
                "Type": "Map",
                "ItemsPath": "$.items",
                "InputPath": "$",
                "ItemSelector": {
                    "v.$": "$$.Map.Item.Value",
                    "i.$": "$$.Map.Item.Index",
                    "n.$": "$.name",
                },
                "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
                "ResultSelector": {"all.$": "$[*].v"},
                "ResultPath": "$.r",
                "OutputPath": "$.r",
                "End": True,
            },
            {"all": [1, 2, 3]},
        ),
        (
            {
                "Type": "Parallel",
                "Parameters": {"b.$": "$.a.b"},
                "Branches": [
                    {"StartAt": "X", "States": {"X": {"Type": "Pass", "End": True}}},
                    {"StartAt": "Y", "States": {"Y": {"Type": "Pass", "Result": 2, "End": True}}},
                ],
                "ResultSelector": {"first.$": "$[0].b", "second.$": "$[1]"},
                "ResultPath": "$.r",
                "OutputPath": "$.r",
                "End": True,
            },
            {"first": 1, "second": 2},
        ),
    ],
)
def test_data_flow_per_state_type(state: dict[str, Any], expected: Any) -> None:
    result = run(machine({"S": state}), INPUT, handlers={"echo": echo})
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert result.output == expected


def test_choice_rules_and_default() -> None:
    rules = [
        {
            "And": [
                {"Variable": "$.n", "NumericGreaterThanEquals": 10},
                {"Not": {"Variable": "$.s", "StringMatches": "*.csv"}},
            ],
            "Next": "Big",
        },
        {"Variable": "$.t", "TimestampLessThanPath": "$.limit", "Next": "Early"},
        {"Variable": "$.missing", "IsPresent": True, "Next": "Big"},
    ]
    definition = machine(
        {
            "C": {"Type": "Choice", "Choices": rules, "Default": "Other"},
            "Big": {"Type": "Pass", "Result": "big", "End": True},
            "Early": {"Type": "Pass", "Result": "early", "End": True},
            "Other": {"Type": "Pass", "Result": "other", "End": True},
        }
    )
    assert run(definition, {"n": 12, "s": "a.edi"}).output == "big"
    assert (
        run(
            definition,
            {"n": 12, "s": "a.csv", "t": "2020-01-01T00:00:00Z", "limit": "2021-01-01T00:00:00Z"},
        ).output
        == "early"
    )
    late = {"t": "2022-01-01T00:00:00Z", "limit": "2021-01-01T00:00:00Z"}
    assert run(definition, {"n": "12", "s": "a.csv", **late}).output == "other"
    assert run(definition, {"n": "12", "s": "a.csv"}).error == "States.Runtime"  # $.t absent


def test_choice_without_match_fails_and_bad_variable_is_runtime() -> None:
    definition = machine(
        {
            "C": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.n", "NumericEquals": 1, "Next": "D"}],
            },
            "D": {"Type": "Succeed"},
        }
    )
    result = run(definition, {"n": 2})
    assert (result.status, result.error, result.cause) == (
        "FAILED",
        "States.NoChoiceMatched",
        "No Matches!",
    )
    assert run(definition, {}).error == "States.Runtime"


def test_retry_backoff_then_catch_with_result_path() -> None:
    calls: list[float] = []

    def failing(_e: Any, _c: Any) -> Any:
        calls.append(1)
        raise ValueError("down")

    definition = machine(
        {
            "T": {
                "Type": "Task",
                "Resource": "failing",
                "Retry": [
                    {
                        "ErrorEquals": ["ValueError"],
                        "IntervalSeconds": 10,
                        "MaxAttempts": 2,
                        "BackoffRate": 3,
                    }
                ],
                "Catch": [
                    {"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.error", "Next": "H"}
                ],
                "End": True,
            },
            "H": {"Type": "Pass", "End": True},
        }
    )
    result = run(definition, {"keep": 1}, handlers={"failing": failing})
    assert result.status == "SUCCEEDED"
    assert len(calls) == 3
    assert result.output["keep"] == 1 and result.output["error"]["Error"] == "ValueError"
    assert json.loads(result.output["error"]["Cause"])["errorMessage"] == "down"
    scheduled = [e for e in result.history if e["type"] == "LambdaFunctionScheduled"]
    gaps = [
        (b["timestamp"] - a["timestamp"]).total_seconds() for a, b in itertools.pairwise(scheduled)
    ]
    assert [round(g) for g in gaps] == [10, 30]


def test_retry_and_catch_inside_map_and_parallel() -> None:
    seen: dict[int, int] = {}

    def flaky(event: Any, _c: Any) -> Any:
        seen[event] = seen.get(event, 0) + 1
        if event == 2 and seen[event] < 2:
            raise RuntimeError("once")
        if event == 3:
            raise KeyError("always")
        return event * 10

    item = {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": "flaky",
                "Retry": [{"ErrorEquals": ["RuntimeError"]}],
                "Catch": [{"ErrorEquals": ["KeyError"], "Next": "Dead"}],
                "End": True,
            },
            "Dead": {"Type": "Pass", "Result": "dead", "End": True},
        },
    }
    definition = machine(
        {
            "P": {
                "Type": "Parallel",
                "Branches": [
                    {
                        "StartAt": "M",
                        "States": {"M": {"Type": "Map", "ItemProcessor": item, "End": True}},
                    },
                    {"StartAt": "Q", "States": {"Q": {"Type": "Pass", "Result": "q", "End": True}}},
                ],
                "End": True,
            }
        }
    )
    result = run(definition, [1, 2, 3], handlers={"flaky": flaky})
    assert result.status == "SUCCEEDED", result.cause
    assert result.output == [[10, 20, "dead"], "q"]


def test_map_failure_aborts_and_is_caught_at_map_level() -> None:
    def boom(event: Any, _c: Any) -> Any:
        if event == 1:
            raise OSError("bad item")
        return event

    definition = machine(
        {
            "M": {
                "Type": "Map",
                "MaxConcurrency": 1,
                "ItemProcessor": {
                    "StartAt": "T",
                    "States": {"T": {"Type": "Task", "Resource": "boom", "End": True}},
                },
                "Catch": [{"ErrorEquals": ["OSError"], "Next": "C"}],
                "End": True,
            },
            "C": {"Type": "Pass", "End": True},
        }
    )
    result = run(definition, [0, 1, 2], handlers={"boom": boom})
    assert result.output["Error"] == "OSError"
    types = [e["type"] for e in result.history]
    assert "MapIterationFailed" in types and "MapStateFailed" in types
    assert types.count("MapIterationStarted") == 2  # MaxConcurrency 1: item 2 never started


def test_tolerated_failures() -> None:
    def odd_fails(event: Any, _c: Any) -> Any:
        if event % 2:
            raise ValueError(str(event))
        return event

    def mapped(**extra: Any) -> dict[str, Any]:
        return machine(
            {
                "M": {
                    "Type": "Map",
                    "ItemProcessor": {
                        "StartAt": "T",
                        "States": {"T": {"Type": "Task", "Resource": "odd", "End": True}},
                    },
                    "End": True,
                    **extra,
                }
            }
        )

    ok = run(mapped(ToleratedFailureCount=2), [0, 1, 2, 3], handlers={"odd": odd_fails})
    assert ok.status == "SUCCEEDED" and ok.output[0] == 0 and ok.output[1]["Error"] == "ValueError"
    over = run(mapped(ToleratedFailurePercentage=20), [0, 1, 2, 3], handlers={"odd": odd_fails})
    assert over.error == "States.ExceedToleratedFailureThreshold"


def test_fail_state_with_paths_and_intrinsics() -> None:
    definition = machine(
        {
            "F": {
                "Type": "Fail",
                "ErrorPath": "$.code",
                "CausePath": "States.Format('bad {}', $.what)",
            }
        }
    )
    result = run(definition, {"code": "E42", "what": "file"})
    assert (result.error, result.cause) == ("E42", "bad file")


def test_task_timeout_and_heartbeat_names() -> None:
    import time as _time

    def slow(_e: Any, _c: Any) -> Any:
        _time.sleep(1.2)
        return 1

    definition = machine(
        {
            "T": {
                "Type": "Task",
                "Resource": "slow",
                "TimeoutSeconds": 1,
                "Catch": [{"ErrorEquals": ["States.Timeout"], "Next": "Late"}],
                "End": True,
            },
            "Late": {"Type": "Pass", "End": True},
        }
    )
    result = run(definition, {}, handlers={"slow": slow})
    assert result.output == {"Error": "States.Timeout", "Cause": ""}
    assert "LambdaFunctionTimedOut" in [e["type"] for e in result.history]


def test_jsonata_arguments_output_assign_and_condition() -> None:
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": "echo",
                "Arguments": {"n": "{% $states.input.n + 1 %}"},
                "Assign": {"seen": "{% $states.result.echo.n %}"},
                "Output": "{% $states.result.echo %}",
                "Next": "C",
            },
            "C": {
                "Type": "Choice",
                "Choices": [{"Condition": "{% $seen > 5 %}", "Next": "Big"}],
                "Default": "Small",
            },
            "Big": {"Type": "Pass", "Output": {"size": "big", "seen": "{% $seen %}"}, "End": True},
            "Small": {"Type": "Fail", "Error": "Small", "Cause": "{% 'seen ' & $string($seen) %}"},
        },
    }
    assert run(definition, {"n": 9}, handlers={"echo": echo}).output == {"size": "big", "seen": 10}
    small = run(definition, {"n": 1}, handlers={"echo": echo})
    assert (small.error, small.cause) == ("Small", "seen 2")


def test_jsonpath_assign_is_visible_to_later_states_and_map_items() -> None:
    definition = machine(
        {
            "A": {"Type": "Pass", "Assign": {"factor": 3, "label.$": "$.name"}, "Next": "M"},
            "M": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemProcessor": {
                    "StartAt": "P",
                    "States": {
                        "P": {
                            "Type": "Pass",
                            "Parameters": {"v.$": "States.MathAdd($, $factor)"},
                            "End": True,
                        }
                    },
                },
                "ResultSelector": {"vals.$": "$[*].v", "label.$": "$label"},
                "End": True,
            },
        }
    )
    result = run(definition, {"name": "n", "items": [1, 2]})
    assert result.output == {"vals": [4, 5], "label": "n"}


def test_jsonata_error_is_query_evaluation_error() -> None:
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "P",
        "States": {
            "P": {"Type": "Pass", "Output": "{% $number('x') + $undefinedFn() %}", "End": True}
        },
    }
    assert run(definition, {}).error == "States.QueryEvaluationError"


def test_result_path_match_failure() -> None:
    definition = machine({"P": {"Type": "Pass", "Result": 1, "ResultPath": "$.a.b", "End": True}})
    assert run(definition, {"a": "text"}).error == "States.ResultPathMatchFailure"


def test_long_waits_finish_quickly_with_time_skipping() -> None:
    import time as _time

    definition = machine(
        {
            "W": {"Type": "Wait", "Seconds": 365 * 24 * 3600, "Next": "T"},
            "T": {"Type": "Wait", "Timestamp": "2999-01-01T00:00:00Z", "End": True},
        }
    )
    began = _time.monotonic()
    assert run(definition, {}).status == "SUCCEEDED"
    assert _time.monotonic() - began < 1.0


def test_nested_execution_sync_variants() -> None:
    child = machine(
        {
            "C": {
                "Type": "Pass",
                "Parameters": {"doubled.$": "States.MathAdd($.n, $.n)"},
                "End": True,
            }
        }
    )
    arn = "arn:aws:states:us-east-1:000000000000:stateMachine:child"
    parent = machine(
        {
            "S": {
                "Type": "Task",
                "Resource": "arn:aws:states:::states:startExecution.sync:2",
                "Parameters": {"StateMachineArn": arn, "Input": {"n.$": "$.n"}},
                "ResultSelector": {"out.$": "$.Output"},
                "Next": "S1",
            },
            "S1": {
                "Type": "Task",
                "Resource": "arn:aws:states:::states:startExecution.sync",
                "Parameters": {"StateMachineArn": arn, "Input": {"n": 1}},
                "ResultSelector": {"raw.$": "$.Output", "prev.$": "$$.Execution.Input.n"},
                "End": True,
            },
        }
    )
    result = run(parent, {"n": 4}, state_machines={"child": child})
    assert result.status == "SUCCEEDED", result.cause
    assert result.output == {"raw": '{"doubled":2}', "prev": 4}


def test_history_ids_are_contiguous_and_chained() -> None:
    definition = machine(
        {
            "M": {
                "Type": "Map",
                "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
                "End": True,
            }
        }
    )
    history = run(definition, list(range(5))).history
    ids = [e["id"] for e in history]
    assert ids == list(range(1, len(ids) + 1))
    assert all(0 <= e["previousEventId"] < e["id"] for e in history)
    assert history[0]["type"] == "ExecutionStarted" and history[-1]["type"] == "ExecutionSucceeded"
