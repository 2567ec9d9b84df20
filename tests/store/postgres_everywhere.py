"""A pytest plugin that runs the test suites on PostgreSQL, unchanged; ``tests/conftest.py``
loads it when ``INVOICEFLOW_TEST_DATABASE=postgres``.

The SQLite databases tests open by URL (``invoiceflow.store.open_database``), build
themselves (``SQLiteDatabase(path)``) or get through ``invoiceflow.testing.run`` become
PostgreSQL schemas of their own in one database: a schema costs milliseconds where a
database costs seconds, and a migrated one is emptied and reused rather than migrated
again. The same file path opened twice is the same schema, as it would be the same file.
PostgreSQL URLs are opened as they are.

The server and database are ``INVOICEFLOW_TEST_POSTGRES`` (a URL without a database name,
by default the local server) and ``INVOICEFLOW_TEST_POSTGRES_DB`` (by default ``test``).
"""

from __future__ import annotations

import atexit
import os
import uuid
from typing import Any

import psycopg

import invoiceflow.store
import invoiceflow.store.sqlite
from invoiceflow.store import Database
from invoiceflow.store.postgres import PostgresDatabase

SERVER = os.environ.get("INVOICEFLOW_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
DATABASE = os.environ.get("INVOICEFLOW_TEST_POSTGRES_DB", "test")


_open: dict[str, int] = {}  # schema -> databases open on it
_schemas: dict[str, str] = {}  # a file URL -> its schema, while open
_spare: list[str] = []  # migrated schemas emptied for the next in-memory database


class ThrowawayDatabase(PostgresDatabase):
    """A PostgreSQL schema standing for one SQLite database: for a file, the same schema
    whenever that path is opened, kept until the tests end; for an in-memory database, an
    empty one, emptied for reuse (or dropped) when it closes."""

    def __init__(self, key: str | None = None) -> None:
        self._admin = f"{SERVER}/{DATABASE}"
        schema = _schemas.get(key) if key is not None else None
        if schema is None and key is None and _spare:
            schema = _spare.pop()
        if schema is None:
            schema = f"t_{uuid.uuid4().hex}"
            with psycopg.connect(self._admin, autocommit=True) as admin:
                admin.execute(f'CREATE SCHEMA "{schema}"')
            if key is not None:
                _schemas[key] = schema
        self.schema = schema
        self._key = key
        _open[schema] = _open.get(schema, 0) + 1
        super().__init__(f"{self._admin}?options=-csearch_path%3D{schema}", max_size=8)

    def close(self) -> None:
        super().close()
        _open[self.schema] -= 1
        if _open[self.schema] or self._key is not None:
            return  # a file's schema stays, as the file would, until the tests end
        del _open[self.schema]
        with psycopg.connect(self._admin, autocommit=True) as admin:
            tables = [
                row[0]
                for row in admin.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = %s", (self.schema,)
                )
            ]
            if "schema_version" not in tables:
                admin.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')
                return
            # Migrated: emptied, it serves the next in-memory database (migrating costs
            # far more than emptying, and DELETE on small tables less than TRUNCATE).
            # Foreign keys are not checked meanwhile: every table is emptied.
            emptied = ["SET session_replication_role = replica"]
            emptied += [
                f'DELETE FROM "{self.schema}"."{t}"' for t in tables if t != "schema_version"
            ]
            identities = admin.execute(
                "SELECT table_name, column_name FROM information_schema.columns"
                " WHERE table_schema = %s AND is_identity = 'YES'",
                (self.schema,),
            ).fetchall()
            emptied += [
                f'ALTER TABLE "{self.schema}"."{t}" ALTER COLUMN "{c}" RESTART'
                for t, c in identities
            ]
            emptied.append("SET session_replication_role = DEFAULT")
            admin.execute("; ".join(emptied))
            _spare.append(self.schema)


@atexit.register
def _drop_schemas() -> None:
    schemas = _spare + list(_schemas.values())
    if not schemas:
        return
    with psycopg.connect(f"{SERVER}/{DATABASE}", autocommit=True) as admin:
        for schema in schemas:
            admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    _spare.clear()
    _schemas.clear()


_open_database = invoiceflow.store.open_database


def open_database(url: str | None = None, *, migrate: bool = True) -> Database:
    if invoiceflow.store.database_url(url).startswith(invoiceflow.store.POSTGRES_SCHEMES):
        return _open_database(url, migrate=migrate)
    path = invoiceflow.store.database_path(url)
    db = ThrowawayDatabase(None if path == ":memory:" else path)
    if migrate:
        db.migrate()
    return db


class FileDatabase(ThrowawayDatabase):
    """Stands for ``SQLiteDatabase(path)`` where the test builds one itself: the schema of
    that path, shared by every database open on it at once."""

    def __init__(self, path: str, **_: Any) -> None:
        self.path = path
        super().__init__(path)


vars(invoiceflow.store)["open_database"] = open_database
vars(invoiceflow.store.sqlite)["SQLiteDatabase"] = FileDatabase
