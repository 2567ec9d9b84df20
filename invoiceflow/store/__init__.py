"""Storage: one schema, several backends, chosen by a database URL.

``sqlite:///path/to/file.db`` (the default, ``sqlite:///invoiceflow.db``) or ``sqlite://``
with nothing after it for a private in-memory database. ``INVOICEFLOW_DATABASE_URL``
overrides the default.
"""

from __future__ import annotations

import os

from invoiceflow.store.database import ConstraintViolation, Database, Transaction

__all__ = [
    "DEFAULT_URL",
    "ConstraintViolation",
    "Database",
    "Transaction",
    "database_url",
    "open_database",
]

DEFAULT_URL = "sqlite:///invoiceflow.db"


def database_url(url: str | None = None) -> str:
    return url or os.environ.get("INVOICEFLOW_DATABASE_URL") or DEFAULT_URL


def open_database(url: str | None = None, *, migrate: bool = True) -> Database:
    """Open (and by default migrate) the database named by ``url``."""
    url = database_url(url)
    if url.startswith("sqlite://"):
        from invoiceflow.store.sqlite import SQLiteDatabase

        path = url[len("sqlite://") :]
        if path.startswith("/"):
            path = path[1:]
        db: Database = SQLiteDatabase(path or ":memory:")
    else:
        scheme = url.split(":", 1)[0]
        raise ValueError(f"unsupported database URL scheme {scheme!r}: use sqlite:///FILE")
    if migrate:
        db.migrate()
    return db
