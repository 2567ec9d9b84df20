import json
from pathlib import Path

import pytest

import invoiceflow
from invoiceflow.engine.validate import Problem

DATA = Path(__file__).parent.parent / "data"


def load(name: str) -> str:
    return (DATA / name).read_text()


def paths(problems: list[Problem]) -> list[str]:
    return [p.path for p in problems]


@pytest.mark.parametrize("name", ["process-file-iterator.asl.json", "inventory-callback.asl.json"])
def test_published_valid_definitions_validate(name: str) -> None:
    assert invoiceflow.validate(load(name)) == []


def test_fragment_with_next_validates_when_wrapped() -> None:
    frag = load("send-message-task.fragment.json").replace("NEXT_STATE", "Done")
    text = (
        '{"StartAt": "Send message to SQS", "States": {' + frag + ', "Done": {"Type": "Succeed"}}}'
    )
    assert invoiceflow.validate(text) == []


def test_process_file_map_start_at_is_reported() -> None:
    problems = invoiceflow.validate(load("process-file-map.asl.json"))
    assert paths(problems) == ["$.StartAt"]
    assert "SendProcessEDIContainerRequestToSQS" in problems[0].message


def test_map_fragment_reports_all_three_problems() -> None:
    text = (
        '{"StartAt": "MapStateExample", "States": {'
        + load("map-state-example.fragment.json")
        + "}}"
    )
    problems = invoiceflow.validate(text)
    base = "$.States.MapStateExample.Iterator.States.First"
    assert sorted(paths(problems)) == sorted([base, f"{base}.Next", f"{base}.End"])
    assert {p.code for p in problems} >= {"DUPLICATE_KEY", "MISSING_TRANSITION_TARGET"}


def machine(**states: dict) -> dict:
    return {"StartAt": next(iter(states)), "States": states}


@pytest.mark.parametrize(
    ("definition", "expected_path"),
    [
        (machine(A={"Type": "Pass"}), "$.States.A"),
        (machine(A={"Type": "Pass", "End": True, "Next": "A"}), "$.States.A"),
        (machine(A={"Type": "Pass", "End": True}, B={"Type": "Pass", "End": True}), "$.States.B"),
        (machine(A={"Type": "Nope", "End": True}), "$.States.A.Type"),
        (machine(A={"Type": "Pass", "End": True, "Resource": "x"}), "$.States.A.Resource"),
        (machine(A={"Type": "Pass", "InputPath": "a.b", "End": True}), "$.States.A.InputPath"),
        (machine(A={"Type": "Pass", "ResultPath": "$.a[*]", "End": True}), "$.States.A.ResultPath"),
        (
            machine(A={"Type": "Pass", "Parameters": {"x.$": "States.Nope()"}, "End": True}),
            '$.States.A.Parameters["x.$"]',
        ),
        (
            machine(
                A={"Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem", "End": True}
            ),
            "$.States.A.Resource",
        ),
        (
            machine(
                A={
                    "Type": "Task",
                    "Resource": "f",
                    "TimeoutSeconds": 5,
                    "HeartbeatSeconds": 5,
                    "End": True,
                }
            ),
            "$.States.A.HeartbeatSeconds",
        ),
        (
            machine(
                A={
                    "Type": "Choice",
                    "Choices": [{"Variable": "$.a", "StringEquals": 1, "Next": "A"}],
                }
            ),
            "$.States.A.Choices[0].StringEquals",
        ),
        (
            machine(A={"Type": "Choice", "Choices": [{"Variable": "$.a", "Next": "A"}]}),
            "$.States.A.Choices[0]",
        ),
        (
            machine(
                A={"Type": "Choice", "Choices": [{"Variable": "$.a", "IsNull": True, "Next": "Z"}]}
            ),
            "$.States.A.Choices[0].Next",
        ),
        (
            machine(
                A={"Type": "Wait", "Seconds": 1, "Timestamp": "2020-01-01T00:00:00Z", "End": True}
            ),
            "$.States.A",
        ),
        (
            machine(
                A={
                    "Type": "Task",
                    "Resource": "f",
                    "Retry": [{"ErrorEquals": ["States.ALL", "X"]}],
                    "End": True,
                }
            ),
            "$.States.A.Retry[0].ErrorEquals",
        ),
        (
            machine(
                A={
                    "Type": "Task",
                    "Resource": "f",
                    "Retry": [{"ErrorEquals": ["X"], "BackoffRate": 0.5}],
                    "End": True,
                }
            ),
            "$.States.A.Retry[0].BackoffRate",
        ),
        (
            machine(
                A={
                    "Type": "Task",
                    "Resource": "f",
                    "Catch": [{"ErrorEquals": ["X"], "Next": "Q"}],
                    "End": True,
                }
            ),
            "$.States.A.Catch[0].Next",
        ),
        (machine(A={"Type": "Map", "End": True}), "$.States.A"),
        (machine(A={"Type": "Parallel", "Branches": [], "End": True}), "$.States.A.Branches"),
        (machine(A={"Type": "Pass", "Output": "{% 1 %}", "End": True}), "$.States.A.Output"),
        (
            {
                "QueryLanguage": "JSONata",
                **machine(A={"Type": "Pass", "InputPath": "$", "End": True}),
            },
            "$.States.A.InputPath",
        ),
        (
            {
                "QueryLanguage": "JSONata",
                **machine(A={"Type": "Pass", "Output": "{% (1 + %}", "End": True}),
            },
            "$.States.A.Output",
        ),
        ({"StartAt": "A", "States": {}}, "$.States"),
        ({"States": {"A": {"Type": "Succeed"}}}, "$.StartAt"),
    ],
)
def test_invalid_definitions_name_the_place(definition: dict, expected_path: str) -> None:
    assert expected_path in paths(invoiceflow.validate(definition))


def test_every_problem_is_listed_not_just_the_first() -> None:
    definition = machine(
        A={"Type": "Pass", "Next": "Missing"},
        B={"Type": "Wait", "End": "True"},
    )
    found = set(paths(invoiceflow.validate(json.dumps(definition))))
    assert {"$.States.A.Next", "$.States.B", "$.States.B.End"} <= found


def test_not_json_is_a_problem_not_an_exception() -> None:
    assert paths(invoiceflow.validate("{nope")) == ["$"]


def test_location_is_a_json_pointer() -> None:
    problem = Problem('$.States["a b"].Next', "x")
    assert problem.location == "/States/a b/Next"
