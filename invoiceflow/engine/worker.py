"""The worker loop: advance executions, fire timers, run deferred handler work.

Any number of workers (threads or processes) may share one database: executions and tasks
are leased, so each is worked on by one owner at a time, and a worker that dies simply lets
its leases run out.

An idle worker does not take the write lock to look for work: it asks read-only when the
next execution or task falls due and sleeps until then, at most ``POLL`` seconds (other
processes may add work at any time), or until this process's runtime signals new work.
"""

from __future__ import annotations

import os
import threading
import uuid

from invoiceflow.engine.runtime import Runtime

POLL = 0.005


class Worker:
    def __init__(self, runtime: Runtime, *, batch: int = 100, name: str | None = None) -> None:
        self.runtime = runtime
        self.batch = batch
        self.owner = name or f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.stopping = threading.Event()

    def run_once(self) -> int:
        """One pass: returns how much work it found."""
        return self.runtime.run_round(self.owner, self.batch) + self.runtime.run_tasks(self.owner)

    def run(self) -> None:
        """Work until ``stop``."""
        while not self.stopping.is_set():
            if not self.run_once():
                self.wait_for_work()

    def wait_for_work(self) -> None:
        runtime = self.runtime
        while not self.stopping.is_set():
            due = runtime.next_due()
            now = runtime.clock.now()
            if due is not None and due <= now:
                return
            delay = POLL if due is None else min(POLL, due - now)
            if runtime.work_added.wait(delay):
                runtime.work_added.clear()
                return

    def stop(self) -> None:
        self.stopping.set()
        self.runtime.work_added.set()
