"""The embedded backend: one SQLite file in WAL mode, one connection per thread.

Write transactions start with BEGIN IMMEDIATE so two writers never deadlock on a lock
upgrade; ``synchronous=FULL`` because a commit here is what every acknowledgement promises.
A process's threads write through one connection and share commits (see group_commit);
processes take turns through a writer lock, the file FILE-writer beside the database; reads
use a connection per thread and never wait for writers (WAL).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from functools import partial
from pathlib import Path

from invoiceflow.store.database import ConstraintViolation, Database, Params, Row, Transaction
from invoiceflow.store.group_commit import GroupCommit
from invoiceflow.store.wakeups import Switchboard

WATCH = 0.005  # seconds between looks for other processes' commits, once anyone has listened


class SQLiteTransaction(Transaction):
    def __init__(self, db: Database, conn: sqlite3.Connection) -> None:
        super().__init__(db)
        self.conn = conn

    # Plain try/except rather than a shared context manager: these run tens of thousands of
    # times a second, and a generator-based context manager costs more than the statement.
    def execute_raw(self, sql: str, params: Params = ()) -> int:
        try:
            return self.conn.execute(sql, params).rowcount
        except sqlite3.IntegrityError as exc:
            raise ConstraintViolation(str(exc)) from exc

    def executemany_raw(self, sql: str, rows: Iterable[Params]) -> None:
        try:
            self.conn.executemany(sql, rows)
        except sqlite3.IntegrityError as exc:
            raise ConstraintViolation(str(exc)) from exc

    def fetch_raw(self, sql: str, params: Params = ()) -> list[Row]:
        try:
            return self.conn.execute(sql, params).fetchall()
        except sqlite3.IntegrityError as exc:
            raise ConstraintViolation(str(exc)) from exc


class SQLiteDatabase(Database):
    dialect = "sqlite"
    transient_errors = (sqlite3.OperationalError,)

    def __init__(self, path: str, *, synchronous: str = "FULL") -> None:
        self.path = path
        self.synchronous = synchronous
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.switchboard = Switchboard()
        self._watcher: threading.Thread | None = None
        self._closing = threading.Event()
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._memory_lock = threading.RLock()
        # Commits that need not survive a power cut skip the flush; the next flushing commit
        # on the same file carries them to disk too.
        unflushed = "NORMAL" if synchronous == "FULL" else synchronous
        self._writes = GroupCommit(
            self._open,
            partial(SQLiteTransaction, self),
            flushed=synchronous,
            unflushed=unflushed,
            lock_path=None if path == ":memory:" else f"{path}-writer",
            settled=self.settled,
        )

    def _connection(self) -> sqlite3.Connection:
        if self.path == ":memory:":
            # One private database: every thread shares the one connection, one
            # transaction at a time (see ``transaction``).
            if not self._all:
                self._all.append(self._open())
            return self._all[0]
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._open()
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=30.0
        )
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={self.synchronous}")
        conn.execute("PRAGMA busy_timeout=30000")
        conn.execute("PRAGMA cache_size=-65536")
        return conn

    def transaction(
        self, *, write: bool = True, durable: bool = True
    ) -> AbstractContextManager[Transaction]:
        if write and self.path != ":memory:":
            return self._writes.transaction(durable=durable)
        return self._reading(write)

    @contextmanager
    def _reading(self, write: bool) -> Iterator[Transaction]:
        """A read transaction on this thread's connection, or any transaction on a private
        in-memory database (one at a time)."""
        shared = self.path == ":memory:"
        if shared:
            self._memory_lock.acquire()
        try:
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            tx = SQLiteTransaction(self, conn)
            try:
                yield tx
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            self.settled(tx, True)
        finally:
            if shared:
                self._memory_lock.release()

    def hear_others(self) -> None:
        """Other processes on the file cannot signal this one: a thread asks SQLite every
        ``WATCH`` seconds whether anyone else has committed (``PRAGMA data_version``, a
        read of the shared WAL index, no transaction) and wakes every listener when so."""
        if self.path == ":memory:" or self._watcher is not None:
            return
        with self._lock:
            if self._watcher is None:
                # The first reading is taken before ``listen`` returns: a commit made
                # after it, before the thread first runs, must count as new.
                conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
                try:
                    seen = conn.execute("PRAGMA data_version").fetchone()[0]
                except sqlite3.Error:  # no database there (yet): the next listen tries again
                    conn.close()
                    return
                self._watcher = threading.Thread(
                    target=self._watch,
                    args=(conn, seen),
                    name="invoiceflow-sqlite-watch",
                    daemon=True,
                )
                self._watcher.start()

    def _watch(self, conn: sqlite3.Connection, seen: int) -> None:
        try:
            while not self._closing.wait(WATCH):
                version = conn.execute("PRAGMA data_version").fetchone()[0]
                if version != seen:
                    seen = version
                    self.switchboard.deliver_all()
        except sqlite3.Error:  # the file went away under us: listeners fall back on timeouts
            return
        finally:
            conn.close()

    def files_beside(self) -> Path | None:
        if self.path == ":memory:":
            return None
        path = Path(self.path)
        return path.parent / f"{path.stem}-files"

    @property
    def commits(self) -> int:
        """Physical write commits so far: fewer than write transactions when they group."""
        return self._writes.commits

    def close(self) -> None:
        self._closing.set()
        if self._watcher is not None:
            self._watcher.join()
        self._writes.close()
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()
