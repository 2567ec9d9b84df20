"""A file with more invoices than one execution's history can hold is processed in batches,
each a child execution; the container counts every invoice once."""

from __future__ import annotations

from pathlib import Path

from invoiceflow.engine import Engine, arns
from invoiceflow.functions import Registry
from invoiceflow.limits import MAX_HISTORY_EVENTS
from invoiceflow.pipeline import BATCH_STATE_MACHINE, Settings, open_pipeline
from invoiceflow.pipeline.submit import receive, wait
from invoiceflow.store.sqlite import SQLiteDatabase

HEADER = "invoice_number,invoice_date,currency,supplier,customer,line,description,qty,unit_price"


def csv_file(invoices: int) -> bytes:
    rows = [HEADER]
    rows += [f"B-{i},2024-03-01,EUR,Seller,Buyer,1,Item,2,1.50" for i in range(invoices)]
    return ("\n".join(rows) + "\n").encode()


def history_length(engine: Engine, arn: str) -> int:
    events = engine.client.get_execution_history(executionArn=arn, reverseOrder=True)["events"]
    return int(events[0]["id"])


def test_a_large_file_goes_through_child_executions_and_every_invoice_is_created_once(
    tmp_path: Path,
) -> None:
    db = SQLiteDatabase(str(tmp_path / "batches.db"), synchronous="OFF")
    db.migrate()
    try:
        registry = Registry()
        engine = Engine.open(db, invoker=registry)
        settings = Settings(visibility_timeout=1, invoices_per_execution=40)
        pipeline = open_pipeline(engine, registry, settings=settings)
        received = receive(pipeline, "many.csv", csv_file(130))
        [done] = wait(pipeline, registry, [received.id], timeout=120)
        assert (done.state, done.parsed_count, done.created_count) == ("Done", 130, 130)
        children = engine.client.list_executions(
            stateMachineArn=arns.state_machine_arn(BATCH_STATE_MACHINE)
        )["executions"]
        assert sorted(c["status"] for c in children) == ["SUCCEEDED"] * 4  # 40+40+40+10
        # The parent holds a few events per batch, not per invoice.
        assert done.execution_arn
        assert history_length(engine, done.execution_arn) < 60
        longest = max(history_length(engine, c["executionArn"]) for c in children)
        assert longest < 40 * 15
    finally:
        db.close()


def test_the_default_batch_keeps_every_execution_under_the_history_quota() -> None:
    # 14 events per invoice (two callback tasks in a Map iteration), and room to spare.
    assert Settings().invoices_per_execution * 15 < MAX_HISTORY_EVENTS
