"""Pipeline workers killed with SIGKILL at random moments: every container ends Done and the
invoice table holds exactly the parsed invoices, each once. On a SQLite file one worker runs
at a time; on PostgreSQL four share the database, as on four machines."""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path

import pytest

from invoiceflow.engine import Engine
from invoiceflow.functions import Registry
from invoiceflow.pipeline import Settings, containers, open_pipeline
from invoiceflow.pipeline.submit import receive
from invoiceflow.store import open_database
from tests.crash_workers import Workers, seeded
from tests.postgres_server import POSTGRESQL, SQLITE, Backend
from tests.postgres_server import backend as backend  # the fixture: SQLite, then PostgreSQL

# Per backend: files, worker processes at a time, kills.
SIZES = {SQLITE: (500, 1, 10), POSTGRESQL: (30, 4, 4)}


def csv_file(n: int, invoices: int) -> bytes:
    rows = ["invoice_number,invoice_date,currency,supplier,description,qty,unit_price"]
    rows += [f"F{n}-{i},2026-11-01,EUR,Supplier {n},Item,1,{i + 1}.00" for i in range(invoices)]
    return ("\n".join(rows) + "\n").encode()


def test_sigkilled_pipeline_workers_create_each_invoice_once(
    backend: Backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files, processes, kills = SIZES[backend.kind]
    # Received files go where every process finds them (beside a SQLite file by default;
    # a PostgreSQL database has no beside).
    monkeypatch.setenv("INVOICEFLOW_FILES", str(tmp_path / "files"))
    db = open_database(backend.url)
    registry = Registry()
    engine = Engine.open(db, invoker=registry)
    settings = Settings(visibility_timeout=2, max_receives=20)
    pipeline = open_pipeline(engine, registry, settings=settings)
    seed, rng = seeded()
    counts = [rng.randint(1, 50) for _ in range(files)]
    ids = [receive(pipeline, f"f{n}.csv", csv_file(n, count)).id for n, count in enumerate(counts)]

    def created() -> int:
        with db.transaction(write=False) as tx:
            return int(tx.fetch_raw("SELECT COUNT(*) FROM invoices")[0][0])

    def ended() -> bool:
        with db.transaction(write=False) as tx:
            states = {c.state for c in (containers.get(tx, i) for i in ids) if c}
        return states <= {"Done", "Error"}

    def moved_on(seen: int) -> bool:
        """Whether an invoice was created since ``seen`` were, or all are."""
        return created() > seen or created() == sum(counts)

    with Workers(backend.url, processes) as workers:
        for _ in range(kills):
            workers.until(partial(moved_on, created()), 60, "no invoice created")
            if created() == sum(counts):
                break  # all created already: nothing left to interrupt
            time.sleep(rng.uniform(0.0, 0.5))
            workers.kill(rng, rename=False)
        workers.until(ended, 240, "containers still open")

    with db.transaction(write=False) as tx:
        found = [containers.get(tx, i) for i in ids]
        rows = tx.fetch_raw("SELECT container_id, number FROM invoices")
    assert [c.state for c in found if c] == ["Done"] * files, seed
    assert [(c.parsed_count, c.created_count) for c in found if c] == [(n, n) for n in counts]
    numbers = sorted((container, str(number)) for container, number in rows)
    assert numbers == sorted(
        (i, f"F{n}-{k}")
        for n, (i, count) in enumerate(zip(ids, counts, strict=True))
        for k in range(count)
    ), seed
    print(f"{workers.kills} kills; {files} files, {sum(counts)} invoices, each once")
    db.close()
