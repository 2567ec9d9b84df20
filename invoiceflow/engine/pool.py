"""Threads that run handlers, so that a slow one never holds up the executions around it.

A handler may take a minute (a 30 MB file being parsed) where a round takes milliseconds.
Run on the worker's own thread it would hold every execution claimed in the same round, and
every round after, whoever they belong to. Here each handler runs on a pool thread while
its caller waits for it, but only briefly: one that is not done by then goes on in the
background (``went_long``), its task committed as leased to this process and its answer
committed when it comes. At most ``size`` handlers run in the background, and at most
``per_tenant`` of one tenant's, so one tenant's big files cannot take every thread: while a
tenant is at its share its further handlers wait as tasks, and the others' go on.

The threads are daemons: a process told to stop does not wait for a handler that will not
end (its task is leased, so after the lease runs out another worker runs it again).
"""

from __future__ import annotations

import heapq
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from queue import SimpleQueue
from typing import Any, TypeVar

SIZE = 4  # handlers that may run in the background at once, per runtime
MAX_TIMEOUT = 900.0  # seconds: Lambda's longest, for handlers their task gives none
INSTANT = 0.002  # seconds: a call this short is not worth a hand-over to a pool thread
INSTANT_RUNS = 20  # such calls in a row before a function runs on its caller's thread
T = TypeVar("T")
Job = tuple[Callable[[], Any], "Future[Any]"]


class HandlerPool:
    def __init__(self, size: int = SIZE, per_tenant: int | None = None) -> None:
        self.size = size
        self.per_tenant = per_tenant or max(1, size // 2)
        self._jobs: SimpleQueue[Job] = SimpleQueue()
        self._idle_threads = 0
        self._running = 0
        self._long: Counter[str] = Counter()
        self._counted: set[int] = set()  # ids of the futures counted in _long
        self._deadlines: list[tuple[float, int, str, Future[Any]]] = []
        self._order = 0
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._instant: dict[str, int] = {}  # calls in a row under INSTANT, per function

    def has_room(self, tenant: str, taken: int = 0) -> bool:
        """Whether a handler of ``tenant`` may start now: the background has room for it
        (``taken``: that many more are about to start)."""
        with self._lock:
            self._forget_overdue()
            return (
                sum(self._long.values()) + taken < self.size
                and self._long[tenant] + taken < self.per_tenant
            )

    def _forget_overdue(self) -> None:
        """A handler past its timeout no longer counts against anyone's share: a thread
        cannot be stopped, but one that hangs must not keep its tenant waiting for good.
        (Its task's own timeout, or the lease once this process ends, settles the task.)"""
        now = time.monotonic()
        while self._deadlines and self._deadlines[0][0] <= now:
            _, _, tenant, future = heapq.heappop(self._deadlines)
            if id(future) in self._counted:
                self._counted.discard(id(future))
                self._uncount(tenant)

    def _uncount(self, tenant: str) -> None:
        self._long[tenant] -= 1
        if not self._long[tenant]:
            del self._long[tenant]

    def call(self, key: str, fn: Callable[[], T], wait: float) -> tuple[bool, Any]:
        """Run ``fn`` for the function ``key``: ``(True, its result)``, or ``(False, its
        future)`` when it is still running after ``wait`` seconds.

        A function whose last calls all took under a millisecond or two runs on the
        caller's thread: handing it to a pool thread and back would cost more than it
        does. Any call of it that takes longer sends its next calls to the pool again."""
        if self._instant.get(key, 0) >= INSTANT_RUNS:
            began = time.perf_counter()
            result = fn()
            self._learn(key, time.perf_counter() - began)
            return True, result
        took: list[float] = []

        def timed() -> T:
            began = time.perf_counter()
            try:
                return fn()
            finally:
                took.append(time.perf_counter() - began)

        future = self.submit(timed)
        try:
            result = future.result(timeout=wait)
        except FutureTimeout:
            self._instant[key] = 0
            return False, future
        self._learn(key, took[0] if took else wait)
        return True, result

    def _learn(self, key: str, seconds: float) -> None:
        if seconds < INSTANT:
            self._instant[key] = min(self._instant.get(key, 0) + 1, INSTANT_RUNS)
        else:
            self._instant[key] = 0

    def submit(self, fn: Callable[[], Any]) -> Future[Any]:
        """Run ``fn`` on a pool thread (a new one if none is idle)."""
        future: Future[Any] = Future()
        with self._lock:
            self._running += 1
            start = self._idle_threads == 0
            if not start:
                self._idle_threads -= 1  # this job is that thread's
        if start:
            threading.Thread(target=self._work, args=(False,), name="handler", daemon=True).start()
        self._jobs.put((fn, future))
        return future

    def went_long(self, tenant: str, future: Future[Any], timeout: float | None) -> None:
        """``future``'s caller stopped waiting: it counts against the background until it is
        done, or until ``timeout`` seconds (Lambda's 900 without one) have passed."""
        deadline = time.monotonic() + (timeout or MAX_TIMEOUT)
        with self._lock:
            self._long[tenant] += 1
            self._counted.add(id(future))
            self._order += 1
            heapq.heappush(self._deadlines, (deadline, self._order, tenant, future))

        def done(_: Future[Any]) -> None:
            with self._lock:
                if id(future) in self._counted:
                    self._counted.discard(id(future))
                    self._uncount(tenant)

        future.add_done_callback(done)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no handler runs; False if one still does after ``timeout`` seconds."""
        with self._idle:
            return self._idle.wait_for(lambda: self._running == 0, timeout)

    def _work(self, idle: bool) -> None:
        while True:
            if idle:
                with self._lock:
                    self._idle_threads += 1
            fn, future = self._jobs.get()
            idle = True
            try:
                if future.set_running_or_notify_cancel():
                    try:
                        result = fn()
                    except BaseException as exc:
                        future.set_exception(exc)
                    else:
                        future.set_result(result)
            finally:
                with self._lock:
                    self._running -= 1
                    if not self._running:
                        self._idle.notify_all()
