"""Scaling from 1 to N worker processes, on SQLite and on PostgreSQL, in one run.

Why one run: these machines are shared and their speed moves from minute to minute, so the
figures that mean something are ratios of runs made side by side (PostgreSQL against SQLite
with the same number of workers, 2 workers against 1). Each measurement is made on both
backends back to back, the backend that goes first alternating, each on a fresh database
(a new SQLite file; a new PostgreSQL database, created and dropped by this script).

Every worker is a full ``invoiceflow worker`` process (executions, timers, handler tasks,
queue-fed handlers), started with ``--handlers bench.scale`` so that it runs this module's
trivial handlers; the clock starts once every worker has said it is ready.

- workflows: executions of a three-Task machine whose handler returns at once, all created
  in one transaction while the workers wait, then timed until every one has succeeded;
- pipeline: files of 100 CSV invoices submitted (``pipeline.submit.receive``, as the API
  does) while the workers run; invoices per second from first submit to last Done;
- queue: one producer in this process sends batches of 10 to a standard queue while the
  consumers, the worker processes themselves, receive batches of 10 through an event
  source mapping, call a handler that does nothing and delete them; messages per second
  from the first send until the queue is empty (send, receive and delete all timed);
- idle: one worker with nothing to do, after it has settled, for a window of ~10 s.
  PostgreSQL: the server's own counter, ``xact_commit + xact_rollback`` of the bench
  database in ``pg_stat_database``, read before and after the window. The reads come from
  a connection to another database (``postgres``), so none of them is counted and there is
  nothing of ours to subtract; the server publishes a backend's counts at most once a
  second, so both ends of the window lag alike and a 10 s window is off by well under a
  transaction per second. SQLite has no server to count: the worker counts itself. When
  ``INVOICEFLOW_SCALE_COUNTS`` names a file, importing this module (which the worker does,
  before it opens the database) wraps ``sqlite3.connect`` so that every connection the
  worker opens reports each statement it runs (``set_trace_callback``) and counts those that
  begin a transaction (``BEGIN``, ``BEGIN IMMEDIATE``): what SQLite really ran, commits that
  group several logical transactions counted once. It also wraps each backend's
  ``Database.transaction`` to count the transactions the code asked for, and counts apart
  the ``PRAGMA data_version`` looks of the SQLite watcher thread (reads of the shared WAL
  index outside any transaction: no lock, no write, but wake-ups all the same). A thread
  writes the counts to that file four times a second; the window is measured between two
  of its snapshots. The same wrapper runs in the PostgreSQL idle worker, as a check on the
  server's count;
- floor: the queue loop (send-batch -> receive-batch -> delete-batch of 10 by one client)
  as a share of a bare loop of the same SQL statements (our schema, our named queries;
  sends durable, receives and deletes not, as ours are), the two taking turns in chunks.
  SQLite's bare loop is plain ``sqlite3`` as bench/queues.py runs it; PostgreSQL's is
  plain ``psycopg`` (one connection, autocommit, the same BEGIN texts as our backend, each
  query translated to psycopg's placeholders by our own ``translate``).

The targets the figures are held against are in the JSON (``targets``), with their ratios.
A worker that dies, does not get ready, or does not stop when told is reported in
``problems`` with the tail of its log, and that measurement is left out rather than the run
stopped; errors a worker logged and recovered from (a failed pass) are reported there too,
counted by kind, beside a measurement that still counts. For PostgreSQL the server's
``deadlocks`` counter of each measurement's database is reported (``postgres_deadlocks``):
each one costs the waiting transactions ``deadlock_timeout`` (1 s by default), and the work
of the one aborted is redone later; a pipeline record's, not before its message's visibility
timeout (30 s), which a run of a few hundred invoices then mostly waits for.

A full run takes about 5 minutes here, most of it workers starting (longer when the
machine is busy); ``--quick`` (1 and 2 workers, small sizes) checks that it all works.
Prints progress lines, then one JSON object as the last line.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from invoiceflow.functions import handler

ROOT = Path(__file__).resolve().parent.parent
COUNTS_ENV = "INVOICEFLOW_SCALE_COUNTS"
PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
BACKENDS = ("sqlite", "postgres")
READY_WITHIN = 60.0  # seconds a worker may take to import and open the database
STOP_WITHIN = 30.0  # seconds a worker may take to stop after SIGTERM
XACTS = "xact_commit + xact_rollback"
FLOOR_CHUNKS = 8  # turns each one-client queue loop takes, alternating with the other
TARGET_PG_PIPELINE_SHARE = 0.6
TARGET_TWO_OVER_ONE = 1.3
TARGET_IDLE_PER_S = 5.0


@handler("scale_step")
def step(event: Any, _context: Any) -> Any:
    """The three-Task machine's handler: returns at once, so the engine is what is timed."""
    return event


