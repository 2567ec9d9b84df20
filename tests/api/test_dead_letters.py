"""A workflow step's message that keeps failing fails its step at once and stays in the
step's dead-letter queue, where its tenant (only) sees it through the API."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx

from invoiceflow.pipeline import containers
from invoiceflow.pipeline.handlers import PREFIX
from tests.api.conftest import Api
from tests.api.test_containers import csv, settled, upload

STEP = f"{PREFIX}set-file-processing"
DLQ = f"{STEP}-dlq"


def test_a_poisoned_step_message_is_visible_in_its_dead_letter_queue(
    api: Api, a: httpx.Client, b: httpx.Client
) -> None:
    healthy = api.registry.handlers[STEP]

    def poisoned(event: dict[str, Any], context: Any) -> Any:
        """Every record for a file named poison.csv fails; the others are worked on."""
        bad, good = [], []
        for record in event["Records"]:
            with api.db.transaction(write=False) as tx:
                found = containers.get(tx, json.loads(record["body"])["container"])
            (bad if found is not None and found.name == "poison.csv" else good).append(record)
        out = healthy({**event, "Records": good}, context) if good else {}
        failures = out.get("batchItemFailures", [])
        return {"batchItemFailures": failures + [{"itemIdentifier": r["messageId"]} for r in bad]}

    api.registry.register(STEP, poisoned)
    try:
        created = upload(a, "poison.csv", csv([("P-1", "Poison Co", "1.00")])).json()
        ended = api.wait_for(a, f"/v1/containers/{created['id']}", settled)
    finally:
        api.registry.register(STEP, healthy)
    assert ended["state"] == "Error"
    assert "set-file-processing step failed every time" in ended["reason"]
    assert DLQ in ended["reason"]

    listing = a.get(f"/v1/queues/{DLQ}/messages", params={"limit": 100})
    assert listing.status_code == 200, listing.text
    mine = [
        m
        for m in listing.json()["messages"]
        if json.loads(m["body"]).get("container") == created["id"]
    ]
    assert len(mine) == 1, listing.json()
    [message] = mine
    assert message["dead_letter_source"] == STEP and message["receive_count"] >= 2
    time.sleep(2)  # past the queues' visibility timeout: the worker does not drain it
    again = a.get(f"/v1/queues/{DLQ}/messages", params={"limit": 100})
    assert created["id"] in again.text
    counts = {q["name"]: q for q in a.get("/v1/queues").json()["queues"]}
    assert counts[DLQ]["in_flight"] >= 1 and counts[DLQ]["visible"] == 0

    theirs = b.get(f"/v1/queues/{DLQ}/messages", params={"limit": 100})
    assert theirs.status_code == 200 and created["id"] not in theirs.text

    redriven = a.post(f"/v1/queues/{DLQ}/redrive")
    assert redriven.status_code == 409 and redriven.json()["code"] == "StepAlreadyFailed"
    assert "/retry" in redriven.json()["message"]
    retried = a.post(f"/v1/containers/{created['id']}/retry")
    assert retried.status_code == 200
    assert api.wait_for(a, f"/v1/containers/{created['id']}", settled)["state"] == "Done"
