"""The shared backend: PostgreSQL through psycopg 3, for many workers on many machines.

Each transaction borrows a connection from a pool and runs between an explicit BEGIN and
COMMIT: ``write=False`` opens a READ ONLY transaction, ``durable=False`` sets
``synchronous_commit = off`` for that transaction alone. Isolation is PostgreSQL's default,
READ COMMITTED; the queries that claim work (executions, tasks, messages, slots) are
overridden under ``sql/postgres/`` to lock what they take with ``FOR UPDATE SKIP LOCKED``,
so that two workers never take the same row and never wait for each other.

Our shared SQL is written for SQLite's qmark style. Each query text is translated once
(and cached) into psycopg's: ``?`` becomes ``%s``, a literal ``%`` becomes ``%%``, and
``? IS NULL`` becomes ``CAST(%s AS TEXT) IS NULL`` (PostgreSQL cannot tell a parameter's
type from ``IS NULL`` alone). Overrides may number their parameters as SQLite allows,
``?1``, ``?2``..., to use them in another order or more than once, and may hold several
statements separated by ``;``: they run in order with the same parameters (a lock first,
then the query that needs it held), and the last one gives the rows.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import psycopg
from psycopg import errors
from psycopg_pool import ConnectionPool

from invoiceflow.store.database import ConstraintViolation, Database, Row, Transaction

__all__ = ["PostgresDatabase", "PostgresTransaction", "translate"]

# The advisory lock every migrating process takes, so that one at a time migrates: any
# 64-bit number that nothing else in the database uses for its own advisory locks.
MIGRATION_LOCK = 0x1F_0F10_5C4E_4D41

_BEGIN = {
    (True, True): "BEGIN",
    (True, False): "BEGIN; SET LOCAL synchronous_commit = off",
    (False, True): "BEGIN READ ONLY",
    (False, False): "BEGIN READ ONLY",
}

# What the translation looks at: literals and comments (copied, with % doubled), numbered
# or plain placeholders, % signs and statement ends. Everything else is copied as it is.
_TOKEN = re.compile(
    r"""'(?:[^']|'')*'|"(?:[^"]|"")*"|--[^\n]*|/\*.*?\*/|\?(\d*)|%|;""",
    re.DOTALL,
)
_IS_NULL = re.compile(r"\s+IS\s+(?:NOT\s+)?NULL\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Statement:
    """One statement in psycopg's style; ``order`` names the parameter each placeholder
    takes, by index (None: each takes the next one, as they come)."""

    text: str
    order: tuple[int, ...] | None

    def arguments(self, params: Sequence[Any]) -> Sequence[Any]:
        return params if self.order is None else [params[i] for i in self.order]


@lru_cache(maxsize=4096)
def translate(sql: str) -> tuple[Statement, ...]:
    """The statements of ``sql`` (qmark style, SQLite's numbered ``?N`` allowed) in
    psycopg's format style; an empty statement is dropped."""
    statements: list[Statement] = []
    out: list[str] = []
    order: list[int] = []
    highest = 0  # as in SQLite: a plain ? takes the parameter after the highest so far
    numbered = False

    def finish() -> None:
        text = "".join(out).strip()
        if text:
            in_sequence = not numbered and order == list(range(len(order)))
            statements.append(Statement(text, None if in_sequence else tuple(order)))
        out.clear()
        order.clear()

    pos = 0
    for match in _TOKEN.finditer(sql):
        out.append(sql[pos : match.start()])
        pos = match.end()
        token = match.group(0)
        if token == ";":
            finish()
            continue
        if token == "%":
            out.append("%%")
            continue
        if token[0] != "?":  # a literal, a quoted name or a comment
            out.append(token.replace("%", "%%"))
            continue
        number = match.group(1)
        if number:
            index = int(number)
            if index < 1:
                raise ValueError(f"parameter ?{number} does not exist: they count from ?1")
            numbered = True
        else:
            index = highest + 1
        highest = max(highest, index)
        order.append(index - 1)
        if _IS_NULL.match(sql, pos):
            out.append("CAST(%s AS TEXT)")
        else:
            out.append("%s")
    out.append(sql[pos:])
    finish()
    return tuple(statements)


class PostgresTransaction(Transaction):
    def __init__(self, db: Database, conn: psycopg.Connection[Any]) -> None:
        super().__init__(db)
        self.conn = conn
        self.cursor = conn.cursor()

    def _run(self, sql: str, params: Sequence[Any]) -> psycopg.Cursor[Any]:
        cursor = self.cursor
        try:
            for statement in translate(sql):
                cursor.execute(statement.text, statement.arguments(params))
        except errors.IntegrityError as exc:
            raise ConstraintViolation(str(exc)) from exc
        return cursor

    def execute_raw(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self._run(sql, params).rowcount

    def executemany_raw(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        statements = translate(sql)
        try:
            if len(statements) == 1:
                [statement] = statements
                batch = [statement.arguments(row) for row in rows]
                if batch:
                    self.cursor.executemany(statement.text, batch)
                return
        except errors.IntegrityError as exc:
            raise ConstraintViolation(str(exc)) from exc
        for row in rows:
            self._run(sql, row)

    def fetch_raw(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        cursor = self._run(sql, params)
        if cursor.description is None:  # a statement that returns no rows
            return []
        return cursor.fetchall()


class PostgresDatabase(Database):
    """A PostgreSQL database named by a libpq URL (``postgresql://user@host:port/name``);
    up to ``max_size`` connections are open at once, shared by the process's threads."""

    dialect = "postgres"
    transient_errors = (psycopg.OperationalError,)

    def __init__(
        self, url: str, *, min_size: int = 1, max_size: int = 16, timeout: float = 30.0
    ) -> None:
        self.url = url
        self.max_size = max_size
        self._writing = threading.local()
        self._pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
            url,
            min_size=min_size,
            max_size=max_size,
            timeout=timeout,
            kwargs={"autocommit": True},
            open=True,
            name="invoiceflow",
        )

    def transaction(
        self, *, write: bool = True, durable: bool = True
    ) -> AbstractContextManager[Transaction]:
        return self._transaction(_BEGIN[write, durable], write)

    @contextmanager
    def _transaction(self, begin: str, write: bool) -> Iterator[Transaction]:
        if write:
            # As on SQLite: a thread's second write transaction inside its first could wait
            # for a row lock the first holds, and the first cannot go on until it ends.
            if getattr(self._writing, "active", False):
                raise RuntimeError("a write transaction is already open in this thread")
            self._writing.active = True
        try:
            with self._borrowed(begin) as conn:
                yield PostgresTransaction(self, conn)
        finally:
            if write:
                self._writing.active = False

    @contextmanager
    def _borrowed(self, begin: str) -> Iterator[psycopg.Connection[Any]]:
        conn = self._begin(begin)
        try:
            try:
                yield conn
            except BaseException:
                # A lost connection cannot roll back, and need not: the server has already
                # thrown the transaction away, and the pool drops the connection.
                with contextlib.suppress(psycopg.Error):
                    conn.execute("ROLLBACK")
                raise
            try:
                conn.execute("COMMIT")
            except errors.IntegrityError as exc:  # a deferred constraint
                raise ConstraintViolation(str(exc)) from exc
        finally:
            self._pool.putconn(conn)

    def _begin(self, begin: str) -> psycopg.Connection[Any]:
        """A pooled connection with ``begin`` run on it. Connections the server closed
        while they sat in the pool (a restart, an idle timeout) fail here, before anything
        was done: each is dropped and the next one tried, so that only a server that is
        down right now fails the transaction."""
        for _ in range(self.max_size + 1):
            conn = self._pool.getconn()
            try:
                conn.execute(begin)
                return conn
            except psycopg.OperationalError:
                self._pool.putconn(conn)  # a broken connection is dropped, not kept
                if not conn.broken:
                    raise
        raise psycopg.OperationalError("no connection to the database could begin a transaction")

    def migrate(self, until: int | None = None) -> None:
        """As every backend migrates, while holding an advisory lock on a connection of its
        own: processes that start together migrate one after the other, and the later ones
        find the work done. The lock goes with the connection, however this ends."""
        with psycopg.connect(self.url, autocommit=True) as lock:
            lock.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
            super().migrate(until)

    def close(self) -> None:
        self._pool.close()
