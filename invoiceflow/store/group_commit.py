"""Group commit: the write transactions of a process's threads share commits.

A commit that promises durability costs an fsync (about 0.2 ms here), far more than the
statements of a typical transaction. Threads that want to write while another is writing
queue up; each runs its block inside the open transaction, under a savepoint of its own, and
the last of the queue commits for all. Every caller returns only after the commit that holds
its writes, so an acknowledgement still means durable; a block that raises is rolled back to
its savepoint alone. A lone writer commits at once, so there is no added latency.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

MAX_GROUP = 64  # blocks per commit, bounding how long the first of them waits
LOCK_TIMEOUT = 30.0  # seconds to wait for another process's write transaction


def _lock(conn: sqlite3.Connection) -> None:
    """BEGIN IMMEDIATE, waiting for other processes' writers with short sleeps: SQLite's own
    busy handler sleeps 1, 2, 5, 10... ms, far longer than a write transaction lasts, so two
    busy processes would spend most of their time asleep."""
    deadline = time.monotonic() + LOCK_TIMEOUT
    pause = 0.00005
    while True:
        try:
            conn.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            if time.monotonic() > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.001)


@dataclass
class _Failure:
    """A group's failed commit, kept until every member of the group has heard of it."""

    error: BaseException
    unheard: int


class GroupCommit:
    def __init__(self, connect: Callable[[], sqlite3.Connection]) -> None:
        self._connect = connect
        self._conn: sqlite3.Connection | None = None
        self._cond = threading.Condition()
        self._busy = False  # a block (or a commit) is using the connection
        self._waiting = 0
        self._open = False
        self._size = 0
        self._gen = 0  # the group now being filled
        self._finished = -1  # the last group whose commit ended
        self._failed: dict[int, _Failure] = {}
        self._inside = threading.local()
        self.commits = 0  # physical commits so far, for metrics

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        if getattr(self._inside, "active", False):
            raise RuntimeError("a write transaction is already open in this thread")
        with self._cond:
            self._waiting += 1
            while self._busy:
                self._cond.wait()
            self._waiting -= 1
            self._busy = True
        try:
            conn = self._begin()
        except BaseException:
            self._hand_on()
            raise
        gen = self._gen
        self._size += 1
        failure: BaseException | None = None
        self._inside.active = True
        conn.execute("SAVEPOINT block")
        try:
            yield conn
        except BaseException as exc:
            failure = exc
            conn.execute("ROLLBACK TO block")
        finally:
            self._inside.active = False
        conn.execute("RELEASE block")
        with self._cond:
            lead = self._waiting == 0 or self._size >= MAX_GROUP
            if not lead:
                self._busy = False
                self._cond.notify_all()
        if lead:
            self._commit(conn, gen)
        with self._cond:
            while self._finished < gen:
                self._cond.wait()
            error = self._hear(gen)
        if failure is not None:
            raise failure
        if error is not None:
            raise error

    def _hear(self, gen: int) -> BaseException | None:
        """The commit error of group ``gen``, if it failed (called under the condition)."""
        failure = self._failed.get(gen)
        if failure is None:
            return None
        failure.unheard -= 1
        if failure.unheard == 0:
            del self._failed[gen]
        return failure.error

    def _begin(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = self._connect()
            self._conn.execute("PRAGMA busy_timeout=0")  # we wait ourselves, see _lock
        if not self._open:
            _lock(self._conn)
            self._open = True
            self._size = 0
        return self._conn

    def _commit(self, conn: sqlite3.Connection, gen: int) -> None:
        error: BaseException | None = None
        try:
            conn.execute("COMMIT")
        except BaseException as exc:  # the whole group failed: every member must hear it
            error = exc
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        with self._cond:
            if error is not None:
                self._failed[gen] = _Failure(error, self._size)
            self._open = False
            self.commits += 1
            self._finished = gen
            self._gen += 1
            self._busy = False
            self._cond.notify_all()

    def _hand_on(self) -> None:
        with self._cond:
            self._busy = False
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
