"""Single invoices submitted as events: accepted at once, processed later, tracked."""

from __future__ import annotations

import json
from typing import Any

import httpx

from invoiceflow.digitize import parse, to_json
from invoiceflow.pipeline import events
from invoiceflow.samples import SAMPLES
from tests.api.conftest import Api

INVOICE = to_json(next(iter(parse(SAMPLES / "ubl" / "en16931-ubl-tc434-example1.xml"))))
JSON = {"Content-Type": "application/json"}


def submit(client: httpx.Client, body: bytes = INVOICE, **headers: str) -> httpx.Response:
    return client.post("/v1/invoice-events", content=body, headers={**JSON, **headers})


def finished(body: dict[str, Any]) -> bool:
    return body.get("state") in ("Done", "Error")


def test_an_event_is_accepted_then_becomes_an_invoice(api: Api, a: httpx.Client) -> None:
    response = submit(a)
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert accepted["state"] == "Queued"
    where = f"/v1/invoice-events/{accepted['message_id']}"
    assert response.headers["Location"] == where
    final = api.wait_for(a, where, finished)
    assert final["state"] == "Done" and final["invoice"] and final["container"]
    invoice = a.get(f"/v1/invoices/{final['invoice']}").json()
    assert invoice["invoice_number"] == "12115118"
    container = a.get(f"/v1/containers/{final['container']}").json()
    assert container["source"] == "event" and container["invoices"] == 1


def test_what_is_not_one_invoice_is_refused_at_once(a: httpx.Client) -> None:
    for body in (b"[1, 2]", b'{"invoice_number": 5}', b"{not json", b""):
        response = submit(a, body)
        assert response.status_code == 422, body
        assert response.json()["code"] == "InvalidInvoice"
    wrong_type = a.post("/v1/invoice-events", content=INVOICE, headers={"Content-Type": "text/csv"})
    assert wrong_type.status_code == 415
    too_big = submit(a, b"{" + b" " * (11 * 1024 * 1024) + b"}")
    assert too_big.status_code == 413


def test_an_invoice_larger_than_a_message_travels_by_blob(api: Api, a: httpx.Client) -> None:
    invoice = json.loads(INVOICE)
    [line] = invoice["lines"][:1]
    invoice["lines"] = [dict(line, line_id=str(n)) for n in range(3000)]
    body = json.dumps(invoice).encode()
    assert len(body) > events.MAX_MESSAGE
    response = submit(a, body)
    assert response.status_code == 202, response.text
    final = api.wait_for(a, response.headers["Location"], finished)
    assert final["state"] == "Done", final
    stored = a.get(f"/v1/invoices/{final['invoice']}").json()
    assert len(stored["lines"]) == 3000


def test_an_idempotency_key_accepts_an_event_once(api: Api, a: httpx.Client) -> None:
    first = submit(a, **{"Idempotency-Key": "event-1"})
    again = submit(a, **{"Idempotency-Key": "event-1"})
    assert first.status_code == again.status_code == 202
    assert first.json() == again.json()
    with api.db.transaction(write=False) as tx:
        [(count,)] = tx.fetch_raw("SELECT COUNT(*) FROM invoice_events WHERE tenant = 'tenant-a'")
    assert submit(a, **{"Idempotency-Key": "event-2"}).json() != first.json()
    with api.db.transaction(write=False) as tx:
        [(after,)] = tx.fetch_raw("SELECT COUNT(*) FROM invoice_events WHERE tenant = 'tenant-a'")
    assert after == count + 1


def test_an_idempotency_key_reused_for_another_invoice_is_refused(
    api: Api, a: httpx.Client
) -> None:
    first = submit(a, **{"Idempotency-Key": "event-reused"})
    assert first.status_code == 202, first.text
    other = json.loads(INVOICE)
    other["invoice_number"] = "OTHER-1"
    with api.db.transaction(write=False) as tx:
        [(count,)] = tx.fetch_raw("SELECT COUNT(*) FROM invoice_events WHERE tenant = 'tenant-a'")
    refused = submit(a, json.dumps(other).encode(), **{"Idempotency-Key": "event-reused"})
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "IdempotencyKeyMismatch"
    assert "Idempotency-Key" in refused.json()["message"]
    again = submit(a, **{"Idempotency-Key": "event-reused"})
    assert again.status_code == 202 and again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    with api.db.transaction(write=False) as tx:
        [(after,)] = tx.fetch_raw("SELECT COUNT(*) FROM invoice_events WHERE tenant = 'tenant-a'")
    assert after == count


