"""Uploading files and following their containers and invoices over HTTP."""

from __future__ import annotations

import socket
import time
from typing import Any
from urllib.parse import urlsplit

import httpx

from invoiceflow.pipeline import actions
from invoiceflow.pipeline.handlers import SETTINGS_TTL
from invoiceflow.samples import SAMPLES
from tests.api.conftest import MAX_UPLOAD, Api

MULTI = SAMPLES / "x12" / "oopfactory-Example3_MultiInvoice.x12"


def csv(rows: list[tuple[str, str, str]]) -> bytes:
    """(number, supplier, total) rows as a CSV export."""
    lines = ["invoice_number,invoice_date,currency,supplier,description,qty,unit_price"]
    lines += [f"{n},2026-11-0{i % 9 + 1},EUR,{s},Item,1,{t}" for i, (n, s, t) in enumerate(rows)]
    return ("\n".join(lines) + "\n").encode()


def settled(body: dict[str, Any]) -> bool:
    return body.get("state") in ("Done", "Error")


def upload(client: httpx.Client, name: str, data: bytes, **headers: str) -> httpx.Response:
    return client.post("/v1/containers", files={"file": (name, data)}, headers=headers)


def test_a_multipart_upload_becomes_a_container_that_ends_done(api: Api, a: httpx.Client) -> None:
    response = upload(a, MULTI.name, MULTI.read_bytes())
    assert response.status_code == 201, response.text
    created = response.json()
    assert response.headers["Location"] == f"/v1/containers/{created['id']}"
    assert created["state"] == "New" and created["execution_arn"].endswith(created["id"])
    final = api.wait_for(a, response.headers["Location"], settled)
    assert final["state"] == "Done" and final["invoices"] == final["parsed"] > 1
    page = a.get(f"/v1/containers/{created['id']}/invoices").json()
    assert len(page["items"]) == final["invoices"]
    one = a.get(f"/v1/invoices/{page['items'][0]['id']}").json()
    assert one["container"] == created["id"] and one["invoice_number"]
    execution = a.get(f"/v1/executions/{created['execution_arn']}").json()
    assert execution["status"] == "SUCCEEDED"


def test_a_raw_body_needs_its_name_and_a_known_type(api: Api, a: httpx.Client) -> None:
    data = csv([("R-1", "Raw Supplier", "10.00")])
    named = a.post("/v1/containers", content=data, headers={"X-Filename": "dir/raw.csv"})
    assert named.status_code == 201 and named.json()["name"] == "raw.csv"
    unnamed = a.post("/v1/containers", content=data)
    assert unnamed.status_code == 400 and unnamed.json()["code"] == "InvalidFileName"
    odd = a.post(
        "/v1/containers",
        content=data,
        headers={"X-Filename": "x.csv", "Content-Type": "image/png"},
    )
    assert odd.status_code == 415 and odd.json()["code"] == "UnsupportedMediaType"
    empty = a.post("/v1/containers", content=b"", headers={"X-Filename": "e.csv"})
    assert empty.status_code == 400 and empty.json()["code"] == "EmptyFile"
    no_field = a.post("/v1/containers", files={"other": ("x.csv", data)})
    assert no_field.status_code == 422


def test_a_malformed_file_ends_in_error_with_a_reason(api: Api, a: httpx.Client) -> None:
    response = upload(a, "broken.x12", b"ISA*00*this is not an interchange~")
    final = api.wait_for(a, response.headers["Location"], settled)
    assert final["state"] == "Error" and final["reason"]
    retried = a.post(f"/v1/containers/{final['id']}/retry")
    assert retried.status_code == 200 and retried.json()["state"] == "Processing"
    again = api.wait_for(a, response.headers["Location"], settled)
    assert again["state"] == "Error"


def test_only_a_container_in_error_is_retried(api: Api, a: httpx.Client) -> None:
    response = upload(a, "ok.csv", csv([("OK-1", "Retry Supplier", "5.00")]))
    api.wait_for(a, response.headers["Location"], settled)
    refused = a.post(f"{response.headers['Location']}/retry")
    assert refused.status_code == 409 and refused.json()["code"] == "NotInError"


def test_an_upload_over_the_limit_is_refused_before_its_body_is_read(api: Api) -> None:
    """The declared length is enough: the body is never sent, and the answer comes."""
    where = urlsplit(api.url)
    with socket.create_connection((where.hostname, where.port), timeout=10) as sock:
        sock.sendall(
            b"POST /v1/containers HTTP/1.1\r\nHost: x\r\n"
            + f"Authorization: Bearer {api.key_a}\r\n".encode()
            + b"X-Filename: big.csv\r\nContent-Type: text/csv\r\n"
            + f"Content-Length: {10**9}\r\n\r\n".encode()
        )
        answer = b""
        while b"}" not in answer:  # the head, then the JSON body
            got = sock.recv(65536)
            if not got:
                break
            answer += got
    assert answer.startswith(b"HTTP/1.1 413"), answer
    assert b'"code":"PayloadTooLarge"' in answer