@handler("scale_sink")
def sink(event: Any, _context: Any) -> None:
    """Accepts a batch of queue records and does nothing with them."""


# -- counting transactions inside a worker process -------------------------------------------


def _install_counters(out: Path) -> None:
    """Count, in this process, the transactions SQLite runs and those the code asks for of
    any backend; write them to ``out`` four times a second (see the module's docstring)."""
    from invoiceflow.store.postgres import PostgresDatabase
    from invoiceflow.store.sqlite import SQLiteDatabase

    counts = {"begins": 0, "statements": 0, "data_version": 0, "asked": 0}
    lock = threading.Lock()

    def trace(statement: str) -> None:
        head = statement.lstrip()[:24].upper()
        with lock:
            counts["statements"] += 1
            if head.startswith("BEGIN"):
                counts["begins"] += 1
            elif head.startswith("PRAGMA DATA_VERSION"):
                counts["data_version"] += 1

    real_connect = sqlite3.connect

    def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        conn: sqlite3.Connection = real_connect(*args, **kwargs)
        conn.set_trace_callback(trace)
        return conn

    sqlite3.connect = connect  # type: ignore[assignment]

    def counted(cls: type[Any]) -> None:
        real = cls.transaction

        def transaction(self: Any, *args: Any, **kwargs: Any) -> Any:
            with lock:
                counts["asked"] += 1
            return real(self, *args, **kwargs)

        cls.transaction = transaction

    counted(SQLiteDatabase)
    counted(PostgresDatabase)

    def write() -> None:
        while True:
            with lock:
                snapshot = {**counts, "t": time.time()}
            partial = out.with_suffix(".partial")
            partial.write_text(json.dumps(snapshot))
            partial.replace(out)
            time.sleep(0.25)

    threading.Thread(target=write, name="scale-counts", daemon=True).start()


if os.environ.get(COUNTS_ENV):
    _install_counters(Path(os.environ[COUNTS_ENV]))


# -- databases ---------------------------------------------------------------------------------


class Broken(Exception):
    """A measurement that could not finish: a worker died, failed or hung."""


@dataclass
class Places:
    """Fresh databases for each measurement, and the PostgreSQL ones to drop at the end."""

    tmp: Path
    made: list[str] = field(default_factory=list)

    def fresh(self, backend: str, label: str) -> str:
        if backend == "sqlite":
            return f"sqlite:///{self.tmp / label}.db"
        import psycopg
        from psycopg import sql

        name = f"invoiceflow_scale_{os.getpid()}_{len(self.made)}"
        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        self.made.append(name)
        return f"{PG_SERVER}/{name}"

    def drop(self, url: str) -> None:
        if not url.startswith("postgresql://"):
            return
        import psycopg
        from psycopg import sql

        name = url.rsplit("/", 1)[1]
        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
        if name in self.made:
            self.made.remove(name)

    def drop_all(self) -> None:
        for name in list(self.made):
            with contextlib.suppress(Exception):
                self.drop(f"{PG_SERVER}/{name}")


@contextlib.contextmanager
def fresh_database(places: Places, backend: str, label: str) -> Iterator[str]:
    url = places.fresh(backend, label)
    try:
        yield url
    finally:
        places.drop(url)


# -- worker processes -------------------------------------------------------------------------


