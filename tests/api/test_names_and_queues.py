"""File names beyond ASCII arrive intact, a request carries one identity, and a tenant's
view of the queues holds only queues its work goes through."""

from __future__ import annotations

from urllib.parse import quote

import httpx

from invoiceflow.queues import SQSClient
from tests.api.conftest import Api
from tests.api.test_containers import csv

NAME = "Rechnung März \u2013 請求書 №7.csv"  # an en dash among them


def test_utf8_file_names_are_kept_exactly(a: httpx.Client) -> None:
    data = csv([("U-1", "Umlaut GmbH", "1.00")])
    encoded = quote(NAME, safe="")
    boundary = "b0undary"
    form = (
        (
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="file"; filename="fallback.csv"; '
            f"filename*=UTF-8''{encoded}\r\n"
            "Content-Type: text/csv\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    multipart = a.post(
        "/v1/containers",
        content=form,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert multipart.status_code == 201, multipart.text
    assert multipart.json()["name"] == NAME
    raw = a.post("/v1/containers", content=data, headers={"X-Filename": encoded})
    assert raw.status_code == 201, raw.text
    assert raw.json()["name"] == NAME
    broken = a.post("/v1/containers", content=data, headers={"X-Filename": "%C3.csv"})
    assert broken.status_code == 400 and broken.json()["code"] == "InvalidFileName"


def test_the_queue_listing_shows_only_queues_the_tenants_work_uses(
    api: Api, a: httpx.Client, b: httpx.Client
) -> None:
    sqs = SQSClient(api.pipeline.engine.runtime.queues)
    sqs.create_queue(QueueName="another-application")
    sqs.create_queue(QueueName="b-only")
    queues = api.pipeline.engine.runtime.queues
    with api.db.transaction() as tx:
        queues.send(tx, queues.find(tx, "b-only"), "work of b", tenant="tenant-b")
    seen_by_a = {q["name"] for q in a.get("/v1/queues").json()["queues"]}
    seen_by_b = {q["name"] for q in b.get("/v1/queues").json()["queues"]}
    assert "invoiceflow-invoice-events" in seen_by_a & seen_by_b  # the pipeline's: everyone's
    assert "another-application" not in seen_by_a | seen_by_b
    assert "b-only" in seen_by_b and "b-only" not in seen_by_a
    assert a.get("/v1/queues/b-only/messages").status_code == 404
    assert a.get("/v1/queues/another-application/messages").status_code == 404
    assert len(b.get("/v1/queues/b-only/messages").json()["messages"]) == 1