def test_another_tenant_cannot_see_an_event(api: Api, a: httpx.Client, b: httpx.Client) -> None:
    accepted = submit(a).json()
    assert b.get(f"/v1/invoice-events/{accepted['message_id']}").status_code == 404
    assert a.get("/v1/invoice-events/no-such-event").status_code == 404


def dead_lettered(api: Api, a: httpx.Client) -> tuple[str, dict[str, Any]]:
    """An event whose processing keeps failing until it waits in the dead-letter queue:
    where to follow it, and its status then."""

    def broken(_event: Any, _context: Any) -> None:
        raise RuntimeError("the store of files is full")

    api.registry.register(events.QUEUE, broken)
    try:
        accepted = submit(a).json()
        where = f"/v1/invoice-events/{accepted['message_id']}"
        return where, api.wait_for(a, where, lambda e: e["state"] == "DeadLettered")
    finally:
        api.registry.register(events.QUEUE, events.handler(api.pipeline))


def test_an_event_that_keeps_failing_waits_in_the_dead_letter_queue_until_redriven(
    api: Api, a: httpx.Client
) -> None:
    where, waiting = dead_lettered(api, a)
    assert waiting["state"] == "DeadLettered" and events.DEAD_LETTER_QUEUE in waiting["reason"]
    moved = a.post(f"/v1/queues/{events.DEAD_LETTER_QUEUE}/redrive").json()["moved"]
    assert moved >= 1
    final = api.wait_for(a, where, finished)
    assert final["state"] == "Done" and final["invoice"]


def test_a_dead_lettered_event_shows_in_its_tenants_listing_of_the_dead_letter_queue(
    api: Api, a: httpx.Client, b: httpx.Client
) -> None:
    where, _ = dead_lettered(api, a)
    message_id = where.rsplit("/", 1)[-1]
    listing = a.get(f"/v1/queues/{events.DEAD_LETTER_QUEUE}/messages", params={"limit": 100})
    assert listing.status_code == 200, listing.text
    mine = [
        m
        for m in listing.json()["messages"]
        if m["attributes"].get(events.EVENT_ID, {}).get("StringValue") == message_id
    ]
    assert len(mine) == 1, listing.json()
    [message] = mine
    assert json.loads(message["body"]) == json.loads(INVOICE)
    assert message["receive_count"] >= 1
    assert message["dead_letter_source"] == events.QUEUE
    theirs = b.get(f"/v1/queues/{events.DEAD_LETTER_QUEUE}/messages", params={"limit": 100})
    assert theirs.status_code in (200, 404)
    if theirs.status_code == 200:
        assert all(
            m["attributes"].get(events.EVENT_ID, {}).get("StringValue") != message_id
            for m in theirs.json()["messages"]
        )
    assert a.post(f"/v1/queues/{events.DEAD_LETTER_QUEUE}/redrive").json()["moved"] >= 1
    assert api.wait_for(a, where, finished)["state"] == "Done"


def test_an_event_needs_no_source_and_the_schema_says_so(api: Api, a: httpx.Client) -> None:
    sent = {"invoice_number": "NS-1", "currency": "EUR", "totals": {"payable": "10.00"}}
    response = submit(a, json.dumps(sent).encode())
    assert response.status_code == 202, response.text
    final = api.wait_for(a, f"/v1/invoice-events/{response.json()['message_id']}", finished)
    stored = a.get(f"/v1/invoices/{final['invoice']}").json()
    assert stored["source"]["format"] == "json"  # recorded by the reader
    schema = a.get("/openapi.json").json()["components"]["schemas"]["Invoice"]
    assert schema["required"] == ["invoice_number"]