@dataclass
class Workers:
    procs: list[subprocess.Popen[bytes]]
    logs: list[Path]
    files: list[IO[bytes]]

    def tail(self, i: int, lines: int = 15) -> str:
        text = self.logs[i].read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def check(self) -> None:
        """Raise ``Broken`` if a worker has exited while it should be running."""
        for i, p in enumerate(self.procs):
            if p.poll() is not None:
                raise Broken(
                    f"worker {i} (pid {p.pid}) exited with status {p.returncode} during "
                    f"the measurement; its log ends:\n{self.tail(i)}"
                )


def start_workers(
    url: str, count: int, tmp: Path, label: str, env: dict[str, str] | None = None
) -> Workers:
    """``count`` full worker processes, returned once each has said it is ready."""
    command = [sys.executable, "-m", "invoiceflow", "worker", "--database-url", url]
    command += ["--handlers", "bench.scale"]
    environ = {**os.environ, "INVOICEFLOW_FILES": str(tmp / f"{label}-files"), **(env or {})}
    logs = [tmp / f"{label}-worker{i}.log" for i in range(count)]
    files: list[IO[bytes]] = [log.open("wb") for log in logs]
    procs = [
        subprocess.Popen(command, cwd=ROOT, env=environ, stdout=f, stderr=subprocess.STDOUT)
        for f in files
    ]
    workers = Workers(procs, logs, files)
    deadline = time.monotonic() + READY_WITHIN
    waiting = set(range(count))
    while waiting:
        workers.check()
        waiting = {i for i in waiting if b" ready, database " not in logs[i].read_bytes()}
        if waiting and time.monotonic() > deadline:
            stop_workers(workers, [])
            raise Broken(f"workers {sorted(waiting)} not ready within {READY_WITHIN:g} s")
        time.sleep(0.05)
    return workers


def stop_workers(workers: Workers, problems: list[str]) -> None:
    """SIGTERM each worker; one that does not stop in time, or stops in failure, is a
    problem to report (and is killed)."""
    for p in workers.procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for i, p in enumerate(workers.procs):
        try:
            p.wait(timeout=STOP_WITHIN)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            problems.append(
                f"worker {i} (pid {p.pid}, {workers.logs[i].name}) did not stop within "
                f"{STOP_WITHIN:g} s of SIGTERM and was killed; its log ends:\n{workers.tail(i)}"
            )
            continue
        if p.returncode != 0:
            problems.append(
                f"worker {i} (pid {p.pid}, {workers.logs[i].name}) stopped with status "
                f"{p.returncode}; its log ends:\n{workers.tail(i)}"
            )
    for f in workers.files:
        f.close()
    for i in range(len(workers.procs)):
        errors = logged_errors(workers.logs[i])
        if errors:
            problems.append(
                f"worker {i} ({workers.logs[i].name}) logged {sum(errors.values())} error(s): "
                + "; ".join(f"{n} x {what}" for what, n in errors.items())
            )


_EXCEPTION = re.compile(r"^([A-Z]\w*(?:\.\w+)*(?:Error|Exception|Detected|Failure|Timeout)\w*): ")
_LOGGED_ERROR = re.compile(r"\[(?:error|critical)\s*\]\s+(.+?)(?:\s{2,}|$)")


def logged_errors(log: Path) -> dict[str, int]:
    """What a worker logged as errors: each logged error line and the exception that ended
    each traceback (its first line), counted. Workers recover from a failed pass, so these
    do not stop a measurement; they are reported beside it."""
    found: dict[str, int] = {}
    for line in log.read_text(errors="replace").splitlines():
        logged = _LOGGED_ERROR.search(line)
        exception = _EXCEPTION.match(line)
        what = None
        if logged:
            what = "logged: " + logged.group(1)
        elif exception:
            what = line.strip()[:160]
        if what:
            found[what] = found.get(what, 0) + 1
    return found


