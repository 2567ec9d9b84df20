"""The shared backend: PostgreSQL through psycopg 3, for many workers on many machines.

Each transaction borrows a connection from a pool and runs between an explicit BEGIN and
COMMIT: ``write=False`` opens a READ ONLY transaction, ``durable=False`` sets
``synchronous_commit = off`` for that transaction alone. Isolation is PostgreSQL's default,
READ COMMITTED; the queries that claim work (executions, tasks, messages, slots) are
overridden under ``sql/postgres/`` to lock what they take with ``FOR UPDATE SKIP LOCKED``,
so that two workers never take the same row and never wait for each other.

Our shared SQL is written in SQLite's styles, ``?`` by position or ``:name`` by name. Each
query text is translated once (and cached) into psycopg's: ``?`` becomes ``%s``, ``:name``
becomes ``%s`` taking that name's value, a literal ``%`` becomes ``%%``, and ``? IS NULL``
becomes ``CAST(%s AS TEXT) IS NULL`` (PostgreSQL cannot tell a parameter's type from
``IS NULL`` alone). PostgreSQL's ``::`` casts stay as they are. Overrides may number
their parameters as SQLite allows, ``?1``, ``?2``..., to use them in another order or
more than once, and may hold several statements separated by ``;``: they run in order
with the same parameters (a lock first, then the query that needs it held), and the last
one gives the rows.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import psycopg
from psycopg import errors, sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg_pool import ConnectionPool, PoolClosed, PoolTimeout

from invoiceflow.store.database import (
    ConstraintViolation,
    Database,
    Params,
    Row,
    Transaction,
    ValueRefused,
)
from invoiceflow.store.wakeups import Switchboard, split_channel

__all__ = ["PostgresDatabase", "PostgresTransaction", "translate"]

# The advisory lock every migrating process takes, so that one at a time migrates: any
# 64-bit number that nothing else in the database uses for its own advisory locks.
MIGRATION_LOCK = 0x1F_0F10_5C4E_4D41

# TCP settings for connections whose URL sets none: a server that vanished without closing
# the connection (a cut link, a host powered off) is noticed in about 20 s, not hours.
_TCP_DEFAULTS = {
    "keepalives": "1",
    "keepalives_idle": "10",
    "keepalives_interval": "3",
    "keepalives_count": "3",
    "tcp_user_timeout": "20000",
}
# The server's end of each pooled connection gets the same settings (any role may set them
# for its own session). Without them a host that vanishes in the middle of a transaction
# leaves it open on the server, its row locks held and the work they cover skipped by every
# other worker, until the server's TCP gives up: some 15 minutes when a reply was left
# unacknowledged, two hours when the server was waiting for the host's next statement.
_SERVER_TCP = {
    "keepalives_idle": "tcp_keepalives_idle",
    "keepalives_interval": "tcp_keepalives_interval",
    "keepalives_count": "tcp_keepalives_count",
    "tcp_user_timeout": "tcp_user_timeout",
}
# Seconds a transaction waits for a pooled connection before it asks the server itself
# whether it can be reached (when not every connection is in use by our own threads).
PROBE_AFTER = 1.0
# What a server at its connection limit answers (libpq gives a refused connection no
# SQLSTATE): max_connections, the slots kept for superusers, a role's CONNECTION LIMIT.
_FULL = ("too many clients", "too many connections", "connection slots are reserved")
PROBE_TIMEOUT = 5  # seconds that question may take (libpq's connect_timeout)
LISTEN_TICK = 0.25  # seconds the listener waits for notifications before it looks for new words
# Notifications go to channels named after the schema, so that databases sharing one server
# database under different schemas (tests, several installations) wake only their own.
_SCHEMA_WORD = (
    "CASE WHEN length(current_schema()) <= 40 THEN current_schema()"
    " ELSE md5(current_schema()) END || '.'"
)
_PREFIX = f"SELECT {_SCHEMA_WORD}"
_NOTIFY = (
    f"SELECT pg_notify({_SCHEMA_WORD} || n.word, n.key)"
    " FROM unnest(%s::text[], %s::text[]) AS n(word, key)"
)

_BEGIN = {
    (True, True): "BEGIN",
    (True, False): "BEGIN; SET LOCAL synchronous_commit = off",
    (False, True): "BEGIN READ ONLY",
    (False, False): "BEGIN READ ONLY",
}

# What the translation looks at: literals and comments (copied, with % doubled), numbered
# or plain placeholders, % signs and statement ends. Everything else is copied as it is.
_TOKEN = re.compile(
    r"""'(?:[^']|'')*'|"(?:[^"]|"")*"|--[^\n]*|/\*.*?\*/|\?(\d*)|::|:([A-Za-z_]\w*)|%|;""",
    re.DOTALL,
)
_IS_NULL = re.compile(r"\s+IS\s+(?:NOT\s+)?NULL\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Statement:
    """One statement in psycopg's style; ``order`` names the parameter each placeholder
    takes, by index (None: each takes the next one, as they come), or ``names`` by name."""

    text: str
    order: tuple[int, ...] | None
    names: tuple[str, ...] = ()

    def arguments(self, params: Params) -> Sequence[Any]:
        if isinstance(params, Mapping):
            return [params[name] for name in self.names]
        if self.names:
            raise TypeError("a query with :name parameters takes a mapping")
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
    names: list[str] = []

    def finish() -> None:
        text = "".join(out).strip()
        if text:
            in_sequence = not numbered and order == list(range(len(order)))
            statements.append(Statement(text, None if in_sequence else tuple(order), tuple(names)))
        out.clear()
        order.clear()
        names.clear()

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
        if token[0] == ":" and token != "::":
            if order:
                raise ValueError(f"{token} among ? parameters: a query uses one style")
            # Each use becomes a parameter of its own, as a ? would: one shared by all
            # uses would take its type from the first (the cast before IS NULL).
            names.append(match.group(2))
            out.append("CAST(%s AS TEXT)" if _IS_NULL.match(sql, pos) else "%s")
            continue
        if token[0] != "?":  # a literal, a quoted name, a comment or a cast
            out.append(token.replace("%", "%%"))
            continue
        if names:
            raise ValueError(f"{token} among :name parameters: a query uses one style")
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


@contextmanager
def _refusals() -> Iterator[None]:
    """psycopg's errors for values the schema or the server refuses, as the contract's."""
    try:
        yield
    except errors.IntegrityError as exc:
        raise ConstraintViolation(str(exc)) from exc
    except psycopg.DataError as exc:
        if "NUL (0x00)" in str(exc):  # refused by psycopg before anything was sent
            raise ValueRefused("text may not hold NUL (U+0000) characters") from exc
        raise


def _server_full(exc: psycopg.OperationalError) -> bool:
    return any(words in str(exc) for words in _FULL)


class PostgresTransaction(Transaction):
    def __init__(self, db: Database, conn: psycopg.Connection[Any]) -> None:
        super().__init__(db)
        self.conn = conn
        self.cursor = conn.cursor()

    def _run(self, sql: str, params: Params) -> psycopg.Cursor[Any]:
        cursor = self.cursor
        with _refusals():
            for statement in translate(sql):
                cursor.execute(statement.text, statement.arguments(params))
        return cursor

    def execute_raw(self, sql: str, params: Params = ()) -> int:
        return self._run(sql, params).rowcount

    def executemany_raw(self, sql: str, rows: Iterable[Params]) -> None:
        statements = translate(sql)
        if len(statements) == 1:
            [statement] = statements
            batch = [statement.arguments(row) for row in rows]
            if batch:
                with _refusals():
                    self.cursor.executemany(statement.text, batch)
            return
        for row in rows:
            self._run(sql, row)

    def fetch_raw(self, sql: str, params: Params = ()) -> list[Row]:
        cursor = self._run(sql, params)
        if cursor.description is None:  # a statement that returns no rows
            return []
        return cursor.fetchall()


class PostgresDatabase(Database):
    """A PostgreSQL database named by a libpq URL (``postgresql://user@host:port/name``);
    up to ``max_size`` connections are open at once, shared by the process's threads."""

    dialect = "postgres"
    concurrent_writers = True
    transient_errors = (psycopg.OperationalError,)

    def __init__(
        self, url: str, *, min_size: int = 1, max_size: int = 16, timeout: float = 30.0
    ) -> None:
        self.url = with_tcp_defaults(url)
        self.max_size = max_size
        self.timeout = timeout
        self._in_use = 0  # pooled connections our threads hold now
        self._in_use_lock = threading.Lock()
        self.switchboard = Switchboard()
        self._writing = threading.local()
        self._closing = threading.Event()
        self._listener: threading.Thread | None = None
        self._listener_lock = threading.Lock()
        # Signs the payload of what this database notifies: the listener skips its own,
        # which was delivered here at commit.
        self._sender = uuid.uuid4().hex[:12]
        self._min_size = min_size
        self._pool_lock = threading.Lock()
        self._pool = self._new_pool()

    def _new_pool(self) -> ConnectionPool[psycopg.Connection[Any]]:
        return ConnectionPool(
            self.url,
            min_size=self._min_size,
            max_size=self.max_size,
            timeout=self.timeout,
            kwargs={"autocommit": True},
            configure=self._configure,
            open=True,
            name="invoiceflow",
        )

    def _configure(self, conn: psycopg.Connection[Any]) -> None:
        """Give the server's end of a new pooled connection our TCP settings."""
        settings = server_tcp(self.url)
        if settings:
            calls = ", ".join(["set_config(%s, %s, false)"] * len(settings))
            conn.execute(f"SELECT {calls}", [x for pair in settings for x in pair])

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
            pool, conn = self._begin(begin)
            tx = PostgresTransaction(self, conn)
            try:
                try:
                    yield tx
                    tx.run_deferred()
                    if tx.notes:  # sent by the server when (and only if) COMMIT succeeds
                        words, keys = zip(*map(split_channel, tx.notes), strict=True)
                        signed = [f"{self._sender}/{key}" for key in keys]
                        conn.execute(_NOTIFY, (list(words), signed))
                except BaseException:
                    # A lost connection cannot roll back, and need not: the server has
                    # already thrown the transaction away, and the pool drops the connection.
                    with contextlib.suppress(psycopg.Error):
                        conn.execute("ROLLBACK")
                    self.settled(tx, False)
                    raise
                try:
                    conn.execute("COMMIT")
                except errors.IntegrityError as exc:  # a deferred constraint
                    self.settled(tx, False)
                    raise ConstraintViolation(str(exc)) from exc
                except psycopg.Error:
                    # Lost on the way: it may have committed, and a notification too many
                    # costs only a look.
                    self.settled(tx, True)
                    raise
                self.settled(tx, True)
            finally:
                self._putconn(pool, conn)
        finally:
            if write:
                self._writing.active = False

    def _begin(
        self, begin: str
    ) -> tuple[ConnectionPool[psycopg.Connection[Any]], psycopg.Connection[Any]]:
        """A pooled connection with ``begin`` run on it, and the pool it goes back to.
        Connections the server closed while they sat in the pool (a restart, an idle
        timeout) fail here, before anything was done: each is dropped and the next one
        tried, so that only a server that is down right now fails the transaction."""
        for _ in range(self.max_size + 1):
            pool, conn = self._getconn()
            try:
                conn.execute(begin)
                return pool, conn
            except psycopg.OperationalError:
                self._putconn(pool, conn)  # a broken connection is dropped, not kept
                if not conn.broken:
                    raise
        raise psycopg.OperationalError("no connection to the database could begin a transaction")

    def _getconn(
        self,
    ) -> tuple[ConnectionPool[psycopg.Connection[Any]], psycopg.Connection[Any]]:
        """A pooled connection and its pool. While our own threads hold every connection,
        wait for one to come back, up to ``timeout``. Otherwise the pool is waiting for the
        server, and after ``PROBE_AFTER`` we ask the server ourselves:

        - it cannot be reached: its ``OperationalError`` is the transaction's, now, not a
          ``PoolTimeout`` after ``timeout`` (a worker's pass fails and is retried on the
          worker's schedule, a request gets its answer, a stop is not held up);
        - it answers: the server is back but the pool, which tries to reconnect with pauses
          that double each time (1, 2, 4, 8... s), may not try again for as long as the
          outage lasted. It is replaced by a new pool, which connects at once;
          connections still out from the old one are closed when they come back.
        """
        deadline = time.monotonic() + self.timeout
        while True:
            pool = self._pool
            left = deadline - time.monotonic()
            try:
                conn = pool.getconn(timeout=max(0.0, min(PROBE_AFTER, left)))
            except PoolClosed:
                if pool is not self._pool:  # replaced meanwhile: use the new one
                    continue
                raise
            except PoolTimeout:
                if left <= PROBE_AFTER:
                    raise
                if self._in_use < self.max_size:
                    try:
                        psycopg.connect(self.url, connect_timeout=PROBE_TIMEOUT).close()
                    except psycopg.OperationalError as exc:
                        if not _server_full(exc):
                            raise
                        continue  # up but full: wait for a connection, as the pool does
                    self._replace_pool(pool)
                continue
            with self._in_use_lock:
                self._in_use += 1
            return pool, conn

    def _replace_pool(self, stale: ConnectionPool[psycopg.Connection[Any]]) -> None:
        """A new pool for ``stale``, if its tries to connect have failed (it is then pausing
        between tries): one that is only slow to grow, under load, is kept, its
        connections with it. Another thread may have replaced it already."""
        if not stale.pop_stats().get("connections_errors"):  # failures since the last look
            return
        with self._pool_lock:
            if self._pool is not stale or self._closing.is_set():
                return
            self._pool = self._new_pool()
        stale.close(timeout=1.0)

    def _putconn(
        self, pool: ConnectionPool[psycopg.Connection[Any]], conn: psycopg.Connection[Any]
    ) -> None:
        with self._in_use_lock:
            self._in_use -= 1
        pool.putconn(conn)

    # -- notifications from other processes ------------------------------------------------
    def hear_others(self) -> None:
        """One connection per process LISTENs to the words its waiters listen to, in a
        thread of its own; it is started by the first ``listen``."""
        if self._listener is not None:
            return
        with self._listener_lock:
            if self._listener is None and not self._closing.is_set():
                self._listener = threading.Thread(
                    target=self._hear, name="invoiceflow-postgres-listen", daemon=True
                )
                self._listener.start()

    def _hear(self) -> None:
        """LISTEN, and deliver what is heard, until closed. Whenever the connection is
        new (the first, or after a failure) every waiter is woken once: what was notified
        while nobody listened must not wait for a timeout."""
        pause = 0.05
        while not self._closing.is_set():
            try:
                with psycopg.connect(self.url, autocommit=True, connect_timeout=10) as conn:
                    pause = 0.05
                    self._listen_on(conn)
            except Exception:  # the thread must outlive any failure: waiters rely on it
                self._closing.wait(pause)
                pause = min(pause * 2, 2.0)
            self.switchboard.deliver_all()

    def _listen_on(self, conn: psycopg.Connection[Any]) -> None:
        row = conn.execute(_PREFIX).fetchone()
        assert row is not None
        prefix: str = row[0]
        heard: set[str] = set()
        while not self._closing.is_set():
            new = self.switchboard.words() - heard
            for word in sorted(new):
                conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(prefix + word)))
                heard.add(word)
            if new:  # anything notified before LISTEN took effect is looked for now
                self.switchboard.deliver(new)
            for note in conn.notifies(timeout=LISTEN_TICK):
                sender, _, key = note.payload.partition("/")
                if sender == self._sender or not note.channel.startswith(prefix):
                    continue
                word = note.channel[len(prefix) :]
                self.switchboard.deliver((f"{word}/{key}" if key else word,))

    def migrate(self, until: int | None = None) -> None:
        """As every backend migrates, while holding an advisory lock on a connection of its
        own: processes that start together migrate one after the other, and the later ones
        find the work done. The lock goes with the connection, however this ends."""
        with psycopg.connect(self.url, autocommit=True) as lock:
            lock.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
            super().migrate(until)

    def close(self) -> None:
        self._closing.set()
        if self._listener is not None:
            self._listener.join(LISTEN_TICK * 4)  # a daemon: one stuck connecting is left
        with self._pool_lock:
            self._pool.close()


def with_tcp_defaults(url: str) -> str:
    """``url`` with ``_TCP_DEFAULTS`` added where it sets none of its own."""
    params = conninfo_to_dict(url)
    missing = {k: v for k, v in _TCP_DEFAULTS.items() if k not in params}
    return make_conninfo(url, **missing) if missing else url


def server_tcp(url: str) -> list[tuple[str, str]]:
    """The server's settings that match the TCP settings of a connection to ``url``."""
    params = conninfo_to_dict(url)
    keepalives = params.get("keepalives", "1") != "0"
    return [
        (setting, str(params[ours]))
        for ours, setting in _SERVER_TCP.items()
        if ours in params and (keepalives or ours == "tcp_user_timeout")
    ]
