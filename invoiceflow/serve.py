"""``invoiceflow serve``: the API, the workers and the timers in one process.

Requests are served by uvicorn on the main thread; the worker (executions, timers, queue
mappings, redrives) runs beside it, slowing down while requests are in flight. SIGTERM or
SIGINT stops taking requests and the worker, lets the requests in flight finish and the
worker hand its leases back so that another process takes the work over at once, all
within one drain timeout; what has not finished by then is abandoned (the process exits
with status 1) and, its leases handed back or run out, done again elsewhere: nothing in
flight is lost.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import NoReturn

import structlog
import uvicorn

from invoiceflow import logs
from invoiceflow.api import create_app
from invoiceflow.api.in_flight import InFlight
from invoiceflow.api.protocol import server_config
from invoiceflow.engine import Engine
from invoiceflow.engine.durability import BATCHED
from invoiceflow.engine.runtime import Runtime
from invoiceflow.engine.worker import Worker
from invoiceflow.functions import default_registry
from invoiceflow.functions.worker import full_worker
from invoiceflow.pipeline import open_pipeline
from invoiceflow.store import DatabaseURLError, database_location, open_database

DRAIN_TIMEOUT = 30  # seconds, from SIGTERM, for requests and the worker to finish
# While requests are being answered the worker leaves them this share of its time: accepting
# work comes first, and what is accepted waits on its queue (``invoiceflow worker``
# processes elsewhere are not slowed).
GIVE_WAY = 0.75

log = structlog.get_logger("invoiceflow.serve")


class CannotStart(Exception):
    """Serving could not start (the port taken, say); the message is one sentence."""


def bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit this: without it a response's head and body meet
    # Nagle's algorithm and a keep-alive client's delayed ACK, 40 ms per request.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


class WorkerLoop:
    """The worker's thread, and why it ended if it ended: ``ready`` is what ``/readyz``
    asks, so that a loop that died of an unexpected exception takes the process out of
    rotation (503 with the reason) instead of leaving it accepting work nobody does."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="worker", daemon=True)

    def _run(self) -> None:
        try:
            self.worker.run()
        except BaseException as exc:
            self.error = exc
            log.exception("worker died", worker=self.worker.owner)
            return
        self.error = getattr(self.worker, "error", None)  # a loop that gave up by itself

    def ready(self) -> bool | str:
        if self.thread.is_alive():
            return True
        if self.error is not None:
            return f"The worker stopped: {self.error!r}."
        return "The worker is not running."


class Draining(uvicorn.Server):
    """uvicorn's server, telling ``on_exit`` the moment a signal asks it to stop, so that
    the worker winds down while requests drain, and the drain has one deadline."""

    def __init__(self, config: uvicorn.Config, on_exit: Callable[[], None]) -> None:
        super().__init__(config)
        self.on_exit = on_exit
        self.deadline: float | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.deadline is None:
            self.deadline = time.monotonic() + (self.config.timeout_graceful_shutdown or 0)
            self.on_exit()
        super().handle_exit(sig, frame)

    def remaining(self) -> float:
        return max(0.0, (self.deadline or time.monotonic()) - time.monotonic())


def serve(
    database_url: str | None,
    host: str,
    port: int,
    *,
    max_upload: int,
    json_logs: bool | None = None,
    access_log: bool = False,
    drain_timeout: int = DRAIN_TIMEOUT,
    durability: str = BATCHED,
) -> None:
    """Serve until SIGTERM/SIGINT, then drain within ``drain_timeout`` seconds. Exits the
    process with status 1 if it had to abandon work still running then (a handler that
    does not return): its leases are handed back, or run out, and another worker takes it."""
    logs.configure(json_lines=json_logs)
    try:
        db = open_database(database_url)
    except DatabaseURLError as exc:  # a server that cannot be reached, say
        raise CannotStart(str(exc)) from None
    registry = default_registry()
    # The default durability lives on the runtime, which every round and every stop
    # taken at once (run_now) consult.
    engine = Engine.open(db, invoker=registry, durability=durability)
    pipeline = open_pipeline(engine, registry)
    in_flight = InFlight()
    worker = full_worker(
        pipeline.engine.runtime, registry, give_way=lambda: GIVE_WAY if in_flight.active else 0.0
    )
    loop = WorkerLoop(worker)
    app = create_app(pipeline, registry, max_upload=max_upload, ready=loop.ready)
    try:
        sock = bind(host, port)
    except OSError as exc:
        db.close()
        raise CannotStart(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    bound_host, bound_port = sock.getsockname()[:2]
    config = server_config(in_flight.around(app), access_log=access_log, graceful=drain_timeout)
    server = Draining(config, on_exit=worker.stop)
    # uvicorn stops on SIGTERM/SIGINT, then raises the signal again for the handler it
    # found installed: with Python's defaults that would end the process before the worker
    # hands its leases back. The handler it finds only asks the server to stop, which also
    # honours a signal that arrives before it starts.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, server.handle_exit)
    loop.thread.start()
    log.info(
        "serving",
        url=f"http://{bound_host}:{bound_port}",
        worker=worker.owner,
        database=database_location(database_url),
    )
    try:
        server.run(sockets=[sock])  # returns once a signal has stopped it
    finally:
        log.info("stopping", worker=worker.owner)
        worker.stop()
        app.state.services.batcher.stop(server.remaining())
        loop.thread.join(server.remaining())
        for thread in _stuck_threads():
            thread.join(server.remaining())
    if loop.thread.is_alive() or _stuck_threads():
        _abandon(pipeline.engine.runtime, worker.owner)
    db.close()
    log.info("stopped")


def _stuck_threads() -> list[threading.Thread]:
    """Threads that would keep the interpreter from exiting (a request handler that did
    not return, on the server's thread pool; idle ones end with the server)."""
    main = threading.main_thread()
    return [t for t in threading.enumerate() if t is not main and not t.daemon and t.is_alive()]


def _abandon(runtime: Runtime, owner: str) -> NoReturn:
    """Hands the worker's leases back where the store lets us, and ends the process now:
    the work still running is done again by whichever worker claims it."""
    with contextlib.suppress(Exception):
        runtime.release(owner)
    log.error(
        "stopped, abandoning work still running",
        worker=owner,
        threads=[t.name for t in _stuck_threads()],
    )
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(1)