def wait_until(done: Callable[[], bool], workers: Workers, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not done():
        workers.check()
        if time.monotonic() > deadline:
            raise Broken(f"{what}: not done within {within:g} s")
        time.sleep(0.01)


# -- the three workloads ----------------------------------------------------------------------


def _step(k: int, **more: Any) -> dict[str, Any]:
    resource = "arn:aws:lambda:us-east-1:000000000000:function:scale_step"
    return {"Type": "Task", "Resource": resource, "ResultPath": f"$.t{k}", **more}


THREE_TASKS: dict[str, Any] = {
    "StartAt": "T1",
    "States": {"T1": _step(1, Next="T2"), "T2": _step(2, Next="T3"), "T3": _step(3, End=True)},
}


def count_executions(db: Any, status: str) -> int:
    with db.transaction(write=False) as tx:
        rows = tx.fetch_raw("SELECT COUNT(*) FROM executions WHERE status = ?", (status,))
    return int(rows[0][0])


def run_workflows(
    url: str, tmp: Path, label: str, workers: int, n: int, problems: list[str], within: float
) -> float:
    """Three-Task executions per second."""
    from invoiceflow.engine import Engine
    from invoiceflow.engine.executions import create_execution
    from invoiceflow.functions import Registry
    from invoiceflow.store import open_database

    db = open_database(url)
    try:
        engine = Engine.open(db, invoker=Registry())
        arn = engine.client.create_state_machine(name="three", definition=json.dumps(THREE_TASKS))[
            "stateMachineArn"
        ]
        group = start_workers(url, workers, tmp, label)
        try:
            with db.transaction() as tx:
                now = engine.runtime.clock.now()
                for i in range(n):
                    create_execution(tx, arn, f"t{i}", '{"n": 1}', now)
            began = time.perf_counter()
            wait_until(lambda: count_executions(db, "RUNNING") == 0, group, within, label)
            elapsed = time.perf_counter() - began
        finally:
            stop_workers(group, problems)
        ok = count_executions(db, "SUCCEEDED")
        if ok != n:
            raise Broken(f"{label}: {ok} of {n} executions succeeded")
        return n / elapsed
    finally:
        db.close()


def run_pipeline(
    url: str,
    tmp: Path,
    label: str,
    workers: int,
    files: int,
    per_file: int,
    problems: list[str],
    within: float,
) -> float:
    """Invoices per second through the whole pipeline, first submit to last Done."""
    from pipeline import csv_file  # bench/pipeline.py's files, beside this script

    from invoiceflow.engine import Engine
    from invoiceflow.functions import Registry
    from invoiceflow.pipeline import containers, open_pipeline
    from invoiceflow.pipeline.blobs import BlobStore
    from invoiceflow.pipeline.submit import TERMINAL, receive
    from invoiceflow.store import open_database

    db = open_database(url)
    try:
        registry = Registry()
        blobs = BlobStore(tmp / f"{label}-files")
        pipeline = open_pipeline(Engine.open(db, invoker=registry), registry, blobs=blobs)
        group = start_workers(url, workers, tmp, label)
        ids: list[str] = []

        def finished() -> list[containers.Container]:
            with db.transaction(write=False) as tx:
                found = [containers.get(tx, i) for i in ids]
            return [c for c in found if c is not None and c.state in TERMINAL]

        try:
            began = time.perf_counter()
            for n in range(files):
                ids.append(receive(pipeline, f"f{n}.csv", csv_file(n, per_file)).id)
            wait_until(lambda: len(finished()) == files, group, within, label)
            elapsed = time.perf_counter() - began
        finally:
            stop_workers(group, problems)
        wrong = [c for c in finished() if c.state != "Done" or c.created_count != per_file]
        if wrong:
            raise Broken(f"{label}: {len(wrong)} of {files} files did not end Done in full")
        return files * per_file / elapsed
    finally:
        db.close()


def run_queue(
    url: str, tmp: Path, label: str, workers: int, n: int, problems: list[str], within: float
) -> float:
    """Messages per second: sent here, received and deleted by the workers' mapping."""
    from invoiceflow.functions import LambdaClient, Mappings, Registry
    from invoiceflow.queues import Queues, SQSClient
    from invoiceflow.store import open_database

    db = open_database(url)
    try:
        queues = Queues(db)
        sqs = SQSClient(queues)
        queue = sqs.create_queue(QueueName="scale")["QueueUrl"]
        LambdaClient(Mappings(db, queues), Registry()).create_event_source_mapping(
            EventSourceArn="arn:aws:sqs:us-east-1:000000000000:scale", FunctionName="scale_sink"
        )

        def left() -> int:
            names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
            attrs = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=names)
            return sum(int(attrs["Attributes"][a]) for a in names)

        group = start_workers(url, workers, tmp, label)
        try:
            began = time.perf_counter()
            for b in range(n // 10):
                entries = [{"Id": str(i), "MessageBody": f"{b}-{i}"} for i in range(10)]
                sqs.send_message_batch(QueueUrl=queue, Entries=entries)
            wait_until(lambda: left() == 0, group, within, label)
            elapsed = time.perf_counter() - began
        finally:
            stop_workers(group, problems)
        return n // 10 * 10 / elapsed
    finally:
        db.close()


# -- an idle worker ---------------------------------------------------------------------------


def _read_counts(path: Path) -> dict[str, float]:
    for _ in range(20):  # written four times a second; the first may not be there yet
        with contextlib.suppress(FileNotFoundError, json.JSONDecodeError):
            data: dict[str, float] = json.loads(path.read_text())
            return data
        time.sleep(0.1)
    raise Broken(f"the worker wrote no counts to {path}")


def _pg_stat(name: str, column: str) -> int:
    """A counter of database ``name`` in ``pg_stat_database`` (``column`` is one of ours,
    never user input), read from another database so that this read is not among them."""
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        row = conn.execute(
            f"SELECT {column} FROM pg_stat_database WHERE datname = %s", (name,)
        ).fetchone()
    assert row is not None
    return int(row[0])


def run_idle(
    url: str, tmp: Path, label: str, settle: float, window: float, problems: list[str]
) -> dict[str, Any]:
    """Transactions per second of one worker with nothing to do (see the module docstring)."""
    from invoiceflow.store import open_database

    open_database(url).close()  # migrated here, so the worker's start does not include it
    counts = tmp / f"{label}-counts.json"
    group = start_workers(url, 1, tmp, label, env={COUNTS_ENV: str(counts)})
    postgres = url.startswith("postgresql://")
    name = url.rsplit("/", 1)[1]
    try:
        time.sleep(settle)
        group.check()
        first = _read_counts(counts)
        server_first = _pg_stat(name, XACTS) if postgres else 0
        time.sleep(window)
        group.check()
        last = _read_counts(counts)
        server_last = _pg_stat(name, XACTS) if postgres else 0
    finally:
        stop_workers(group, problems)
    took = last["t"] - first["t"]

    def rate(key: str) -> float:
        return round((last[key] - first[key]) / took, 2)

    out: dict[str, Any] = {"settle_s": settle, "window_s": round(took, 1)}
    if postgres:
        # Lag: the server publishes counts at most once a second; the window runs from the
        # first read to the last, and the worker's own snapshots span almost the same time.
        out["transactions_per_s"] = round((server_last - server_first) / window, 2)
        out["counted_by"] = "pg_stat_database xact_commit + xact_rollback"
        out["asked_in_worker_per_s"] = rate("asked")
    else:
        out["transactions_per_s"] = rate("begins")
        out["counted_by"] = "BEGIN statements traced on the worker's sqlite3 connections"
        out["asked_in_worker_per_s"] = rate("asked")
        out["statements_per_s"] = rate("statements")
        out["data_version_looks_per_s"] = rate("data_version")
    return out


# -- the queue loop against a bare loop of the same statements --------------------------------


class Ours:
    """One client doing send-batch -> receive-batch -> delete-batch through our SQS client."""

    def __init__(self, url: str) -> None:
        from invoiceflow.queues import Queues, SQSClient
        from invoiceflow.store import open_database

        self.db = open_database(url)
        self.sqs = SQSClient(Queues(self.db))
        self.url = self.sqs.create_queue(QueueName="floor")["QueueUrl"]

    def run(self, first: int, cycles: int) -> None:
        # bench/queues.py's loop; imported here, where this file runs as a script beside it
        # (worker processes import it as bench.scale and never get here).
        from queues import send_receive_delete

        send_receive_delete(self.sqs, self.url, first, cycles)

    def close(self) -> None:
        self.db.close()


def _queries(url: str) -> tuple[int, Sequence[str]]:
    """Migrate the database at ``url``, add the bare loop's queue; its id and the text of
    the three named queries as this backend has them."""
    from invoiceflow.store import open_database

    db = open_database(url)
    try:
        with db.transaction() as tx:
            tx.execute_raw(
                "INSERT INTO queues (name, attributes, created, modified)"
                " VALUES ('floor', '{}', 0, 0)"
            )
            row = tx.fetch_raw("SELECT id FROM queues WHERE name = 'floor'")
        texts = [db.sql(q) for q in ("insert_message", "receive_messages", "delete_message")]
        return int(row[0][0]), texts
    finally:
        db.close()


def _rows(queue: int, b: int, now: float) -> list[tuple[Any, ...]]:
    return [
        (queue, f"{b}-{i}", f"{b}-{i}", None, "", None, now, now + 1e6, now, "", None)
        for i in range(10)
    ]


class BareSQLite:
    """The same loop through plain sqlite3 (as bench/queues.py): sends flushed
    (synchronous=FULL), receives and deletes not (NORMAL), no validation, ids, digests,
    handles or responses."""

    def __init__(self, url: str) -> None:
        self.queue, (self.insert, self.receive, self.delete) = _queries(url)
        self.conn = sqlite3.connect(url[len("sqlite:///") :], isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")

    def run(self, first: int, cycles: int) -> None:
        conn, queue = self.conn, self.queue
        for b in range(first, first + cycles):
            now = time.time()
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(self.insert, _rows(queue, b, now))
            conn.execute("COMMIT")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("BEGIN IMMEDIATE")
            marks = ("n", now + 30, now, queue, now, now, 1 << 62, 10)
            got = conn.execute(self.receive, marks).fetchall()
            conn.execute("COMMIT")
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(self.delete, [(row[0], queue, "n") for row in got])
            conn.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()


class BarePostgres:
    """The same loop through plain psycopg: one connection in autocommit, our backend's
    BEGIN texts (sends durable; receives and deletes with synchronous_commit off), our
    statements translated once to psycopg's placeholders."""

    def __init__(self, url: str) -> None:
        import psycopg

        from invoiceflow.store.postgres import translate

        self.queue, texts = _queries(url)
        self.insert, self.receive, self.delete = (translate(t)[-1] for t in texts)
        assert all(len(translate(t)) == 1 for t in texts), "a bare loop needs one statement each"
        self.conn = psycopg.connect(url, autocommit=True)

    def run(self, first: int, cycles: int) -> None:
        cur, queue = self.conn.cursor(), self.queue
        insert, receive, delete = self.insert, self.receive, self.delete
        for b in range(first, first + cycles):
            now = time.time()
            cur.execute("BEGIN")
            cur.executemany(insert.text, [insert.arguments(r) for r in _rows(queue, b, now)])
            cur.execute("COMMIT")
            cur.execute("BEGIN; SET LOCAL synchronous_commit = off")
            marks = ("n", now + 30, now, queue, now, now, 1 << 62, 10)
            got = cur.execute(receive.text, receive.arguments(marks)).fetchall()
            cur.execute("COMMIT")
            cur.execute("BEGIN; SET LOCAL synchronous_commit = off")
            cur.executemany(delete.text, [delete.arguments((r[0], queue, "n")) for r in got])
            cur.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()


def run_floor(places: Places, backend: str, messages: int) -> dict[str, Any]:
    """Our one-client loop and the bare one, taking turns in chunks."""
    with (
        fresh_database(places, backend, f"floor-ours-{backend}") as ours_url,
        fresh_database(places, backend, f"floor-bare-{backend}") as bare_url,
    ):
        ours = Ours(ours_url)
        bare: BareSQLite | BarePostgres = (
            BareSQLite(bare_url) if backend == "sqlite" else BarePostgres(bare_url)
        )
        took = {"ours": 0.0, "bare": 0.0}
        cycles = max(1, messages // 10 // FLOOR_CHUNKS)
        try:
            for chunk in range(FLOOR_CHUNKS):
                loops = [("ours", ours), ("bare", bare)]
                for name, loop in loops if chunk % 2 == 0 else loops[::-1]:
                    began = time.perf_counter()
                    loop.run(chunk * cycles, cycles)
                    took[name] += time.perf_counter() - began
        finally:
            ours.close()
            bare.close()
    done = cycles * FLOOR_CHUNKS * 10
    return {
        "messages": done,
        "invoiceflow_per_s": round(done / took["ours"]),
        "bare_per_s": round(done / took["bare"]),
        "invoiceflow_share": round(took["bare"] / took["ours"], 2),
    }


# -- the run ----------------------------------------------------------------------------------


def postgres_server() -> dict[str, Any]:
    """The server's version and the settings that decide what a commit costs."""
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        out: dict[str, Any] = {}
        for setting in ("server_version", "fsync", "synchronous_commit", "wal_sync_method"):
            row = conn.execute(f"SHOW {setting}").fetchone()
            out[setting] = row[0] if row else None
    return out


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a is not None and b else None


def median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, to see that it works")
    parser.add_argument(
        "--workers", type=int, nargs="+", help="worker counts (1 2 4; with --quick, 1 2)"
    )
    parser.add_argument("--executions", type=int, help="three-Task executions per measurement")
    parser.add_argument("--files", type=int, help="100-invoice files per pipeline measurement")
    parser.add_argument("--per-file", type=int, default=100, help="invoices per file")
    parser.add_argument("--messages", type=int, help="queue messages per measurement")
    parser.add_argument("--floor-messages", type=int, help="messages per one-client loop")
    parser.add_argument("--idle-settle", type=float, help="seconds before the idle window")
    parser.add_argument("--idle-window", type=float, help="seconds of the idle window")
    parser.add_argument("--repeats", type=int, default=1, help="measurements of each (median)")
    parser.add_argument("--within", type=float, default=120.0, help="seconds a run may take")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=["workflows", "pipeline", "queue", "idle", "floor"],
        help="measure only these (the targets need all but floor)",
    )
    args = parser.parse_args()
    quick = args.quick
    sizes = {
        "executions": args.executions or (200 if quick else 1500),
        "files": args.files or (1 if quick else 5),
        "per_file": args.per_file,
        "messages": args.messages or (1000 if quick else 3000),
        "floor_messages": args.floor_messages or (1600 if quick else 4000),
        "idle_settle_s": args.idle_settle or (3.0 if quick else 5.0),
        "idle_window_s": args.idle_window or (4.0 if quick else 10.0),
        "repeats": args.repeats,
        "workers": args.workers or ([1, 2] if quick else [1, 2, 4]),
        "only": args.only or ["workflows", "pipeline", "queue", "idle", "floor"],
    }
    problems: list[str] = []
    results: dict[str, Any] = {"sizes": sizes}
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="invoiceflow-scale-") as name:
        tmp = Path(name)
        places = Places(tmp)
        try:
            from machine import machine  # bench/machine.py, beside this script

            results["machine"] = machine(tmp)
            results["postgres_server"] = postgres_server()
            print("PostgreSQL server:", results["postgres_server"], flush=True)
            results.update(measure(places, tmp, sizes, problems, args.within))
        finally:
            places.drop_all()
    results["problems"] = problems
    results["took_s"] = round(time.monotonic() - started)
    for p in problems:
        print("PROBLEM:", p, flush=True)
    print(json.dumps(results))


def measure(
    places: Places, tmp: Path, sizes: dict[str, Any], problems: list[str], within: float
) -> dict[str, Any]:
    workloads: dict[str, Callable[[str, str, int], float]] = {
        "workflows": lambda url, label, w: run_workflows(
            url, tmp, label, w, sizes["executions"], problems, within
        ),
        "pipeline": lambda url, label, w: run_pipeline(
            url, tmp, label, w, sizes["files"], sizes["per_file"], problems, within
        ),
        "queue": lambda url, label, w: run_queue(
            url, tmp, label, w, sizes["messages"], problems, within
        ),
    }
    workloads = {k: v for k, v in workloads.items() if k in sizes["only"]}
    seen: dict[str, dict[str, dict[int, list[float]]]] = {
        key: {b: {w: [] for w in sizes["workers"]} for b in BACKENDS} for key in workloads
    }
    deadlocks: dict[str, dict[str, int]] = {key: {} for key in workloads}
    turn = 0
    for repeat in range(sizes["repeats"]):
        for key, run in workloads.items():
            for w in sizes["workers"]:
                order = BACKENDS if turn % 2 == 0 else BACKENDS[::-1]
                turn += 1
                for backend in order:
                    label = f"{key}-{backend}-{w}w-r{repeat}"
                    began = time.perf_counter()
                    try:
                        with fresh_database(places, backend, label) as url:
                            figure = run(url, label, w)
                            if backend == "postgres":  # the workers have exited: all flushed
                                found = _pg_stat(url.rsplit("/", 1)[1], "deadlocks")
                                deadlocks[key][str(w)] = deadlocks[key].get(str(w), 0) + found
                    except Broken as exc:
                        problems.append(f"{label}: {exc}")
                        print(f"{label}: FAILED ({str(exc).splitlines()[0]})", flush=True)
                        continue
                    seen[key][backend][w].append(figure)
                    took = time.perf_counter() - began
                    print(
                        f"{FIGURES[key]} {backend} {w} worker(s): {figure:.1f} "
                        f"(measurement and its setup took {took:.1f} s)",
                        flush=True,
                    )
    out: dict[str, Any] = {
        FIGURES[key]: {b: {str(w): median(v) for w, v in per.items()} for b, per in by.items()}
        for key, by in seen.items()
    }
    if workloads:
        out["postgres_deadlocks"] = {FIGURES[k]: v for k, v in deadlocks.items()}
    if "queue" in workloads:
        out["queue_consumers"] = (
            "the worker processes, through an event source mapping (batches of 10, a handler "
            "that does nothing); one producer in the bench process sends batches of 10"
        )
    if "idle" in sizes["only"]:
        out["idle_worker"] = {}
        for backend in BACKENDS:
            label = f"idle-{backend}"
            try:
                with fresh_database(places, backend, label) as url:
                    idle = run_idle(
                        url, tmp, label, sizes["idle_settle_s"], sizes["idle_window_s"], problems
                    )
            except Broken as exc:
                problems.append(f"{label}: {exc}")
                continue
            out["idle_worker"][backend] = idle
            print(f"idle worker, {backend}:", idle, flush=True)
    if "floor" in sizes["only"]:
        out["queue_loop_share"] = {}
        for backend in BACKENDS:
            floor = run_floor(places, backend, sizes["floor_messages"])
            out["queue_loop_share"][backend] = floor
            print(f"queue loop against a bare loop, {backend}:", floor, flush=True)
    out["targets"] = targets(out, sizes["workers"])
    print("targets:", out["targets"], flush=True)
    return out


FIGURES = {
    "workflows": "workflows_per_s",
    "pipeline": "pipeline_invoices_per_s",
    "queue": "queue_messages_per_s",
}


def targets(out: dict[str, Any], workers: list[int]) -> dict[str, Any]:
    """The figures' ratios against what we aim for (those measured in this run)."""
    found: dict[str, Any] = {}
    pipeline = out.get("pipeline_invoices_per_s")
    if pipeline:
        shares = {
            str(w): ratio(pipeline["postgres"][str(w)], pipeline["sqlite"][str(w)]) for w in workers
        }
        found["postgres_pipeline_share_of_sqlite"] = {
            "target": TARGET_PG_PIPELINE_SHARE,
            "by_workers": shares,
            "met": {w: s is not None and s >= TARGET_PG_PIPELINE_SHARE for w, s in shares.items()},
        }
    two_over_one: dict[str, float | None] = {}
    if 1 in workers and 2 in workers:
        for key in FIGURES.values():
            if key in out:
                two_over_one[key] = ratio(out[key]["postgres"]["2"], out[key]["postgres"]["1"])
    if two_over_one:
        found["postgres_two_workers_over_one"] = {
            "target": TARGET_TWO_OVER_ONE,
            "by_workload": two_over_one,
            "met": {k: r is not None and r >= TARGET_TWO_OVER_ONE for k, r in two_over_one.items()},
        }
    if out.get("idle_worker"):
        idle = {b: v["transactions_per_s"] for b, v in out["idle_worker"].items()}
        found["idle_worker_transactions_per_s"] = {
            "target_at_most": TARGET_IDLE_PER_S,
            "by_backend": idle,
            "met": {b: r <= TARGET_IDLE_PER_S for b, r in idle.items()},
        }
    return found


if __name__ == "__main__":
    main()
