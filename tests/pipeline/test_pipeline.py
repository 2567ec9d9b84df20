"""The pipeline end to end through the real workflow, queues and handlers."""

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from invoiceflow.cli import app
from invoiceflow.engine import Engine
from invoiceflow.engine.worker import Worker
from invoiceflow.functions import Registry
from invoiceflow.pipeline import Pipeline, Settings, containers, open_pipeline
from invoiceflow.pipeline.submit import receive, start, wait
from invoiceflow.samples import SAMPLES
from invoiceflow.store.sqlite import SQLiteDatabase


class World:
    def __init__(self, tmp: Path, max_receives: int = 2) -> None:
        self.db = SQLiteDatabase(str(tmp / "pipeline.db"))
        self.db.migrate()
        self.registry = Registry()
        self.engine = Engine.open(self.db, invoker=self.registry)
        settings = Settings(visibility_timeout=1, max_receives=max_receives)
        self.pipeline: Pipeline = open_pipeline(self.engine, self.registry, settings=settings)

    def submit(self, *files: tuple[str, bytes]) -> list[Any]:
        ids = [receive(self.pipeline, name, data).id for name, data in files]
        return wait(self.pipeline, self.registry, ids, timeout=60)

    def invoices(self, container_id: str) -> list[tuple[Any, ...]]:
        with self.db.transaction(write=False) as tx:
            return tx.fetch("list_invoices", ("default", container_id, container_id, 1000))


@pytest.fixture
def w(tmp_path: Path) -> Iterator[World]:
    world = World(tmp_path)
    yield world
    world.db.close()


def sample(name: str) -> tuple[str, bytes]:
    return name, (SAMPLES / name).read_bytes()


def test_files_reach_done_with_exactly_their_invoices(w: World) -> None:
    x12, ubl, edi = w.submit(
        sample("x12/oopfactory-Example3_MultiInvoice.x12"),
        sample("ubl/en16931-ubl-tc434-example2.xml"),
        sample("edifact/pydifact-invoice1.edi"),
    )
    assert [(c.state, c.parsed_count, c.created_count) for c in (x12, ubl, edi)] == [
        ("Done", 2, 2),
        ("Done", 1, 1),
        ("Done", 1, 1),
    ]
    numbers = sorted(row[4] for row in w.invoices(x12.id))
    assert numbers == ["465266", "465267"]
    # The container is Done when Verify answers; its execution finishes a round later.
    worker = Worker(w.engine.runtime)
    deadline = time.monotonic() + 10
    while (
        status := w.engine.client.describe_execution(executionArn=x12.execution_arn)["status"]
    ) == "RUNNING" and time.monotonic() < deadline:
        worker.run_once()
    assert status == "SUCCEEDED"


def test_a_malformed_file_ends_in_error_with_a_readable_reason(w: World) -> None:
    [broken] = w.submit(("broken.x12", b"ISA*00*cut short"))
    assert broken.state == "Error"
    assert broken.reason and "ISA segment is cut short" in broken.reason
    assert w.invoices(broken.id) == []
    [empty] = w.submit(("empty.csv", b"invoice_number,qty,price\n"))
    assert (empty.state, empty.reason) == ("Error", "The file holds no invoices.")


def test_a_step_that_keeps_failing_sends_the_container_to_error_and_a_rerun_finishes_it(
    w: World,
) -> None:
    healthy = w.registry.handlers["invoiceflow-post-creation"]
    broken = {"on": True}

    def flaky(event: Any, context: Any) -> Any:
        if broken["on"]:
            raise ConnectionError("the accounting system is down")
        return healthy(event, context)

    w.registry.register("invoiceflow-post-creation", flaky)
    [container] = w.submit(sample("x12/bots-810-004010-01.x12"))
    assert container.state == "Error"
    assert "post-creation step failed every time" in (container.reason or "")
    assert container.created_count == 2  # the invoices exist; their follow-up did not run
    broken["on"] = False
    start(w.pipeline, container.id)
    [again] = wait(w.pipeline, w.registry, [container.id], timeout=60)
    assert (again.state, again.created_count) == ("Done", 2)
    assert len(w.invoices(container.id)) == 2  # nothing created twice


def test_creating_an_invoice_twice_creates_it_once(w: World) -> None:
    [container] = w.submit(sample("ubl/en16931-ubl-tc434-example1.xml"))
    handlers = w.pipeline.handlers
    body = {"container": container.id, "position": 0}
    with w.db.transaction() as tx:
        first = handlers.create_invoice(tx, body)
    with w.db.transaction() as tx:
        second = handlers.create_invoice(tx, body)
    assert first == second
    assert len(w.invoices(container.id)) == 1


def test_a_containers_invoice_count_grows_while_its_invoices_are_created(w: World) -> None:
    """Driven step by step through the pipeline's own handlers, as its workflow runs them."""
    container = receive(w.pipeline, *sample("x12/oopfactory-Example3_MultiInvoice.x12"))
    handlers, body = w.pipeline.handlers, {"container": container.id}
    with w.db.transaction() as tx:
        handlers.set_file_processing(tx, body)
    assert handlers.parse_file(body, None)["count"] == 2
    seen = []
    for position in (0, 1):
        with w.db.transaction() as tx:
            handlers.create_invoice(tx, {**body, "position": position})
        with w.db.transaction(write=False) as tx:
            now = containers.get(tx, container.id)
        assert now is not None and now.state == "Processing"
        seen.append(now.created_count)
        listed = containers.listing(w.db, "default", "Processing")
        assert [(c.id, c.created_count) for c in listed] == [(container.id, seen[-1])]
    assert seen == [1, 2]


def test_cli_submit_wait_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    broken = tmp_path / "broken.xml"
    broken.write_bytes(b"<Invoice>")
    runner = CliRunner()
    result = runner.invoke(
        app,
        ["submit", "--wait", "--json", str(SAMPLES / "cii/en16931-CII_example2.xml"), str(broken)],
    )
    assert result.exit_code == 1  # one file ended in Error
    ended = {json.loads(line)["name"]: json.loads(line) for line in result.stdout.splitlines()}
    good, bad = ended["en16931-CII_example2.xml"], ended["broken.xml"]
    assert (good["state"], good["invoices"]) == ("Done", 1)
    assert bad["state"] == "Error" and "well-formed" in bad["reason"]
    assert good["execution_arn"].startswith("arn:aws:states:")
    listed = runner.invoke(app, ["invoices", "list", "--json"])
    [invoice] = [json.loads(line) for line in listed.stdout.splitlines()]
    assert invoice["invoice_number"] == "TOSL108" and invoice["container"] == good["id"]
    shown = runner.invoke(app, ["containers", "show", bad["id"]])
    assert json.loads(shown.stdout)["state"] == "Error"


def test_users_own_handlers_and_queues_keep_their_names(tmp_path: Path) -> None:
    registry = Registry()

    def mine(event: Any, _context: Any) -> str:
        return "mine"

    for name in ("parse-file", "create-invoice", "dead-letter"):
        registry.register(name, mine)
    db = SQLiteDatabase(str(tmp_path / "shared.db"))
    db.migrate()
    engine = Engine.open(db, invoker=registry)
    open_pipeline(engine, registry)
    assert all(
        registry.handlers[n] is mine for n in ("parse-file", "create-invoice", "dead-letter")
    )
    assert "create-invoice" not in engine.runtime.queues.queue_names()
    db.close()