def test_a_streamed_upload_is_cut_off_at_the_limit(api: Api, a: httpx.Client) -> None:
    def chunks() -> Any:
        for _ in range(MAX_UPLOAD // 10_000 + 5):
            yield b"x" * 10_000

    raw = a.post("/v1/containers", content=chunks(), headers={"X-Filename": "big.csv"})
    assert raw.status_code == 413
    multipart = upload(a, "big.csv", b"y" * (MAX_UPLOAD + 1))
    assert multipart.status_code == 413


def test_an_idempotency_key_replays_the_first_upload(api: Api, a: httpx.Client) -> None:
    data = csv([("IDEM-1", "Idem Supplier", "7.00")])
    first = upload(a, "idem.csv", data, **{"Idempotency-Key": "upload-1"})
    again = upload(a, "idem.csv", data, **{"Idempotency-Key": "upload-1"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    other = upload(a, "idem.csv", data, **{"Idempotency-Key": "upload-2"})
    assert other.json()["id"] != first.json()["id"]
    listed = a.get("/v1/containers", params={"limit": 1000}).json()["items"]
    assert sum(c["name"] == "idem.csv" for c in listed) == 2
    too_long = upload(a, "idem.csv", data, **{"Idempotency-Key": "k" * 256})
    assert too_long.status_code == 400


def test_an_idempotency_key_reused_for_another_file_is_refused(api: Api, a: httpx.Client) -> None:
    data = csv([("KEY-1", "Key Supplier", "3.00")])
    first = upload(a, "key-first.csv", data, **{"Idempotency-Key": "upload-reused"})
    assert first.status_code == 201, first.text
    changes = [
        ("key-first.csv", csv([("KEY-2", "Key Supplier", "4.00")])),  # another content
        ("key-second.csv", data),  # the same content under another name
    ]
    for name, content in changes:
        refused = upload(a, name, content, **{"Idempotency-Key": "upload-reused"})
        assert refused.status_code == 422, refused.text
        assert refused.json()["code"] == "IdempotencyKeyMismatch"
        assert "Idempotency-Key" in refused.json()["message"]
    raw = a.post(
        "/v1/containers",
        content=csv([("KEY-3", "Key Supplier", "5.00")]),
        headers={"X-Filename": "key-first.csv", "Idempotency-Key": "upload-reused"},
    )
    assert raw.status_code == 422 and raw.json()["code"] == "IdempotencyKeyMismatch"
    # The same file again, as multipart or as a raw body, still gets the first response.
    again = upload(a, "key-first.csv", data, **{"Idempotency-Key": "upload-reused"})
    assert again.status_code == 201 and again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    same_raw = a.post(
        "/v1/containers",
        content=data,
        headers={"X-Filename": "key-first.csv", "Idempotency-Key": "upload-reused"},
    )
    assert same_raw.status_code == 201 and same_raw.json() == first.json()
    listed = a.get("/v1/containers", params={"limit": 1000}).json()["items"]
    assert sum(c["name"].startswith("key-") for c in listed) == 1


def test_a_response_recorded_without_a_digest_still_replays(api: Api, a: httpx.Client) -> None:
    """A record from before requests' digests were kept answers any repeat of its key."""
    body = b'{"id": "earlier"}'
    with api.db.transaction() as tx:
        tx.execute_raw(
            "INSERT INTO idempotent_responses (tenant, route, key, status, body, headers, created)"
            " VALUES ('tenant-a', 'containers', 'upload-earlier', 201, ?, '{}', ?)",
            (body.decode(), time.time()),
        )
    data = csv([("OLD-1", "Old Supplier", "1.00")])
    replayed = upload(a, "old.csv", data, **{"Idempotency-Key": "upload-earlier"})
    assert replayed.status_code == 201 and replayed.content == body
    assert replayed.headers["Idempotent-Replayed"] == "true"


def test_containers_page_with_a_cursor_and_filter(api: Api, b: httpx.Client) -> None:
    ids = [
        upload(b, f"p{i}.csv", csv([(f"P-{i}", "Page Supplier", "1.00")])).json()["id"]
        for i in range(3)
    ]
    for i in ids:
        api.wait_for(b, f"/v1/containers/{i}", settled)
    seen = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, "state": "Done"}
        if cursor:
            params["cursor"] = cursor
        page = b.get("/v1/containers", params=params).json()
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert set(ids) <= set(seen) and len(seen) == len(set(seen))
    later = b.get("/v1/containers", params={"since": "2999-01-01T00:00:00Z"}).json()
    assert later["items"] == []
    bad = b.get("/v1/containers", params={"cursor": "not-a-cursor"})
    assert bad.status_code == 400 and bad.json()["code"] == "InvalidCursor"


def test_invoices_filter_by_supplier_dates_totals_and_duplicates(api: Api, a: httpx.Client) -> None:
    actions.save_settings(api.db, "tenant-a", actions.Settings(flag_duplicates=True))
    time.sleep(SETTINGS_TTL + 0.1)  # handlers may have read the settings before
    supplier = "Filter Supplier"
    first = upload(a, "filters.csv", csv([("F-1", supplier, "10.00"), ("F-2", supplier, "250.00")]))
    api.wait_for(a, first.headers["Location"], settled)
    again = upload(a, "again.csv", csv([("F-1", supplier, "10.00")]))  # another container
    api.wait_for(a, again.headers["Location"], settled)
    mine = a.get("/v1/invoices", params={"supplier": supplier}).json()["items"]
    assert len(mine) == 3
    big = a.get("/v1/invoices", params={"supplier": supplier, "total_min": "100"}).json()
    assert [i["invoice_number"] for i in big["items"]] == ["F-2"]
    small = a.get("/v1/invoices", params={"supplier": supplier, "total_max": "100"}).json()
    assert len(small["items"]) == 2
    dated = a.get(
        "/v1/invoices",
        params={"supplier": supplier, "issued_from": "2026-11-02", "issued_to": "2026-11-02"},
    ).json()
    assert [i["invoice_number"] for i in dated["items"]] == ["F-2"]
    flagged = a.get("/v1/invoices", params={"supplier": supplier, "duplicate": "true"}).json()
    unflagged = a.get("/v1/invoices", params={"supplier": supplier, "duplicate": "false"}).json()
    assert len(flagged["items"]) == 1 and flagged["items"][0]["duplicate_of"]
    assert len(unflagged["items"]) == 2
