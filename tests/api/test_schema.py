"""Schemathesis against the published OpenAPI document: generated requests, valid and
not, to every operation; no 500s, and every answer matches the document."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.conftest import Api

EXAMPLES = 25  # per operation: enough to find shape mistakes, bounded for CI
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
