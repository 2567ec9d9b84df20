"""The database contract every backend fulfils: transactions, named queries, migrations.

SQL lives in ``sql/``: numbered files are migrations (``NNN_name.sql``), the others hold named
queries (``-- name: some_query``). A backend may override a query or a migration with a file
of the same name under ``sql/<dialect>/``; everything else is shared text.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from invoiceflow.store.wakeups import Switchboard, Wakeup

Row = tuple[Any, ...]
Params = Sequence[Any] | Mapping[str, Any]
"""A query's parameters: by position for ``?``, by name for ``:name`` (a mapping)."""
_NAME = re.compile(r"^--\s*name:\s*(\w+)\s*$", re.MULTILINE)
_MIGRATION = re.compile(r"^(\d{3})_\w+\.sql$")


class ConstraintViolation(Exception):
    """A write broke an invariant the schema holds (a unique key, a check): every backend
    raises this one type, so callers need not know which database they talk to."""


class ValueRefused(ValueError):
    """A value the backend cannot store as it is: text holding NUL (U+0000), which
    PostgreSQL refuses. Faces answer it as bad input; nothing was written."""


class Transaction(ABC):
    """One open transaction; it commits when its ``with`` block ends without an exception.

    ``execute``/``executemany``/``fetch`` take the *name* of a query from ``sql/``; the
    ``_raw`` forms take SQL text (for migrations and the few statements built at run time).
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self.notes: set[str] = set()
        self._savepoints = 0  # open now, to name the next one
        self.deferred: list[tuple[int, str, Params]] = []  # see ``later``

    def later(self, key: int, query: str, params: Params = ()) -> None:
        """Run the named ``query`` before this transaction commits, with the others given
        to ``later``, in the order of their ``key``s. For row locks: a transaction that
        updates many rows of a table in the order its work came in (waking the executions
        a batch of answers belongs to) then locks them in the same order as every other,
        and two such transactions cannot deadlock. A backend with one writer at a time
        runs it at once; a savepoint rolled back drops what was deferred inside it."""
        if self.db.concurrent_writers:
            self.deferred.append((key, query, params))
        else:
            self.execute(query, params)

    def run_deferred(self) -> None:
        """What ``later`` deferred, in key order; the backend calls it before COMMIT."""
        deferred, self.deferred = self.deferred, []
        for _key, query, params in sorted(deferred, key=lambda item: item[0]):
            self.execute(query, params)

    def notify(self, channel: str) -> None:
        """Tell the listeners of ``channel`` (see ``wakeups``), once this transaction has
        committed, that it made work due: in this process and, through the backend, in
        every other process on the same database. Nothing is sent if it rolls back."""
        self.notes.add(channel)

    @abstractmethod
    def execute_raw(self, sql: str, params: Params = ()) -> int:
        """Run SQL; returns the number of rows it changed."""

    @abstractmethod
    def executemany_raw(self, sql: str, rows: Iterable[Params]) -> None: ...

    @abstractmethod
    def fetch_raw(self, sql: str, params: Params = ()) -> list[Row]: ...

    @contextmanager
    def savepoint(self) -> Iterator[Savepoint]:
        """A part of this transaction that is undone alone: when its block raises (the
        exception goes on), or when ``rollback`` is called on it. Savepoints nest."""
        name = f"part{self._savepoints}"
        self.execute_raw(f"SAVEPOINT {name}")
        self._savepoints += 1
        part = Savepoint(self, name)
        try:
            yield part
        except BaseException:
            part.rollback()
            self.execute_raw(f"RELEASE SAVEPOINT {name}")
            raise
        else:
            self.execute_raw(f"RELEASE SAVEPOINT {name}")
        finally:
            self._savepoints -= 1

    def execute(self, query: str, params: Params = ()) -> int:
        return self.execute_raw(self.db.sql(query), params)

    def executemany(self, query: str, rows: Iterable[Params]) -> None:
        self.executemany_raw(self.db.sql(query), rows)

    def fetch(self, query: str, params: Params = ()) -> list[Row]:
        return self.fetch_raw(self.db.sql(query), params)

    def fetchone(self, query: str, params: Params = ()) -> Row | None:
        rows = self.fetch(query, params)
        return rows[0] if rows else None


class Savepoint:
    __slots__ = ("_deferred", "_name", "_tx")

    def __init__(self, tx: Transaction, name: str) -> None:
        self._tx = tx
        self._name = name
        self._deferred = len(tx.deferred)

    def rollback(self) -> None:
        """Undo what was written since the savepoint began; it stays open."""
        self._tx.execute_raw(f"ROLLBACK TO SAVEPOINT {self._name}")
        del self._tx.deferred[self._deferred :]


class Database(ABC):
    dialect: str
    switchboard: Switchboard
    concurrent_writers = False
    """Whether write transactions run side by side, and so can deadlock over row locks."""
    transient_errors: tuple[type[Exception], ...] = ()
    """What this backend raises when the store itself fails (unreachable, locked past its
    timeout, out of disk), as opposed to a statement it refuses: work that meets one is
    tried again later rather than failed."""

    @abstractmethod
    def transaction(
        self, *, write: bool = True, durable: bool = True
    ) -> AbstractContextManager[Transaction]:
        """A transaction; ``write=False`` promises not to write, so backends may skip locks.

        ``durable=False`` says that losing this commit in a power cut (not in a process
        crash: it is committed) would be harmless, because what it records is redone or
        repeated anyway; backends may then skip the flush to disk (SQLite's
        synchronous=NORMAL, PostgreSQL's synchronous_commit=off). A later durable commit
        flushes it along."""

    @abstractmethod
    def close(self) -> None: ...

    def listen(self, *channels: str) -> Wakeup:
        """A wake-up for the commits that notify any of ``channels``, in any process on
        this database, from now on (see ``wakeups``)."""
        wakeup = self.switchboard.subscribe(channels)
        self.hear_others()
        return wakeup

    @abstractmethod
    def hear_others(self) -> None:
        """Make sure notifications from other processes reach ``switchboard``; a backend
        that can be shared starts its listener here, the first time."""

    def settled(self, tx: Transaction, committed: bool) -> None:
        """Called by the backend when ``tx`` has ended: a commit's notifications go out
        to this process's listeners here."""
        if tx.notes:
            if committed:
                self.switchboard.deliver(tx.notes)
            tx.notes = set()

    def files_beside(self) -> Path | None:
        """A folder beside the database for the files that belong with it (received
        files), when the database is a file; None for a server's or an in-memory one."""
        return None

    def sql(self, name: str) -> str:
        return named_queries(self.dialect)[name]

    def applied(self) -> list[int]:
        """The migrations this database has seen, in order (none for a new one)."""
        with self.transaction(write=False) as tx:
            if not tx.fetch("schema_version_exists"):
                return []
            return [row[0] for row in tx.fetch_raw("SELECT version FROM schema_version ORDER BY 1")]

    def migrate(self, until: int | None = None) -> None:
        """Apply the migrations this database has not seen, each in its own transaction;
        with ``until``, only those up to that version (to upgrade in steps)."""
        with self.transaction() as tx:
            tx.execute_raw(
                "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY)"
            )
            done = {row[0] for row in tx.fetch_raw("SELECT version FROM schema_version")}
        for version, text in migrations(self.dialect):
            if version in done or (until is not None and version > until):
                continue
            with self.transaction() as tx:
                if tx.fetch_raw("SELECT 1 FROM schema_version WHERE version = ?", (version,)):
                    continue  # another process migrated first
                for statement in split_statements(text):
                    tx.execute_raw(statement)
                tx.execute_raw("INSERT INTO schema_version (version) VALUES (?)", (version,))


def _read(path: str, dialect: str) -> str | None:
    base = resources.files("invoiceflow.store") / "sql"
    for candidate in (base / dialect / path, base / path):
        if candidate.is_file():
            return candidate.read_text(encoding="utf-8")
    return None


@cache
def named_queries(dialect: str) -> dict[str, str]:
    base = resources.files("invoiceflow.store") / "sql"
    queries: dict[str, str] = {}
    for folder in (base, base / dialect):
        if not folder.is_dir():
            continue
        for entry in sorted(folder.iterdir(), key=lambda e: e.name):
            if entry.name.endswith(".sql") and not _MIGRATION.match(entry.name):
                queries.update(parse_named(entry.read_text(encoding="utf-8")))
    return queries


def parse_named(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    parts = _NAME.split(text)
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        out[name] = body.strip().rstrip(";")
    return out


def migrations(dialect: str) -> Iterator[tuple[int, str]]:
    base = resources.files("invoiceflow.store") / "sql"
    names = sorted(e.name for e in base.iterdir() if _MIGRATION.match(e.name))
    for name in names:
        text = _read(name, dialect)
        assert text is not None
        yield int(name[:3]), text


def split_statements(text: str) -> list[str]:
    lines = [line for line in text.splitlines() if not line.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
