"""Many requests' writes in one transaction, off the event loop.

Each request that writes would otherwise take a thread-pool hop and a commit of its own.
Here the event loop hands its piece of work to one writer thread, which runs everything
that has queued up meanwhile in one transaction (each piece under a savepoint, so one that
fails is undone alone), commits once, and answers all the waiting requests with one call
into the loop. Under load a commit carries hundreds of requests; alone, a request waits
for nothing but its own commit.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, TypeVar

from invoiceflow.store import Transaction

T = TypeVar("T")
MAX_BATCH = 500  # pieces per transaction, bounding how long the first of them waits

_Piece = tuple[Callable[[Transaction], Any], asyncio.Future[Any], asyncio.AbstractEventLoop]


class Batcher:
    def __init__(self, transaction: Callable[[], AbstractContextManager[Transaction]]) -> None:
        self._transaction = transaction
        self._pending: deque[_Piece] = deque()
        self._ready = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None

    async def run(self, work: Callable[[Transaction], T]) -> T:
        """``work(tx)``'s result once the transaction it ran in has committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        with self._ready:
            if self._thread is None:
                self._thread = threading.Thread(target=self._write, name="api-writer", daemon=True)
                self._thread.start()
            self._pending.append((work, future, loop))
            self._ready.notify()
        return await future

    def stop(self, timeout: float | None = None) -> None:
        """Commits what is pending, waiting at most ``timeout`` seconds (its thread is a
        daemon: a commit stuck on the store does not hold the process)."""
        with self._ready:
            self._stopping = True
            self._ready.notify()
        if self._thread is not None:
            self._thread.join(timeout)

    def _write(self) -> None:
        while True:
            with self._ready:
                while not self._pending and not self._stopping:
                    self._ready.wait()
                if not self._pending:
                    return
                batch = [self._pending.popleft() for _ in range(min(MAX_BATCH, len(self._pending)))]
            outcomes = self._commit(batch)
            settled = [
                (future, loop, o) for (_, future, loop), o in zip(batch, outcomes, strict=True)
            ]
            for loop in {loop for _, loop, _ in settled}:
                mine = [(future, o) for future, at, o in settled if at is loop]
                loop.call_soon_threadsafe(_settle, mine)

    def _commit(self, batch: list[_Piece]) -> list[tuple[bool, Any]]:
        """(succeeded, result or exception) for each piece, in order."""
        outcomes: list[tuple[bool, Any]] = []
        try:
            with self._transaction() as tx:
                for work, _, _ in batch:
                    try:
                        with tx.savepoint():
                            outcomes.append((True, work(tx)))
                    except Exception as exc:
                        outcomes.append((False, exc))
        except Exception as exc:  # the commit itself failed: nothing of the batch stands
            return [(False, exc)] * len(batch)
        return outcomes


def _settle(pieces: list[tuple[asyncio.Future[Any], tuple[bool, Any]]]) -> None:
    for future, (ok, value) in pieces:
        if future.cancelled():
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)
