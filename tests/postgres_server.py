"""The PostgreSQL server tests run against, and fixtures that give each test a database.

The server is ``INVOICEFLOW_TEST_POSTGRES`` (a URL without a database name), by default the
local one. Each test gets a database of its own, created with a random name and dropped
afterwards, so tests never see each other's rows and worker processes of one test can
never take another's work. Without a server the PostgreSQL tests skip on a developer's
machine, but not under CI (env ``CI`` set), whose ``.ci/run`` starts PostgreSQL: there a
missing server fails them.

A module uses a fixture by importing it under its own name, which pytest then finds there
(``from tests.postgres_server import url as url``).
"""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import psycopg
import pytest

SERVER = os.environ.get("INVOICEFLOW_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
SQLITE, POSTGRESQL = "sqlite", "postgresql"


@functools.cache
def server_up() -> bool:
    """Whether the server answers (asked once per test run: an absent server costs the
    connect timeout each time)."""
    try:
        with psycopg.connect(f"{SERVER}/postgres", connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


def skip_without_server() -> None:
    """Skips the calling test when no server answers, unless under CI."""
    if not os.environ.get("CI") and not server_up():
        pytest.skip(f"no PostgreSQL server at {SERVER}")


@contextmanager
def fresh_database() -> Iterator[str]:
    """The URL of a new, empty database, dropped on exit with whatever still holds a
    connection to it (a worker process a failed test left running)."""
    name = f"invoiceflow_test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{SERVER}/{name}"
    finally:
        with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture
def url() -> Iterator[str]:
    """A fresh PostgreSQL database's URL (the module skips itself without a server)."""
    with fresh_database() as fresh:
        yield fresh


class Backend(NamedTuple):
    """Where a test's engine lives: ``kind`` is SQLITE or POSTGRESQL, ``url`` what
    ``open_database`` and ``invoiceflow worker --database-url`` take."""

    kind: str
    url: str


@pytest.fixture(
    params=[
        pytest.param(SQLITE, marks=pytest.mark.sqlite_only("its processes open the file")),
        pytest.param(POSTGRESQL, marks=pytest.mark.own_postgres),
    ]
)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """The test once on a SQLite file in its ``tmp_path``, once on a fresh PostgreSQL
    database (skipped only when no server answers outside CI). Both run in the first pass
    of ``make test``; its PostgreSQL pass would only repeat them."""
    if request.param == SQLITE:
        yield Backend(SQLITE, f"sqlite:///{tmp_path / 'invoiceflow.db'}")
        return
    skip_without_server()
    with fresh_database() as fresh:
        yield Backend(POSTGRESQL, fresh)
