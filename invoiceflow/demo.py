"""``invoiceflow demo``: a durable invoice workflow on the embedded store, end to end.

Until the full pipeline lands, the demo runs an ASL workflow whose handlers split a batch of
sample invoices, create each one (Map) and total them, with a worker advancing the executions.
"""

from __future__ import annotations

import json
import time
from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.table import Table

from invoiceflow.engine import Engine
from invoiceflow.engine.worker import Worker
from invoiceflow.functions import Registry
from invoiceflow.store import open_database

DEFINITION = {
    "Comment": "Split a batch, create every invoice, total the batch.",
    "StartAt": "ParseFile",
    "States": {
        "ParseFile": {
            "Type": "Task",
            "Resource": "parse-file",
            "ResultPath": "$.invoices",
            "Next": "CreateInvoices",
        },
        "CreateInvoices": {
            "Type": "Map",
            "ItemsPath": "$.invoices",
            "MaxConcurrency": 4,
            "ItemProcessor": {
                "StartAt": "Create",
                "States": {
                    "Create": {
                        "Type": "Task",
                        "Resource": "create-invoice",
                        "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 2}],
                        "End": True,
                    }
                },
            },
            "ResultPath": "$.created",
            "Next": "Verify",
        },
        "Verify": {
            "Type": "Pass",
            "Parameters": {
                "file.$": "$.file",
                "count.$": "States.ArrayLength($.created)",
                "total.$": "States.JsonToString($.created[*].total)",
            },
            "End": True,
        },
    },
}
BATCHES = {
    "acme-2026-11.csv": [("INV-1001", "120.00"), ("INV-1002", "80.50"), ("INV-1003", "15.25")],
    "globex-810.x12": [("G-77", "1999.99")],
    "initech.json": [("IT-1", "42.00"), ("IT-2", "58.00")],
}


def _registry() -> Registry:
    registry = Registry()
    registry.register(
        "parse-file",
        lambda event, _c: [{"number": n, "total": t} for n, t in BATCHES[event["file"]]],
    )
    registry.register("create-invoice", lambda event, _c: {**event, "created": True})
    return registry


def main(database_url: str | None = None) -> None:
    console = Console()
    engine = Engine.open(open_database(database_url), invoker=_registry())
    client = engine.client
    sm = client.create_state_machine(name="invoice-demo", definition=json.dumps(DEFINITION))
    started = {}
    for name in BATCHES:
        out = client.start_execution(
            stateMachineArn=sm["stateMachineArn"], input=json.dumps({"file": name})
        )
        started[name] = out["executionArn"]
    worker = Worker(engine.runtime)
    with console.status("Running workflows..."):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            worker.run_once()
            states = [client.describe_execution(executionArn=a) for a in started.values()]
            if all(s["status"] != "RUNNING" for s in states):
                break
    table = Table(title="invoiceflow demo: one durable execution per file")
    for column in ("file", "status", "invoices", "total", "history events"):
        table.add_column(column)
    for name, arn in started.items():
        described = client.describe_execution(executionArn=arn)
        output: dict[str, Any] = json.loads(described.get("output") or "{}")
        totals = json.loads(output.get("total", "[]"))
        events = client.get_execution_history(executionArn=arn)["events"]
        table.add_row(
            name,
            described["status"],
            str(output.get("count", "-")),
            str(sum((Decimal(t) for t in totals), Decimal(0))),
            str(len(events)),
        )
    console.print(table)
    console.print(
        "Look next: [bold]invoiceflow sfn history <executionArn>[/bold], or run "
        "your own definition with [bold]invoiceflow sfn run FILE --input JSON[/bold]."
    )
