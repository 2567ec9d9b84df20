"""The worker loop: advance executions, fire timers, run deferred handler work.

Any number of workers (threads or processes) may share one database: executions and tasks
are leased, so each is worked on by one owner at a time, and a worker that dies simply lets
its leases run out.
"""

from __future__ import annotations

import os
import threading
import uuid

from invoiceflow.engine.runtime import Runtime

IDLE_SLEEP = 0.02
MAX_IDLE_SLEEP = 0.25


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
        """Work until ``stop``; back off gently while there is nothing to do."""
        sleep = IDLE_SLEEP
        while not self.stopping.is_set():
            if self.run_once():
                sleep = IDLE_SLEEP
                continue
            self.stopping.wait(sleep)
            sleep = min(sleep * 2, MAX_IDLE_SLEEP)

    def stop(self) -> None:
        self.stopping.set()
