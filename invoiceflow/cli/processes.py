"""The long-running processes: a worker, and the server with its workers."""

from __future__ import annotations

import signal
import threading
from typing import Annotated

import typer

from invoiceflow.cli.app import app
from invoiceflow.cli.common import (
    DbOption,
    DurabilityOption,
    HandlersOption,
    database_location,
    fail,
    import_handlers,
    open_pipeline,
)
from invoiceflow.engine.durability import BATCHED
from invoiceflow.engine.runtime import LEASE
from invoiceflow.engine.worker import MAX_FAILURES
from invoiceflow.functions import default_registry
from invoiceflow.limits import MAX_FILE


@app.command("worker")
def worker_cmd(
    database_url: DbOption = None,
    handlers: HandlersOption = None,
    batch: Annotated[
        int, typer.Option(min=1, help="Executions, tasks or messages claimed at a time.")
    ] = 100,
    name: Annotated[
        str | None,
        typer.Option(help="A stable name; restarting under it takes its leases over at once."),
    ] = None,
    lease: Annotated[
        float, typer.Option(help="Seconds until a dead worker's work is taken over.")
    ] = LEASE,
    max_failures: Annotated[
        int,
        typer.Option(
            min=1,
            help="Passes in a row that may fail (the store unreachable) before the worker "
            "exits with status 1, for its supervisor to restart it.",
        ),
    ] = MAX_FAILURES,
    durability: DurabilityOption = BATCHED,
) -> None:
    """Advance executions, fire timers, run handlers and feed queues to their handlers
    until stopped (SIGINT/SIGTERM)."""
    # A stop asked for while starting up is honoured too. The handler only sets a flag: it
    # runs on the main thread, which must never be inside a lock the handler would take.
    stopping = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.set())
    from invoiceflow import logs
    from invoiceflow.functions.worker import full_worker

    # As serve does: without it structlog's default renders each failed pass's traceback
    # with every local variable of every frame, a round's executions included, which takes
    # the worker minutes per failure when the database restarts under load.
    logs.configure()
    import_handlers(handlers)
    path = database_location(database_url)
    pipeline = open_pipeline(database_url, durability)
    worker = full_worker(
        pipeline.engine.runtime, default_registry(), batch=batch, name=name, lease=lease
    )
    worker.max_failures = max_failures
    loop = threading.Thread(target=worker.run, name="worker")
    loop.start()
    typer.echo(f"invoiceflow worker {worker.owner} ready, database {path}", err=True)
    while loop.is_alive():
        if stopping.is_set():
            worker.stop()
        loop.join(0.1)
    if worker.error is not None:
        # A supervisor restarts a process that ends in failure, not one that ends cleanly.
        typer.echo(f"invoiceflow worker {worker.owner} failed: {worker.error!r}", err=True)
        raise typer.Exit(1)


@app.command("serve")
def serve_cmd(
    database_url: DbOption = None,
    handlers: HandlersOption = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on (0: any free one).")] = 8000,
    max_upload: Annotated[int, typer.Option(help="Largest file accepted, in bytes.")] = MAX_FILE,
    json_logs: Annotated[
        bool | None, typer.Option("--json-logs/--pretty-logs", help="Default: JSON unless a TTY.")
    ] = None,
    access_log: Annotated[bool, typer.Option(help="Log every request.")] = False,
    drain_timeout: Annotated[
        int,
        typer.Option(
            min=0, help="Seconds after SIGTERM for requests and handlers to finish, at most."
        ),
    ] = 30,
    durability: DurabilityOption = BATCHED,
) -> None:
    """Run the HTTP API, the workers and the timers in one process (until SIGTERM/SIGINT)."""
    from invoiceflow.serve import CannotStart, serve

    import_handlers(handlers)
    database_location(database_url)
    try:
        serve(
            database_url,
            host,
            port,
            max_upload=max_upload,
            json_logs=json_logs,
            access_log=access_log,
            drain_timeout=drain_timeout,
            durability=durability,
        )
    except CannotStart as exc:
        fail(str(exc), 1)
