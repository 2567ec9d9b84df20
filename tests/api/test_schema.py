"""Schemathesis against the published OpenAPI document: generated requests, valid and
not, to every operation; hostile values in every parameter and body; sequences of calls
that follow the document's links. No 500s, and every answer matches the document."""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import FlakyStrategyDefinition
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.conftest import Api

EXAMPLES = 25  # per operation: enough to find shape mistakes, bounded for CI
SEQUENCES = 15  # stateful runs, each of a few linked calls
HOSTILE_VALUES = ["9" * 5000, "\u0663", "2026-01-01T00:00:00", "NaN", "1e999999999", "x" * 8000]
HOSTILE_BODIES = [
    b"[" * 300 + b"]" * 300,
    b'{"a": ' + b"[" * 252 + b"]" * 252 + b"}",
    b'{"taskToken": "t", "output": NaN}',
    b'{"taskToken": "t", "output": 1e999999999}',
    b'{"taskToken": "\xff", "output": "\xc3"}',
]
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def test_the_api_keeps_to_its_document(api: Api) -> None:
    schema = schemathesis.openapi.from_url(f"{api.url}/openapi.json")
    headers = {"Authorization": f"Bearer {api.key_a}"}
    tested = []
    for found in schema.get_all_operations():
        operation = found.ok()
        cases = st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE),
            operation.as_strategy(GenerationMode.NEGATIVE),
        )

        @given(case=cases)
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def keeps_to_it(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        keeps_to_it()
        tested.append(operation.label)
    assert len(tested) >= 20, tested


def test_hostile_values_are_refused_without_a_500(api: Api) -> None:
    schema = schemathesis.openapi.from_url(f"{api.url}/openapi.json")
    headers = {"Authorization": f"Bearer {api.key_a}"}
    checks = [not_a_server_error, content_type_conformance]
    for found in schema.get_all_operations():
        operation = found.ok()
        path = {p.name: "x" for p in operation.path_parameters}
        for parameter in operation.query:
            for value in HOSTILE_VALUES:
                case = operation.Case(path_parameters=path, query={parameter.name: value})
                case.call_and_validate(headers=headers, checks=checks)
        if operation.method.upper() == "POST" and operation.body:
            for body in HOSTILE_BODIES:
                case = operation.Case(path_parameters=path)
                raw = {**headers, "Content-Type": "application/json"}
                response = case.call(headers=raw, data=body)
                assert 400 <= response.status_code < 500, (operation.label, body[:40])


def test_linked_calls_keep_to_the_document(api: Api) -> None:
    schema = schemathesis.openapi.from_url(f"{api.url}/openapi.json")
    headers = {"Authorization": f"Bearer {api.key_a}"}

    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
            return {"headers": headers}

        def validate_response(self, response: Any, case: schemathesis.Case, **_: Any) -> None:
            case.validate_response(response, checks=CHECKS)

    # Links draw from the server's answers, and the server's state moves on between
    # sequences, so Hypothesis may find that the same choices drew differently
    # (FlakyStrategyDefinition): that says nothing of the API, and the run is made anew. A
    # response that breaks the document fails at once, whatever the attempt.
    for attempt in range(3):
        try:
            Workflow.run(
                settings=settings(
                    max_examples=SEQUENCES,
                    stateful_step_count=6,
                    deadline=None,
                    database=None,
                    suppress_health_check=list(HealthCheck),
                )
            )
            return
        except FlakyStrategyDefinition:
            if attempt == 2:
                raise
