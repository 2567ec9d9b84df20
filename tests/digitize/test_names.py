"""Seller and buyer names as EN 16931 has them: the legal name (BT-27 / BT-44) and the trading
name (BT-28 / BT-45), kept apart in every format, the legal name the one shown."""

import json
from pathlib import Path

from invoiceflow.digitize import from_json, json_schema, parse, to_json

SAME = Path(__file__).resolve().parents[1] / "data" / "same-invoice"
UBL_SELLER = "<cac:AccountingSupplierParty><cac:Party>\n"
UBL_BUYER = "<cac:AccountingCustomerParty><cac:Party>\n"
CII_SELLER = "<ram:Name>Seller BV</ram:Name>\n"
CII_BUYER = "<ram:Name>Buyer GmbH</ram:Name>\n"


def _ubl(seller: str = "", buyer: str = "") -> bytes:
    text = (SAME / "invoice.ubl.xml").read_text()
    assert UBL_SELLER in text and UBL_BUYER in text
    if seller:
        text = text.replace(
            UBL_SELLER, f"{UBL_SELLER}<cac:PartyName><cbc:Name>{seller}</cbc:Name></cac:PartyName>"
        )
    if buyer:
        text = text.replace(
            UBL_BUYER, f"{UBL_BUYER}<cac:PartyName><cbc:Name>{buyer}</cbc:Name></cac:PartyName>"
        )
    return text.encode()


def _cii(seller: str = "", buyer: str = "") -> bytes:
    text = (SAME / "invoice.cii.xml").read_text()
    assert CII_SELLER in text and CII_BUYER in text
    for marker, name in ((CII_SELLER, seller), (CII_BUYER, buyer)):
        if name:
            organization = (
                "<ram:SpecifiedLegalOrganization><ram:TradingBusinessName>"
                f"{name}</ram:TradingBusinessName></ram:SpecifiedLegalOrganization>"
            )
            text = text.replace(marker, marker + organization)
    return text.encode()


def _edifact(seller: str = "") -> bytes:
    text = (SAME / "invoice.edi").read_text()
    assert "NAD+SE+++Seller BV+" in text
    return text.replace("NAD+SE+++Seller BV+", f"NAD+SE+++Seller BV:{seller}+").encode()


def test_a_ubl_party_keeps_its_legal_and_trading_names_and_shows_the_legal_one() -> None:
    [inv] = parse(_ubl(seller="Tulip Paper", buyer="Papierhaus Berlin"))
    assert inv.seller and (inv.seller.name, inv.seller.trading_name) == ("Seller BV", "Tulip Paper")
    assert inv.buyer and (inv.buyer.name, inv.buyer.trading_name) == (
        "Buyer GmbH",
        "Papierhaus Berlin",
    )
    shown = json.loads(to_json(inv))
    assert shown["seller"]["name"] == "Seller BV"
    assert shown["seller"]["trading_name"] == "Tulip Paper"


def test_a_party_with_only_a_trading_name_is_shown_by_it() -> None:
    text = _ubl(seller="Tulip Paper").decode()
    text = text.replace(
        "<cac:PartyLegalEntity><cbc:RegistrationName>Seller BV</cbc:RegistrationName>"
        "</cac:PartyLegalEntity>",
        "",
    )
    [inv] = parse(text.encode())
    assert inv.seller and (inv.seller.name, inv.seller.trading_name) == (
        "Tulip Paper",
        "Tulip Paper",
    )


def test_ubl_cii_and_edifact_map_the_names_alike() -> None:
    ubl, cii, edifact = (
        next(parse(data))
        for data in (
            _ubl(seller="Tulip Paper"),
            _cii(seller="Tulip Paper"),
            _edifact("Tulip Paper"),
        )
    )
    cii.source = edifact.source = ubl.source
    assert ubl == cii == edifact
    assert ubl.seller and (ubl.seller.name, ubl.seller.trading_name) == ("Seller BV", "Tulip Paper")
    ubl, cii = next(parse(_ubl(buyer="Papierhaus"))), next(parse(_cii(buyer="Papierhaus")))
    cii.source = ubl.source
    assert ubl == cii and ubl.buyer and ubl.buyer.trading_name == "Papierhaus"


def test_edifact_outside_the_en16931_binding_writes_one_name_over_several_components() -> None:
    text = (SAME / "invoice.edi").read_text()
    text = text.replace("INVOIC:D:16B:UN", "INVOIC:D:96A:UN").replace(
        "NAD+SE+++Seller BV+", "NAD+SE+++Seller Industrial Paper Supplies:International BV+"
    )
    [inv] = parse(text.encode())
    assert inv.seller and inv.seller.name == "Seller Industrial Paper Supplies International BV"
    assert inv.seller.trading_name is None


def test_the_en16931_specification_identifier_marks_the_binding() -> None:
    text = (SAME / "invoice.edi").read_text()
    text = text.replace("INVOIC:D:16B:UN", "INVOIC:D:14B:UN").replace(
        "NAD+SE+++Seller BV+", "FTX+DOC++P1+urn?:cen.eu?:en16931?:2017'NAD+SE+++Seller BV:Tulip+"
    )
    text = text.replace("UNT+35+1", "UNT+36+1")
    [inv] = parse(text.encode())
    assert inv.seller and (inv.seller.name, inv.seller.trading_name) == ("Seller BV", "Tulip")
    assert inv.problems == []


def test_the_json_form_schema_and_reader_know_the_trading_name() -> None:
    party = json_schema()["$defs"]["Party"]["properties"]
    assert {"name", "trading_name"} <= set(party)
    [inv] = parse(_ubl(seller="Tulip Paper"))
    assert from_json(to_json(inv)) == inv
    data = json.loads(to_json(inv))
    data["seller"] = {"trading_name": "Tulip Paper"}
    data.pop("source")
    [read] = parse(json.dumps(data).encode())
    assert read.seller and (read.seller.name, read.seller.trading_name) == (
        "Tulip Paper",
        "Tulip Paper",
    )
