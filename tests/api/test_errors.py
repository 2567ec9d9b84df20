"""Keys, refusals as JSON, and the operations endpoints."""

from __future__ import annotations

import asyncio
import time

import httpx

from invoiceflow.api import create_app, keys
from invoiceflow.api.keys import REMEMBER
from tests.api.conftest import Api
from tests.api.test_containers import settled, upload


def test_every_v1_route_wants_a_valid_key(api: Api) -> None:
    with api.client(None) as anonymous, api.client("ifk_not-a-key") as forged:
        for client in (anonymous, forged):
            response = client.get("/v1/containers")
            assert response.status_code == 401
            assert response.headers["WWW-Authenticate"] == "Bearer"
            assert response.json()["code"] == "Unauthorized"


def test_a_revoked_key_stops_working(api: Api) -> None:
    record, key = keys.create(api.db, "tenant-c")
    with api.client(key) as client:
        assert client.get("/v1/containers").status_code == 200
        assert [k.id for k in keys.listing(api.db, "tenant-c")] == [record.id]
        assert not keys.revoke(api.db, "tenant-a", record.id)  # not theirs to revoke
        assert keys.revoke(api.db, "tenant-c", record.id)
        time.sleep(REMEMBER + 0.1)
        assert client.get("/v1/containers").status_code == 401


def test_refusals_are_json_with_a_code_and_a_message(a: httpx.Client) -> None:
    cases = [
        a.get("/v1/nowhere"),
        a.delete("/v1/containers"),
        a.get("/v1/containers", params={"limit": "many"}),
        a.get("/v1/containers", params={"state": "Sleeping"}),
        a.post(
            "/v1/tasks/success", content=b"{not json", headers={"Content-Type": "application/json"}
        ),
        a.get("/v1/executions", params={"status": "DANCING"}),
    ]
    assert [r.status_code for r in cases] == [404, 405, 422, 422, 422, 422]
    for response in cases:
        body = response.json()
        assert set(body) == {"code", "message"} and body["message"]
        assert "Traceback" not in response.text


def test_health_readiness_metrics_and_the_published_spec(api: Api, a: httpx.Client) -> None:
    made = upload(a, "metrics.csv", b"invoice_number,total\nM-1,1.00\n").json()
    api.wait_for(a, f"/v1/containers/{made['id']}", settled)
    with api.client(None) as anonymous:
        assert anonymous.get("/healthz").json() == {"status": "ok"}
        assert anonymous.get("/readyz").json() == {"status": "ready"}
        metrics = anonymous.get("/metrics").text
        spec = anonymous.get("/openapi.json").json()
    for name in (
        "invoiceflow_executions",
        "invoiceflow_queue_messages",
        "invoiceflow_queue_oldest_message_age_seconds",
        "invoiceflow_invoices_created_total",
        "invoiceflow_handler_duration_seconds_bucket",
    ):
        assert name in metrics, name
    assert "/v1/containers" in spec["paths"] and "Invoice" in spec["components"]["schemas"]
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


def test_readiness_fails_while_the_workers_are_not_running(api: Api) -> None:
    app = create_app(api.pipeline, api.registry, ready=lambda: False)

    async def ask() -> tuple[httpx.Response, httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://local") as client:
            return await client.get("/readyz"), await client.get("/healthz")

    ready, alive = asyncio.run(ask())
    assert alive.status_code == 200
    assert ready.status_code == 503 and ready.json()["code"] == "NotReady"


def test_the_root_leads_to_the_documentation(api: Api) -> None:
    with api.client(None) as anonymous:
        landing = anonymous.get("/", follow_redirects=False)
        assert landing.status_code == 307 and landing.headers["location"] == "/docs"
        assert "swagger" in anonymous.get("/docs").text.lower()
