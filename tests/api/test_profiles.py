"""Supplier profiles over HTTP: stored per tenant, named by an upload or matched to it, and
kept by the container so that a retry reads the file the same way."""

from __future__ import annotations

from typing import Any

import httpx

from invoiceflow.api import keys
from tests.api.conftest import Api
from tests.api.test_containers import settled

ODD = "Ref;Wann;Von;Was;Stk;EP\nB-{n};01.11.2026;Profile Api GmbH;Schraube;2;1,50\n"
PROFILE: dict[str, Any] = {
    "columns": {
        "invoice_number": "Ref",
        "issue_date": "Wann",
        "seller_name": "Von",
        "description": "Was",
        "quantity": "Stk",
        "unit_price": "EP",
    },
    "delimiter": ";",
    "decimal": ",",
    "date_format": "%d.%m.%Y",
}


def odd(n: int) -> bytes:
    return ODD.format(n=n).encode()


def own(api: Api, tenant: str) -> httpx.Client:
    _, key = keys.create(api.db, tenant)
    return api.client(key)


def test_profiles_are_stored_listed_read_and_deleted_per_tenant(api: Api, b: httpx.Client) -> None:
    with own(api, "tenant-profiles") as c:
        put = c.put("/v1/profiles/acme", json={"profile": PROFILE, "match_file": "acme-*.csv"})
        assert put.status_code == 200, put.text
        assert put.json()["profile"]["columns"]["invoice_number"] == "Ref"
        assert [p["name"] for p in c.get("/v1/profiles").json()["profiles"]] == ["acme"]
        assert c.get("/v1/profiles/acme").json()["match_file"] == "acme-*.csv"
        assert b.get("/v1/profiles/acme").status_code == 404  # another tenant's
        assert b.get("/v1/profiles").json()["profiles"] == []
        assert c.delete("/v1/profiles/acme").status_code == 204
        assert c.delete("/v1/profiles/acme").status_code == 404
        assert c.get("/v1/profiles/acme").status_code == 404


def test_a_bad_profile_is_refused_with_its_problem(api: Api, a: httpx.Client) -> None:
    unknown = a.put("/v1/profiles/bad", json={"profile": {"columns": {"colour": "X"}}})
    assert unknown.status_code == 400 and unknown.json()["code"] == "InvalidProfile"
    assert "unknown fields colour" in unknown.json()["message"]
    codec = a.put(
        "/v1/profiles/bad", json={"profile": {"columns": {"quantity": "Q"}, "encoding": "nope"}}
    )
    assert codec.status_code == 400 and "encoding 'nope'" in codec.json()["message"]
    name = a.put("/v1/profiles/no%20spaces", json={"profile": PROFILE})
    assert name.status_code == 400 and "profile name" in name.json()["message"]
    shape = a.put("/v1/profiles/x", json={"profile": "columns"})
    assert shape.status_code == 422
    assert a.get("/v1/profiles/bad").status_code == 404


def test_an_upload_names_a_profile_by_query_or_form_field(api: Api) -> None:
    with own(api, "tenant-named") as c:
        assert c.put("/v1/profiles/odd", json={"profile": PROFILE}).status_code == 200
        plain = c.post("/v1/containers", files={"file": ("plain.csv", odd(1))}).json()
        by_query = c.post(
            "/v1/containers", params={"profile": "odd"}, files={"file": ("q.csv", odd(2))}
        ).json()
        by_form = c.post(
            "/v1/containers", data={"profile": "odd"}, files={"file": ("f.csv", odd(3))}
        ).json()
        raw = c.post(
            "/v1/containers",
            params={"profile": "odd"},
            content=odd(4),
            headers={"X-Filename": "raw.csv"},
        ).json()
        assert plain["profile"] is None and by_query["profile"] == by_form["profile"] == "odd"
        ended = {
            x["name"]: api.wait_for(c, f"/v1/containers/{x['id']}", settled)
            for x in (plain, by_query, by_form, raw)
        }
        assert ended["plain.csv"]["state"] == "Error"
        assert "A supplier profile can name them" in ended["plain.csv"]["reason"]
        for name in ("q.csv", "f.csv", "raw.csv"):
            assert (ended[name]["state"], ended[name]["invoices"]) == ("Done", 1), ended[name]
        invoices = c.get(f"/v1/containers/{by_form['id']}/invoices").json()["items"]
        assert invoices[0]["invoice_number"] == "B-3" and invoices[0]["issue_date"] == "2026-11-01"

        unknown = c.post(
            "/v1/containers", params={"profile": "nope"}, files={"file": ("u.csv", odd(5))}
        )
        assert unknown.status_code == 400 and unknown.json()["code"] == "UnknownProfile"
        assert "nope" in unknown.json()["message"]
        both = c.post(
            "/v1/containers",
            params={"profile": "odd"},
            data={"profile": "other"},
            files={"file": ("b.csv", odd(6))},
        )
        assert both.status_code == 400 and both.json()["code"] == "ConflictingProfiles"
        names = [x["name"] for x in c.get("/v1/containers").json()["items"]]
        assert "u.csv" not in names and "b.csv" not in names  # refused before any container


def test_a_profile_is_matched_by_file_name_or_supplier_and_kept_for_a_retry(api: Api) -> None:
    with own(api, "tenant-matched") as c:
        c.put("/v1/profiles/by-name", json={"profile": PROFILE, "match_file": "ACME-*.csv"})
        c.put(
            "/v1/profiles/by-supplier", json={"profile": PROFILE, "match_supplier": "profile api"}
        )
        named = c.post("/v1/containers", files={"file": ("acme-11.csv", odd(7))}).json()
        supplier = c.post("/v1/containers", files={"file": ("from-mail.csv", odd(8))}).json()
        assert (named["profile"], supplier["profile"]) == ("by-name", "by-supplier")
        for x in (named, supplier):
            assert api.wait_for(c, f"/v1/containers/{x['id']}", settled)["state"] == "Done"

        # A profile that cannot read the file: the container ends in Error with it; fixed
        # and stored again, the retry still reads with the copy the container kept.
        wrong = {**PROFILE, "columns": {**PROFILE["columns"], "quantity": "Menge"}}
        c.put("/v1/profiles/wrong", json={"profile": wrong})
        failed = c.post(
            "/v1/containers",
            params={"profile": "wrong"},
            files={"file": ("w.csv", odd(9))},
        ).json()
        ended = api.wait_for(c, f"/v1/containers/{failed['id']}", settled)
        assert ended["state"] == "Error" and ended["profile"] == "wrong"
        c.put("/v1/profiles/wrong", json={"profile": PROFILE})
        assert c.post(f"/v1/containers/{failed['id']}/retry").status_code == 200
        again = api.wait_for(c, f"/v1/containers/{failed['id']}", settled)
        assert again["state"] == "Error" and again["profile"] == "wrong"
        assert again["reason"] == ended["reason"]
