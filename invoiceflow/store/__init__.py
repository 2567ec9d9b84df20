"""Storage: one schema, several backends, chosen by a database URL.

``sqlite:///path/to/file.db`` (the default, ``sqlite:///invoiceflow.db``) or ``sqlite://``
with nothing after it (or ``sqlite:///:memory:``) for a private in-memory database.
A relative path is taken from the current folder; the file's folder must exist already
(none is created, so that a typo does not quietly start an empty database somewhere else).
``postgresql://USER:PASSWORD@HOST:PORT/NAME`` (or ``postgres://``, with libpq's query
parameters) names a PostgreSQL database that many processes on many machines share; it
must exist, and is migrated when opened. ``INVOICEFLOW_DATABASE_URL`` overrides the default.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from invoiceflow.store.database import (
    ConstraintViolation,
    Database,
    Savepoint,
    Transaction,
    ValueRefused,
)
from invoiceflow.store.wakeups import Wakeup

__all__ = [
    "DEFAULT_URL",
    "SUPPORTED_URLS",
    "ConstraintViolation",
    "Database",
    "DatabaseURLError",
    "Savepoint",
    "Transaction",
    "ValueRefused",
    "Wakeup",
    "database_location",
    "database_path",
    "database_url",
    "open_database",
    "scratch_database",
]

DEFAULT_URL = "sqlite:///invoiceflow.db"


SUPPORTED_URLS = (
    "sqlite:///PATH (a file), sqlite:// (in memory) and postgresql://USER@HOST:PORT/NAME"
)
POSTGRES_SCHEMES = ("postgresql://", "postgres://")
CONNECT_TIMEOUT = 10  # seconds to reach a PostgreSQL server before saying it cannot be
MEMORY = ":memory:"


class DatabaseURLError(ValueError):
    """A database URL that names no database we can open; its message is one sentence."""


def database_url(url: str | None = None) -> str:
    return url or os.environ.get("INVOICEFLOW_DATABASE_URL") or DEFAULT_URL


def database_location(url: str | None = None) -> str:
    """Where the database ``url`` names is, for people to read: a SQLite file's absolute
    path, ``:memory:``, or a PostgreSQL URL without its password; ``DatabaseURLError`` for a
    URL we cannot open."""
    url = database_url(url)
    if url.startswith(POSTGRES_SCHEMES):
        return _without_password(url)
    return database_path(url)


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def database_path(url: str | None = None) -> str:
    """The absolute path of the SQLite file ``url`` names, or ``:memory:``; raises
    ``DatabaseURLError`` for a URL we cannot open (an unsupported scheme, no path, a folder
    that does not exist)."""
    url = database_url(url)
    if not url.startswith("sqlite://"):
        scheme = url.split("://", 1)[0] if "://" in url else url
        raise DatabaseURLError(
            f"unsupported database URL {scheme + '://' if '://' in url else repr(url)}: "
            f"the supported ones are {SUPPORTED_URLS}"
        )
    rest = url[len("sqlite://") :]
    if rest == "" or rest == "/" + MEMORY:
        return MEMORY
    if not rest.startswith("/"):
        raise DatabaseURLError(f"database URL {url!r} has no path: use {SUPPORTED_URLS}")
    path = rest[1:]
    if path == "":
        raise DatabaseURLError(
            f"database URL {url!r} names no file: use sqlite:///PATH, e.g. sqlite:///invoiceflow.db"
        )
    absolute = Path(os.path.abspath(path))
    if absolute.is_dir():
        raise DatabaseURLError(f"database URL {url!r} names a folder, not a file: {absolute}")
    if not absolute.parent.is_dir():
        raise DatabaseURLError(f"database URL {url!r}: the folder {absolute.parent} does not exist")
    return str(absolute)


def open_database(url: str | None = None, *, migrate: bool = True) -> Database:
    """Open (and by default migrate) the database named by ``url``; ``DatabaseURLError``
    if it names none we can open, a PostgreSQL server that cannot be reached included."""
    url = database_url(url)
    db: Database
    if url.startswith(POSTGRES_SCHEMES):
        db = _open_postgres(url)
    else:
        from invoiceflow.store.sqlite import SQLiteDatabase

        db = SQLiteDatabase(database_path(url))
    if migrate:
        db.migrate()
    return db


def scratch_database(folder: Path) -> Database:
    """A migrated database in ``folder`` for one run whose results nobody needs after a
    crash (a test's): SQLite that never waits for the disk."""
    from invoiceflow.store.sqlite import SQLiteDatabase

    db = SQLiteDatabase(str(folder / "run.db"), synchronous="OFF")
    db.migrate()
    return db


def _open_postgres(url: str) -> Database:
    """The pool retries a server it cannot reach until a transaction gives up; one direct
    connection first says at once, in the server's words, why it cannot be reached."""
    import psycopg

    from invoiceflow.store.postgres import PostgresDatabase

    try:
        psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT).close()
    except psycopg.Error as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise DatabaseURLError(f"cannot reach {_without_password(url)}: {reason}") from None
    return PostgresDatabase(url)
