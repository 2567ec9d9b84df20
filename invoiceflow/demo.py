"""``invoiceflow demo``: the main job on bundled sample files, end to end, over HTTP.

Starts ``invoiceflow serve`` (the API with its workers, on a free port of 127.0.0.1),
creates an API key for the tenant ``demo``, uploads the published X12, EDIFACT, UBL and
CII samples, a generated CSV export and JSON file, and one broken file, and submits one
invoice as an event; shows progress while the workflows run; then prints every container
with its state and invoice count, and where to look next.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from invoiceflow.api import keys
from invoiceflow.samples import SAMPLES
from invoiceflow.store import database_url, open_database

TENANT = "demo"
TERMINAL = ("Done", "Error")
TIMEOUT = 120.0  # seconds the demo waits for its work
WIDTH = 80  # columns the demo prints at most
SHOWN = "acme-export.csv"  # the file whose path through the workflow is shown

BUNDLED = (
    "x12/oopfactory-Example3_MultiInvoice.x12",
    "x12/oopfactory-Example4_Adobe.x12",
    "edifact/pydifact-invoice1.edi",
    "ubl/en16931-ubl-tc434-example1.xml",
    "ubl/en16931-ubl-tc434-creditnote1.xml",
    "cii/en16931-CII_example2.xml",
)


def generated_csv() -> bytes:
    rows = [
        "invoice_number,invoice_date,currency,supplier,supplier_vat,description,qty,unit_price,vat_rate"
    ]
    for n in range(1, 6):
        for line in range(1, 4):
            rows.append(
                f"ACME-{n:04d},2026-11-{n + 10},EUR,Acme Supplies B.V.,NL001234567B01,"
                f"Item {line},{line + n},{line * 2.5:.2f},21"
            )
    return ("\n".join(rows) + "\n").encode()


def generated_json() -> bytes:
    invoices = [
        {
            "invoice_number": f"GLOBEX-{n}",
            "issue_date": "2026-11-20",
            "currency": "USD",
            "seller": {"name": "Globex Corporation", "tax_id": "US-98-7654321"},
            "lines": [
                {
                    "line_id": "1",
                    "description": "Consulting",
                    "quantity": "8",
                    "unit_price": "150.00",
                    "net_amount": "1200.00",
                },
            ],
        }
        for n in (1, 2)
    ]
    # A payable amount that the lines do not add up to: created, and flagged for review.
    invoices[1]["totals"] = {"payable": "1250.00"}
    return json.dumps({"invoices": invoices}).encode()


def files() -> list[tuple[str, bytes]]:
    out = [(Path(name).name, (SAMPLES / name).read_bytes()) for name in BUNDLED]
    out += [("acme-export.csv", generated_csv()), ("globex.json", generated_json())]
    out.append(("scanned-by-mistake.pdf", b"%PDF-1.7\n\x00\x01 not an invoice format"))
    return out


def main(url: str | None = None) -> None:
    # Narrow enough for any terminal, and for the width of a pipe.
    console = Console(width=min(Console().width, WIDTH))
    url = database_url(url)
    db = open_database(url)
    _, key = keys.replace(db, TENANT)  # a run replaces the key of the run before
    # The server's log beside the database's files (a SQLite file's), else in this folder.
    files = db.files_beside() or Path("invoiceflow-files")
    db.close()
    log = files.with_name(files.name.removesuffix("-files") + ".serve.log")
    command = [sys.executable, "-m", "invoiceflow", "serve", "--port", "0", "--json-logs"]
    with log.open("wb") as sink:
        server = subprocess.Popen([*command, "--database-url", url], stderr=sink)
    try:
        base = _address(server, log)
        headers = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=base, headers=headers, timeout=30) as api:
            found, event = _run(console, api, base)
            shown = next(c for c in found if c["name"] == SHOWN)
            path = _path(api, shown["execution_arn"])
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    console.print(_table(found))
    for c in found:
        if c["reason"]:
            console.print(f"{c['name']}: {c['reason']}", highlight=False, markup=False)
    if any(c["needs_review"] for c in found):
        console.print(
            "review: invoices with error-level problems (amounts that do not add up...):\n"
            f"  invoiceflow invoices list --tenant {TENANT} --problems",
            highlight=False,
            markup=False,
        )
    console.print(f"Invoice event {event['message_id']}: {event['state']}.")
    console.print(f"\n{SHOWN} went through the workflow as the execution")
    console.print(shown["execution_arn"], soft_wrap=True, highlight=False)
    console.print("by the states " + " → ".join(path) + ".", highlight=False)
    console.print(
        "\nLook next (your key for tenant demo replaces any earlier demo key):\n"
        f"  export INVOICEFLOW_KEY={key}\n"
        "  invoiceflow sfn history ARN   # with the execution's ARN above\n"
        f"  invoiceflow invoices list --tenant {TENANT}\n"
        "  invoiceflow serve   # then open http://127.0.0.1:8000/docs, or:\n"
        '  curl -H "Authorization: Bearer $INVOICEFLOW_KEY" \\\n'
        "       http://127.0.0.1:8000/v1/invoices\n"
        f"Server log: {log.relative_to(Path.cwd()) if log.is_relative_to(Path.cwd()) else log}",
        soft_wrap=True,
        highlight=False,
        markup=False,
    )


def _path(api: httpx.Client, arn: str) -> list[str]:
    """The states an execution entered, in order, a state entered several times in a row
    (a Map's iterations) once with its count."""
    page = api.get(f"/v1/executions/{arn}/history", params={"limit": 1000}).json()
    names = [
        e["stateEnteredEventDetails"]["name"]
        for e in page["events"]
        if "stateEnteredEventDetails" in e
    ]
    return [
        f"{name} x{n}" if (n := len(list(run))) > 1 else name
        for name, run in itertools.groupby(names)
    ]


def _address(server: subprocess.Popen[bytes], log: Path) -> str:
    """The server's URL, from its first log line."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"invoiceflow serve exited; see {log}")
        first = log.read_text().split("\n", 1)[0]
        if first.endswith("}"):
            return str(json.loads(first)["url"])
        time.sleep(0.05)
    raise RuntimeError(f"invoiceflow serve did not start; see {log}")


def _run(console: Console, api: httpx.Client, base: str) -> tuple[list[dict[str, Any]], Any]:
    bundle = files()
    console.print(f"[bold]invoiceflow demo[/bold]: {len(bundle)} files to {base}")
    ids = []
    for name, data in bundle:
        # The same file under the same key is the same container: a second demo run
        # finds the first run's containers instead of adding copies.
        once = {"Idempotency-Key": f"demo-{name}-{hashlib.sha256(data).hexdigest()[:16]}"}
        response = api.post("/v1/containers", files={"file": (name, data)}, headers=once)
        response.raise_for_status()
        ids.append(response.json()["id"])
    accepted = api.post(
        "/v1/invoice-events",
        content=generated_event(),
        headers={"Content-Type": "application/json", "Idempotency-Key": "demo-event"},
    )
    accepted.raise_for_status()
    where = f"/v1/invoice-events/{accepted.json()['message_id']}"
    deadline = time.monotonic() + TIMEOUT
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=console
    ) as progress:
        task = progress.add_task("containers finished", total=len(ids))
        while True:
            found = [api.get(f"/v1/containers/{i}").json() for i in ids]
            event = api.get(where).json()
            finished = sum(c["state"] in TERMINAL for c in found)
            progress.update(task, completed=finished)
            settled = finished == len(ids) and event["state"] in TERMINAL
            if settled or time.monotonic() > deadline:
                return found, event
            time.sleep(0.1)


def generated_event() -> bytes:
    """One invoice in invoiceflow's JSON form, as a supplier's system would send it."""
    return json.dumps(
        {
            "invoice_number": "INITECH-77",
            "issue_date": "2026-11-21",
            "currency": "EUR",
            "seller": {"name": "Initech GmbH", "tax_id": "DE123456789"},
            "lines": [
                {
                    "line_id": "1",
                    "description": "Printer repair",
                    "quantity": "1",
                    "unit_price": "240.00",
                    "net_amount": "240.00",
                }
            ],
        }
    ).encode()


def _table(found: list[dict[str, Any]]) -> Table:
    table = Table(title="containers")
    for column in ("file", "state", "invoices", "review"):
        table.add_column(column)
    for c in found:
        colour = "green" if c["state"] == "Done" else "red"
        review = f"[yellow]{c['review_count']}[/yellow]" if c["needs_review"] else ""
        table.add_row(c["name"], f"[{colour}]{c['state']}[/{colour}]", str(c["invoices"]), review)
    return table
