"""A resource one tenant made is, on every route, a 404 for another (not a 403: ids do
not leak), and nothing of it shows in the other's listings."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.conftest import Api
from tests.api.test_containers import settled, upload
from tests.api.test_events import submit


def test_another_tenants_resources_do_not_exist(api: Api, a: httpx.Client, b: httpx.Client) -> None:
    made = upload(a, "secret.csv", b"invoice_number,total\nS-1,1.00\n").json()
    api.wait_for(a, f"/v1/containers/{made['id']}", settled)
    invoices = a.get(f"/v1/containers/{made['id']}/invoices").json()["items"]
    event = submit(a).json()["message_id"]
    arn = made["execution_arn"]
    routes: list[tuple[str, str]] = [
        ("GET", f"/v1/containers/{made['id']}"),
        ("GET", f"/v1/containers/{made['id']}/invoices"),
        ("POST", f"/v1/containers/{made['id']}/retry"),
        ("GET", f"/v1/invoice-events/{event}"),
        ("GET", f"/v1/executions/{arn}"),
        ("GET", f"/v1/executions/{arn}/history"),
        ("POST", f"/v1/executions/{arn}/stop"),
        ("POST", f"/v1/executions/{arn}/redrive"),
    ]
    routes += [("GET", f"/v1/invoices/{i['id']}") for i in invoices]
    for method, path in routes:
        assert a.request(method, path).status_code != 404, path
        response = b.request(method, path)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["code"] in ("NotFound", "ExecutionDoesNotExist")

    def ids(page: dict[str, Any], key: str = "items") -> set[str]:
        return {item.get("id") or item.get("executionArn") for item in page[key]}

    assert made["id"] not in ids(b.get("/v1/containers", params={"limit": 1000}).json())
    theirs = ids(b.get("/v1/invoices", params={"limit": 1000}).json())
    assert not theirs & {i["id"] for i in invoices}
    executions = b.get("/v1/executions", params={"limit": 1000}).json()
    assert arn not in ids(executions, "executions")
