"""A real uvicorn server on 127.0.0.1 serving the API over a pipeline with its worker, and
keys for two tenants."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from invoiceflow.api import create_app, keys
from invoiceflow.api.protocol import server_config
from invoiceflow.engine import Engine
from invoiceflow.functions import Registry
from invoiceflow.functions.worker import full_worker
from invoiceflow.pipeline import Pipeline, Settings, open_pipeline
from invoiceflow.serve import bind
from invoiceflow.store.sqlite import SQLiteDatabase

MAX_UPLOAD = 200_000


@dataclass
class Api:
    url: str
    db: SQLiteDatabase
    pipeline: Pipeline
    registry: Registry
    key_a: str
    key_b: str

    def client(self, key: str | None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def wait_for(self, client: httpx.Client, path: str, done: Any, timeout: float = 30) -> Any:
        """GET ``path`` until ``done(json)`` holds; the last JSON."""
        deadline = time.monotonic() + timeout
        while True:
            body = client.get(path).json()
            if done(body) or time.monotonic() > deadline:
                return body
            time.sleep(0.05)


@pytest.fixture(scope="package")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    tmp: Path = tmp_path_factory.mktemp("api")
    db = SQLiteDatabase(str(tmp / "api.db"))
    db.migrate()
    registry = Registry()
    engine = Engine.open(db, invoker=registry)
    pipeline = open_pipeline(
        engine, registry, settings=Settings(visibility_timeout=1, max_receives=2)
    )
    worker = full_worker(engine.runtime, registry)
    working = threading.Thread(target=worker.run, daemon=True)
    working.start()
    app = create_app(pipeline, registry, max_upload=MAX_UPLOAD, ready=working.is_alive)
    sock = bind("127.0.0.1", 0)
    host, port = sock.getsockname()[:2]
    server = uvicorn.Server(server_config(app))
    serving = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    serving.start()
    while not server.started:
        time.sleep(0.01)
    _, key_a = keys.create(db, "tenant-a")
    _, key_b = keys.create(db, "tenant-b")
    try:
        yield Api(f"http://{host}:{port}", db, pipeline, registry, key_a, key_b)
    finally:
        server.should_exit = True
        serving.join(10)
        worker.stop()
        working.join(10)
        db.close()


@pytest.fixture
def a(api: Api) -> Iterator[httpx.Client]:
    with api.client(api.key_a) as client:
        yield client


@pytest.fixture
def b(api: Api) -> Iterator[httpx.Client]:
    with api.client(api.key_b) as client:
        yield client
