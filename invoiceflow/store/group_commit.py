"""Group commit: the write transactions of a process's threads share commits.

A commit that promises durability costs an fsync (0.3 ms to 2 ms on the disks we measured),
far more than the statements of a typical transaction. Threads that want to write while
another is writing queue up; each runs its block inside the open transaction, under a
savepoint of its own when earlier blocks share the transaction, and the last of the queue
commits for all. Every caller returns only after the commit that holds its writes, so an
acknowledgement still means durable; a block that raises is rolled back alone. A lone writer
commits at once, so there is no added latency.

The connection passes from thread to thread in arrival order, each waiter woken by its own
event: waking every waiter on every hand-over would cost more than the fsync saves.

Blocks that need not survive a power cut (``durable=False``) share the same connection and
queue. SQLite fixes whether a commit flushes when its transaction begins, so a group that
began unflushed is committed before a durable block opens a flushed one; unflushed blocks
ride along in a flushed group for free. One connection
for both matters: two writer connections in one process would fight over SQLite's file lock
by polling, which costs more than either kind of commit.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable
from types import TracebackType
from typing import Generic, TypeVar

T = TypeVar("T")

MAX_GROUP = 64  # blocks per commit, bounding how long the first of them waits
LOCK_TIMEOUT = 30.0  # seconds to wait for another process's write transaction


class _WriterLock:
    """An advisory lock that the writing processes of one database file take around each
    write transaction (flock on a file beside it). A process waiting for it is woken the
    moment it is free, where waiting on SQLite's own lock means polling: with several busy
    processes, most of the time went to sleeping past the moment the lock came free."""

    def __init__(self, path: str | None) -> None:
        self._path = path
        self._fd: int | None = None

    def acquire(self) -> None:
        if self._path is None:
            return
        if self._fd is None:
            self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(self._fd, fcntl.LOCK_EX)

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _lock(conn: sqlite3.Connection) -> None:
    """BEGIN IMMEDIATE, waiting for writers outside the writer lock (another program on the
    same file) with short sleeps: SQLite's own busy handler sleeps 1, 2, 5, 10... ms, far
    longer than a write transaction lasts."""
    deadline = 0.0
    pause = 0.00005
    while True:
        try:
            conn.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            now = time.monotonic()
            deadline = deadline or now + LOCK_TIMEOUT
            if now > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.001)


class _Group:
    """The blocks sharing one transaction, and how their commit ended."""

    __slots__ = ("done", "durable", "error", "size")

    def __init__(self, durable: bool) -> None:
        self.durable = durable  # the commit flushes
        self.size = 0
        # Made by the first block that hands the connection on and so must wait; a lone
        # writer commits itself and never waits.
        self.done: threading.Event | None = None
        self.error: BaseException | None = None


class GroupCommit(Generic[T]):
    """``flushed`` and ``unflushed`` are the ``PRAGMA synchronous`` levels for durable and
    other commits; when they are equal the level is never switched. ``wrap`` turns the
    connection into what a block is given (made once per connection)."""

    def __init__(
        self,
        connect: Callable[[], sqlite3.Connection],
        wrap: Callable[[sqlite3.Connection], T],
        *,
        flushed: str = "FULL",
        unflushed: str = "NORMAL",
        lock_path: str | None = None,
        settled: Callable[[T, bool], None] = lambda _tx, _committed: None,
    ) -> None:
        """``lock_path`` names the writer lock's file (None: this process is the only
        writer, as for a private in-memory database). ``settled`` is told of each
        transaction's end, with whether it committed."""
        self._connect = connect
        self._wrap = wrap
        self._settled = settled
        self._writer = _WriterLock(lock_path)
        self._levels = {True: flushed, False: unflushed}
        self._flushing = True  # the connection's current level, ``connect`` sets ``flushed``
        self._conn: sqlite3.Connection | None = None
        self._wrapped: T | None = None
        self._mutex = threading.Lock()
        self._busy = False  # some thread owns the connection
        self._waiting: deque[threading.Event] = deque()
        self._group: _Group | None = None  # the open transaction, if any
        self._inside = threading.local()
        self.commits = 0  # physical commits so far, for metrics

    def transaction(self, *, durable: bool = True) -> _Block[T]:
        return _Block(self, durable)

    def _enter(self, durable: bool) -> tuple[T, _Group, bool]:
        if getattr(self._inside, "active", False):
            raise RuntimeError("a write transaction is already open in this thread")
        self._acquire()
        try:
            conn, group = self._begin(durable)
        except BaseException:
            self._hand_on()
            raise
        shared = group.size > 0  # earlier blocks are in this transaction
        group.size += 1
        self._inside.active = True
        if shared:
            conn.execute("SAVEPOINT block")
        assert self._wrapped is not None
        return self._wrapped, group, shared

    def _exit(self, group: _Group, shared: bool, failed: bool) -> None:
        self._inside.active = False
        conn = self._conn
        assert conn is not None
        if failed:
            if shared:
                conn.execute("ROLLBACK TO block")
                conn.execute("RELEASE block")
            else:  # alone so far: undo the whole transaction and start afresh
                conn.execute("ROLLBACK")
                assert self._wrapped is not None
                self._settled(self._wrapped, False)
                self._group = None
                self._writer.release()
                self._hand_on()
                if group.done is not None:
                    group.done.set()
                return
        elif shared:
            conn.execute("RELEASE block")
        with self._mutex:
            follower = bool(self._waiting) and group.size < MAX_GROUP
            if follower:
                if group.done is None:
                    group.done = threading.Event()
                self._waiting.popleft().set()  # the connection goes on, the group stays open
        if follower:
            assert group.done is not None
            group.done.wait()
        else:
            self._commit(conn, group)
            self._hand_on()
        if group.error is not None and not failed:
            raise group.error

    def _acquire(self) -> None:
        with self._mutex:
            if not self._busy:
                self._busy = True
                return
            turn = threading.Event()
            self._waiting.append(turn)
        turn.wait()  # ownership is handed over directly; _busy stays True

    def _hand_on(self) -> None:
        with self._mutex:
            if self._waiting:
                self._waiting.popleft().set()
            else:
                self._busy = False

    def _begin(self, durable: bool) -> tuple[sqlite3.Connection, _Group]:
        if self._conn is None:
            self._conn = self._connect()
            self._conn.execute("PRAGMA busy_timeout=0")  # we wait ourselves, see _lock
            self._wrapped = self._wrap(self._conn)
            self._flushing = True
        group = self._group
        if group is not None and durable and not group.durable:
            self._commit(self._conn, group)  # its members return; this block starts afresh
            group = None
        if group is None:
            if durable != self._flushing and self._levels[True] != self._levels[False]:
                self._conn.execute(f"PRAGMA synchronous={self._levels[durable]}")
                self._flushing = durable
            self._writer.acquire()
            try:
                _lock(self._conn)
            except BaseException:
                self._writer.release()
                raise
            group = self._group = _Group(durable)
        return self._conn, group

    def _commit(self, conn: sqlite3.Connection, group: _Group) -> None:
        """Commits the open group and wakes its members; the caller keeps the connection."""
        try:
            conn.execute("COMMIT")
        except BaseException as exc:  # the whole group failed: every member must hear it
            group.error = exc
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        self._writer.release()
        assert self._wrapped is not None
        self._settled(self._wrapped, group.error is None)
        self._group = None
        self.commits += 1
        if group.done is not None:
            group.done.set()

    def close(self) -> None:
        with self._mutex:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
                self._wrapped = None
            self._writer.close()


class _Block(Generic[T]):
    """One block's turn: a class rather than a generator, because a write transaction's
    own bookkeeping should cost less than its statements."""

    __slots__ = ("_durable", "_group", "_owner", "_shared")

    def __init__(self, owner: GroupCommit[T], durable: bool) -> None:
        self._owner = owner
        self._durable = durable

    def __enter__(self) -> T:
        wrapped, self._group, self._shared = self._owner._enter(self._durable)
        return wrapped

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._owner._exit(self._group, self._shared, exc is not None)
