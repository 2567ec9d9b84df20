"""Containers whose invoices have error-level problems are flagged for review; invoices with
problems of any severity are found by a filter; a post-creation action that fails shows on
its container while it is tried again."""

from __future__ import annotations

import http.server
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog

from invoiceflow.pipeline import actions, containers
from invoiceflow.pipeline.submit import receive, wait
from invoiceflow.store.sqlite import SQLiteDatabase
from tests.pipeline.test_pipeline import World

# Two invoices: the first states no issue date (an error), both state no total (a warning).
MIXED = (
    b"invoice_number,invoice_date,currency,supplier,description,qty,unit_price\n"
    b"R-1,,EUR,Review Co,Item,1,5.00\n"
    b"R-2,2026-11-02,EUR,Review Co,Item,1,7.00\n"
)
CLEAN = (
    b"invoice_number,invoice_date,currency,supplier,description,qty,unit_price,amount,total\n"
    b"C-1,2026-11-03,EUR,Clean Co,Item,1,5.00,5.00,5.00\n"
)


@pytest.fixture
def w(tmp_path: Path) -> Iterator[World]:
    world = World(tmp_path)
    yield world
    world.db.close()


def test_a_container_with_error_level_problems_is_done_and_needs_review(w: World) -> None:
    mixed, clean = w.submit(("mixed.csv", MIXED), ("clean.csv", CLEAN))
    assert (mixed.state, mixed.created_count, mixed.review_count) == ("Done", 2, 1)
    assert mixed.needs_review and mixed.describe()["needs_review"] is True
    assert (clean.state, clean.review_count, clean.needs_review) == ("Done", 0, False)
    flagged = containers.listing(w.db, "default", needs_review=True)
    assert [c.id for c in flagged] == [mixed.id]
    unflagged = containers.listing(w.db, "default", needs_review=False)
    assert [c.id for c in unflagged] == [clean.id]
    assert containers.listing(w.db, "default", "Error", needs_review=True) == []


def test_invoices_with_problems_of_any_severity_are_found(w: World) -> None:
    w.submit(("mixed.csv", MIXED), ("clean.csv", CLEAN))
    with w.db.transaction(write=False) as tx:
        found = tx.fetch("list_invoices_with_problems", ("default", None, None, 100))
        counted = tx.fetch_raw("SELECT number, problems, errors FROM invoices ORDER BY number")
    assert sorted(row[4] for row in found) == ["R-1", "R-2"]  # the warning counts too
    assert counted == [("C-1", 0, 0), ("R-1", 2, 1), ("R-2", 1, 0)]


def test_the_migration_counts_the_problems_of_invoices_made_before_it(tmp_path: Path) -> None:
    db = SQLiteDatabase(str(tmp_path / "old.db"))
    db.migrate(until=9)
    problems = '[{"code":"x","message":"m","severity":"error","location":null},' + (
        '{"code":"y","message":"m","severity":"warning","location":null}]'
    )
    with db.transaction() as tx:
        tx.execute_raw(
            "INSERT INTO containers (id, tenant, source, name, sha256, size, blob, state, "
            "created_count, created, updated) VALUES ('c', 't', 'api', 'f', 's', 1, 'b', "
            "'Done', 1, 1, 1)"
        )
        tx.execute_raw(
            "INSERT INTO invoices (id, tenant, container_id, position, number, invoice, "
            "created) VALUES ('i', 't', 'c', 0, 'N', ?, 1)",
            ('{"problems": ' + problems + "}",),
        )
    db.migrate()
    with db.transaction(write=False) as tx:
        assert tx.fetch_raw("SELECT problems, errors FROM invoices") == [(2, 1)]
        found = containers.get(tx, "c")
    assert found is not None and (found.review_count, found.needs_review) == (1, True)
    db.close()


class FailsTwice:
    """A webhook receiver on 127.0.0.1 that answers 503 twice, then takes the invoice;
    when the third request comes it notes what the container showed meanwhile."""

    def __init__(self, db: SQLiteDatabase) -> None:
        self.requests = 0
        self.seen: list[containers.Container | None] = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests += 1
                if receiver.requests == 3:
                    with db.transaction(write=False) as tx:
                        receiver.seen.append(containers.get(tx, receiver.container))
                self.send_response(503 if receiver.requests <= 2 else 204)
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self.container = ""
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_failing_webhook_shows_on_its_container_while_it_retries(tmp_path: Path) -> None:
    w = World(tmp_path, max_receives=5)
    receiver = FailsTwice(w.db)
    try:
        actions.save_settings(
            w.db, "default", actions.Settings(webhook=actions.Webhook(receiver.url, "k"))
        )
        container = receive(w.pipeline, "clean.csv", CLEAN)
        receiver.container = container.id
        with structlog.testing.capture_logs() as logs:
            [done] = wait(w.pipeline, w.registry, [container.id], timeout=60)
    finally:
        receiver.close()
        w.db.close()
    [meanwhile] = receiver.seen
    assert meanwhile is not None and meanwhile.state == "Processing"
    assert meanwhile.attempts == 2
    assert meanwhile.last_error == f"webhook: {receiver.url} answered 503"
    assert meanwhile.last_error_at is not None
    # Done in the end: the trouble is over and no longer shown (the log keeps it).
    assert (done.state, done.last_error, done.attempts) == ("Done", None, 0)
    failed = [e for e in logs if e["event"] == "post-creation action failed"]
    assert [(e["container"], e["attempt"], e["action"]) for e in failed] == [
        (container.id, 1, "webhook"),
        (container.id, 2, "webhook"),
    ]
    assert all("answered 503" in e["error"] and e["log_level"] == "warning" for e in failed)
    [through] = [e for e in logs if e["event"] == "post-creation actions went through"]
    assert through["attempt"] == 3 and through["container"] == container.id


def test_an_export_that_cannot_write_names_its_folder(w: World, tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the export folder should be")
    actions.save_settings(
        w.db, "default", actions.Settings(export=actions.Export(str(blocked), "json"))
    )
    [container] = w.submit(("clean.csv", CLEAN))
    assert container.state == "Error"
    assert container.last_error is not None and container.last_error.startswith("export: ")
    assert str(blocked) in container.last_error and container.attempts == 2
    assert f"Last error (attempt 2): export: {blocked}" in (container.reason or "")


@pytest.mark.sqlite_only("it reads SQLite's query plans")
def test_listings_walk_their_indexes_instead_of_sorting_every_row(w: World) -> None:
    """Newest first from a cursor, with or without the review filter: the plan reads the
    listing index from the cursor on, never sorting a tenant's every container."""
    queries = {
        "page_own_containers": "containers_listing",
        "page_containers_needing_review": "containers_needing_review",
        "list_invoices_with_problems": "invoices_with_problems",
        "page_invoices_with_problems": "invoices_with_problems",
    }
    for query, index in queries.items():
        text = w.db.sql(query)
        names = re.findall(r"(?<!:):([A-Za-z_]\w*)", text)
        nulls = dict.fromkeys(names) if names else [None] * text.count("?")
        with w.db.transaction(write=False) as tx:
            plan = " / ".join(
                str(row[-1]) for row in tx.fetch_raw(f"EXPLAIN QUERY PLAN {text}", nulls)
            )
        assert f"USING INDEX {index}" in plan, (query, plan)
        assert "TEMP B-TREE FOR ORDER BY" not in plan, (query, plan)  # only its right part
