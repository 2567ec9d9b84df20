"""``invoiceflow serve``: the API, the workers and the timers in one process.

Requests are served by uvicorn on the main thread; the worker (executions, timers, queue
mappings, redrives) runs beside it, slowing down while requests are in flight. SIGTERM or
SIGINT stops taking requests, lets those in flight finish, then stops the worker, which
hands its leases back so that another process takes the work over at once: nothing in
flight is lost.
"""

from __future__ import annotations

import signal
import socket
import threading

import structlog
import uvicorn

from invoiceflow import logs
from invoiceflow.api import create_app
from invoiceflow.api.in_flight import InFlight
from invoiceflow.api.protocol import server_config
from invoiceflow.engine import Engine
from invoiceflow.functions import default_registry
from invoiceflow.functions.worker import full_worker
from invoiceflow.pipeline import open_pipeline
from invoiceflow.store import open_database

GRACE = 10  # seconds in-flight requests get to finish on shutdown
# While requests are being answered the worker leaves them this share of its time: accepting
# work comes first, and what is accepted waits on its queue (``invoiceflow worker``
# processes elsewhere are not slowed).
GIVE_WAY = 0.75


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


def serve(
    database_url: str | None,
    host: str,
    port: int,
    *,
    max_upload: int,
    json_logs: bool | None = None,
    access_log: bool = False,
) -> None:
    logs.configure(json_lines=json_logs)
    log = structlog.get_logger("invoiceflow.serve")
    db = open_database(database_url)
    registry = default_registry()
    pipeline = open_pipeline(Engine.open(db, invoker=registry), registry)
    in_flight = InFlight()
    worker = full_worker(
        pipeline.engine.runtime,
        registry,
        give_way=lambda: GIVE_WAY if in_flight.active else 0.0,
    )
    loop = threading.Thread(target=worker.run, name="worker", daemon=True)
    app = create_app(pipeline, registry, max_upload=max_upload, ready=loop.is_alive)
    sock = bind(host, port)
    bound_host, bound_port = sock.getsockname()[:2]
    config = server_config(in_flight.around(app), access_log=access_log, graceful=GRACE)
    server = uvicorn.Server(config)
    # uvicorn stops on SIGTERM/SIGINT, then raises the signal again for the handler it
    # found installed: with Python's defaults that would end the process before the worker
    # hands its leases back. The handler it finds only asks the server to stop, which also
    # honours a signal that arrives before it starts.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: setattr(server, "should_exit", True))
    loop.start()
    log.info("serving", url=f"http://{bound_host}:{bound_port}", worker=worker.owner)
    try:
        server.run(sockets=[sock])  # returns once a signal has stopped it
    finally:
        log.info("stopping", worker=worker.owner)
        app.state.services.batcher.stop()
        worker.stop()
        loop.join()
        db.close()
        log.info("stopped")
