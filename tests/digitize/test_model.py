"""The invoice model's JSON form: the keys other tools rely on, round trips, the schema."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from invoiceflow.cli import app
from invoiceflow.digitize import from_json, json_schema, parse, to_json
from invoiceflow.samples import SAMPLES

EVERY = [p for p in sorted(SAMPLES.glob("*/*")) if p.suffix in (".x12", ".xml")]


@pytest.mark.parametrize("path", EVERY, ids=lambda p: p.name)
def test_json_round_trips(path: Path) -> None:
    for invoice in parse(path):
        assert from_json(to_json(invoice)) == invoice


def test_the_json_form_uses_the_agreed_keys_and_decimal_strings() -> None:
    invoice = next(parse(SAMPLES / "ubl/en16931-ubl-tc434-example1.xml"))
    data = json.loads(to_json(invoice))
    assert {
        "invoice_number",
        "document_type",
        "issue_date",
        "due_date",
        "currency",
        "seller",
        "buyer",
        "lines",
        "totals",
        "source",
    } <= set(data)
    assert data["issue_date"] == "2015-01-09"
    assert data["totals"]["payable"] == "250.33"
    assert {"name", "tax_id", "address"} <= set(data["seller"])
    assert {
        "line_id",
        "description",
        "quantity",
        "unit",
        "unit_price",
        "net_amount",
        "seller_item_id",
    } <= set(data["lines"][0])
    assert data["lines"][0]["quantity"] == "2"


def test_the_schema_describes_the_json_form() -> None:
    schema = json_schema()
    invoice = schema["$defs"]["Invoice"]
    # What invoiceflow reads needs only a number: ``source`` is set by the reader.
    assert invoice["required"] == ["invoice_number"] and "source" in invoice["properties"]
    assert set(json.loads(to_json(next(parse(EVERY[0]))))) <= set(invoice["properties"])
    totals = schema["$defs"]["Totals"]["properties"]
    assert set(totals) == {
        "line_total",
        "allowances",
        "charges",
        "tax_exclusive",
        "tax_total",
        "tax_inclusive",
        "prepaid",
        "rounding",
        "payable",
    }


def test_cli_prints_one_invoice_per_line_and_a_summary(tmp_path: Path) -> None:
    broken = tmp_path / "broken.xml"
    broken.write_bytes(b"<Invoice><oops></Invoice>")
    result = CliRunner().invoke(
        app, ["parse", "--json", str(SAMPLES / "x12/bots-810-004010-01.x12"), str(broken)]
    )
    assert result.exit_code == 1
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["invoice_number"] for line in lines[:-1]] == ["465266", "465267"]
    summary = lines[-1]["summary"]
    assert (summary["files"], summary["invoices"]) == (2, 2)
    assert summary["unreadable"][0]["code"] == "bad_xml"
    schema = CliRunner().invoke(app, ["parse", "--schema"])
    assert json.loads(schema.stdout)["title"] == "invoiceflow invoice"
