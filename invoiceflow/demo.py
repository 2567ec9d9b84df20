"""``invoiceflow demo``: the main job on bundled sample files, end to end.

Starts two worker processes, submits the published X12, EDIFACT, UBL and CII samples, a
generated CSV export and JSON file, and one broken file; shows progress while the workflows
run; then prints every container with its state and invoice count, and where to look next.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from invoiceflow.engine import Engine
from invoiceflow.functions import default_registry
from invoiceflow.pipeline import open_pipeline
from invoiceflow.pipeline.containers import Container
from invoiceflow.pipeline.submit import receive, wait
from invoiceflow.samples import SAMPLES
from invoiceflow.store import database_url, open_database

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
    return json.dumps({"invoices": invoices}).encode()


def files() -> list[tuple[str, bytes]]:
    out = [(Path(name).name, (SAMPLES / name).read_bytes()) for name in BUNDLED]
    out += [("acme-export.csv", generated_csv()), ("globex.json", generated_json())]
    out.append(("scanned-by-mistake.pdf", b"%PDF-1.7\n\x00\x01 not an invoice format"))
    return out


def main(url: str | None = None) -> None:
    console = Console()
    url = database_url(url)
    registry = default_registry()
    engine = Engine.open(open_database(url), invoker=registry)
    pipeline = open_pipeline(engine, registry)
    command = [sys.executable, "-m", "invoiceflow", "worker", "--database-url", url]
    workers = [subprocess.Popen(command) for _ in range(2)]
    try:
        bundle = files()
        console.print(f"[bold]invoiceflow demo[/bold] on {url}: 2 workers, {len(bundle)} files")
        ids = [receive(pipeline, name, data, source="demo").id for name, data in bundle]
        with Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=console
        ) as progress:
            task = progress.add_task("containers finished", total=len(ids))
            done = wait(
                pipeline,
                registry,
                ids,
                timeout=60,
                progress=lambda finished: progress.update(task, completed=finished),
            )
    finally:
        for w in workers:
            w.send_signal(signal.SIGTERM)
        for w in workers:
            w.wait(timeout=30)
    console.print(_table(done))
    console.print(
        "Look next: [bold]invoiceflow invoices list[/bold], [bold]invoiceflow containers "
        "show ID[/bold], [bold]invoiceflow sfn history EXECUTION_ARN[/bold]; parse a file "
        "yourself with [bold]invoiceflow parse FILE[/bold], or submit your own with "
        "[bold]invoiceflow submit FILE --wait[/bold]."
    )


def _table(found: list[Container]) -> Table:
    table = Table(title="containers")
    for column in ("file", "state", "invoices", "reason"):
        table.add_column(column)
    for c in found:
        colour = "green" if c.state == "Done" else "red"
        table.add_row(
            c.name, f"[{colour}]{c.state}[/{colour}]", str(c.created_count), c.reason or ""
        )
    return table
