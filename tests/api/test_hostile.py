"""Client input the API must refuse with a 4xx and a message, never answer with a 500:
JSON nested too deep, numbers JSON cannot hold, bytes that are not UTF-8, oversized task
outputs, cursors and tokens it never gave, times without a zone."""

from __future__ import annotations

import json

import httpx
import pytest

from invoiceflow.digitize import parse, to_json
from invoiceflow.limits import JSON_DEPTH, MAX_PAYLOAD
from invoiceflow.samples import SAMPLES
from tests.api.conftest import Api

JSON = {"Content-Type": "application/json"}
INVOICE = to_json(next(iter(parse(SAMPLES / "ubl" / "en16931-ubl-tc434-example1.xml"))))


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def refused(response: httpx.Response, *statuses: int) -> dict[str, str]:
    assert response.status_code in statuses, (response.status_code, response.text)
    body: dict[str, str] = response.json()
    assert set(body) == {"code", "message"} and body["message"], body
    return body


@pytest.mark.parametrize("depth", [JSON_DEPTH - 1, JSON_DEPTH, 252, 300, 100_000])
def test_json_nested_past_the_limit_is_refused_everywhere(a: httpx.Client, depth: int) -> None:
    too_deep = depth + 1 > JSON_DEPTH  # the value sits one level inside the body
    output = b'{"taskToken": "t", "output": ' + nested(depth) + b"}"
    for path in ("/v1/tasks/success", "/v1/tasks/failure", "/v1/tasks/heartbeat"):
        answer = a.post(path, content=output, headers=JSON)
        if too_deep:
            assert refused(answer, 400)["code"] == "TooDeep", path
    event = a.post("/v1/invoice-events", content=b'{"a": ' + nested(depth) + b"}", headers=JSON)
    if too_deep:
        assert refused(event, 400)["code"] == "TooDeep"
    else:
        refused(event, 422)


@pytest.mark.parametrize(
    "body",
    [
        b'{"taskToken": "t", "output": NaN}',
        b'{"taskToken": "t", "output": 1e999999999}',
        b'{"taskToken": "t", "output": -Infinity}',
        b'{"taskToken": "t", "output": "\xff\xfe"}',
        b'{"taskToken": "\xc3", "output": 1}',
    ],
)
def test_json_that_no_parser_agrees_on_is_refused(a: httpx.Client, body: bytes) -> None:
    answer = refused(a.post("/v1/tasks/success", content=body, headers=JSON), 400, 422)
    # Refused as a body, before the token is looked at.
    assert answer["code"] not in ("TaskDoesNotExist", "InvalidToken"), answer
    event = body.replace(b'"taskToken": "t", ', b"")
    refused(a.post("/v1/invoice-events", content=event, headers=JSON), 400, 422)


def test_a_task_output_over_256_kib_is_refused_at_the_call(a: httpx.Client) -> None:
    big = {"taskToken": "t", "output": "x" * MAX_PAYLOAD}
    answer = refused(a.post("/v1/tasks/success", json=big), 400)
    assert answer["code"] == "InvalidOutput"
    fits = {"taskToken": "t", "output": "x" * (MAX_PAYLOAD - 10)}
    assert refused(a.post("/v1/tasks/success", json=fits), 400)["code"] == "InvalidToken"


@pytest.mark.parametrize("token", ["x", "9" * 30, "9" * 5000, "\u00b2", "\u0663", "-1", " 1"])
def test_tokens_and_cursors_it_never_gave_are_refused(a: httpx.Client, token: str) -> None:
    refused(a.get("/v1/executions", params={"next_token": token}), 400)
    history = a.get(
        "/v1/executions/arn:aws:states:us-east-1:000000000000:execution:m:e/history",
        params={"next_token": token},
    )
    refused(history, 400, 404)
    refused(a.get("/v1/containers", params={"cursor": token}), 400)
    refused(a.get("/v1/invoices", params={"cursor": token * 3}), 400)


@pytest.mark.parametrize(
    "since", ["2026-01-01T00:00:00", "0001-01-01T00:00:00", "10000-01-01T00:00:00Z", "now"]
)
def test_since_needs_a_time_zone_and_a_real_date(a: httpx.Client, since: str) -> None:
    refused(a.get("/v1/containers", params={"since": since}), 400, 422)


def test_since_with_a_zone_at_either_end_of_time_is_fine(a: httpx.Client) -> None:
    for since in ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"):
        assert a.get("/v1/containers", params={"since": since}).status_code == 200


@pytest.mark.parametrize("total", ["NaN", "1e999999999", "-Infinity", "1e-999999999"])
def test_invoice_totals_must_be_finite_numbers(a: httpx.Client, total: str) -> None:
    answer = a.get("/v1/invoices", params={"total_min": total})
    if total == "1e-999999999":
        assert answer.status_code == 200
    else:
        refused(answer, 400, 422)


def test_a_nul_character_in_a_search_is_refused_or_finds_nothing(a: httpx.Client) -> None:
    """PostgreSQL cannot hold NUL in text: a search for one is a 400 there, never a 500."""
    answer = a.get("/v1/invoices", params={"supplier": "Acme\x00Corp"})
    if answer.status_code == 200:
        assert answer.json()["items"] == []
    else:
        assert "NUL" in refused(answer, 400)["message"]


def test_an_invoice_holding_a_nul_character_ends_in_error_with_the_reason(
    api: Api, a: httpx.Client
) -> None:
    invoice = json.loads(INVOICE)
    invoice["seller"]["name"] = "Acme\x00Corp"
    accepted = a.post("/v1/invoice-events", content=json.dumps(invoice), headers=JSON)
    assert accepted.status_code == 202, accepted.text
    where = f"/v1/invoice-events/{accepted.json()['message_id']}"
    final = api.wait_for(a, where, lambda body: body.get("state") in ("Done", "Error"))
    assert final["state"] == "Error" and final["container"]
    container = a.get(f"/v1/containers/{final['container']}").json()
    assert container["state"] == "Error"
    assert "NUL character" in container["reason"], container
