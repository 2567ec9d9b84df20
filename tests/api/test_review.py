"""Over HTTP: containers that need review, invoices with problems, a failing post-creation
action shown on its container while it is tried again."""

from __future__ import annotations

import http.server
import threading
from typing import Any

import httpx

from invoiceflow.api import keys
from invoiceflow.pipeline import actions
from tests.api.conftest import Api
from tests.api.test_containers import settled, upload

MIXED = (
    b"invoice_number,invoice_date,currency,supplier,description,qty,unit_price\n"
    b"AR-1,,EUR,Api Review Co,Item,1,5.00\n"
    b"AR-2,2026-11-02,EUR,Api Review Co,Item,1,7.00\n"
)
CLEAN = (
    b"invoice_number,invoice_date,currency,supplier,description,qty,unit_price,amount,total\n"
    b"AC-1,2026-11-03,EUR,Api Clean Co,Item,1,5.00,5.00,5.00\n"
)


def own_client(api: Api, tenant: str) -> httpx.Client:
    _, key = keys.create(api.db, tenant)
    return api.client(key)


def test_containers_needing_review_and_invoices_with_problems(api: Api) -> None:
    with own_client(api, "tenant-review") as c:
        mixed = upload(c, "mixed.csv", MIXED).json()
        clean = upload(c, "clean.csv", CLEAN).json()
        mixed = api.wait_for(c, f"/v1/containers/{mixed['id']}", settled)
        clean = api.wait_for(c, f"/v1/containers/{clean['id']}", settled)
        assert (mixed["state"], mixed["needs_review"], mixed["review_count"]) == ("Done", True, 1)
        assert (clean["state"], clean["needs_review"], clean["review_count"]) == ("Done", False, 0)
        flagged = c.get("/v1/containers", params={"needs_review": "true"}).json()
        assert [x["id"] for x in flagged["items"]] == [mixed["id"]]
        others = c.get("/v1/containers", params={"needs_review": "false"}).json()
        assert [x["id"] for x in others["items"]] == [clean["id"]]
        first = c.get("/v1/containers", params={"needs_review": "true", "limit": 1}).json()
        assert first["next_cursor"] is None
        both = c.get("/v1/invoices", params={"has_problems": "true"}).json()
        assert sorted(i["invoice_number"] for i in both["items"]) == ["AR-1", "AR-2"]
        none = c.get("/v1/invoices", params={"has_problems": "false"}).json()
        assert [i["invoice_number"] for i in none["items"]] == ["AC-1"]
        paged = c.get("/v1/invoices", params={"has_problems": "true", "limit": 1}).json()
        rest = c.get(
            "/v1/invoices", params={"has_problems": "true", "cursor": paged["next_cursor"]}
        ).json()
        assert len(paged["items"]) == len(rest["items"]) == 1
        bad = c.get("/v1/containers", params={"needs_review": "perhaps"})
        assert bad.status_code == 422 and "needs_review" in bad.text


def test_a_failing_webhook_shows_on_the_container_until_it_goes_through(api: Api) -> None:
    seen: list[dict[str, Any]] = []
    client = own_client(api, "tenant-trouble")

    class Handler(http.server.BaseHTTPRequestHandler):
        requests = 0

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            Handler.requests += 1
            if Handler.requests == 2:  # tried again: what does the container show now?
                [item] = client.get("/v1/containers").json()["items"]
                seen.append(item)
            self.send_response(503 if Handler.requests == 1 else 204)
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/hook"
    try:
        actions.save_settings(
            api.db, "tenant-trouble", actions.Settings(webhook=actions.Webhook(url, "k"))
        )
        created = upload(client, "clean.csv", CLEAN.replace(b"AC-1", b"AT-1")).json()
        final = api.wait_for(client, f"/v1/containers/{created['id']}", settled)
    finally:
        server.shutdown()
        server.server_close()
        client.close()
    [meanwhile] = seen
    assert meanwhile["state"] == "Processing" and meanwhile["attempts"] == 1
    assert meanwhile["last_error"] == f"webhook: {url} answered 503"
    assert meanwhile["last_error_at"] is not None
    assert (final["state"], final["last_error"], final["attempts"]) == ("Done", None, 0)
