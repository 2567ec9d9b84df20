"""The worker loop: advance executions, fire timers, run deferred handler work.

Any number of workers (threads or processes) may share one database: executions and tasks
are leased, so each is worked on by one owner at a time. A live worker renews its leases
every third of their length; a worker that dies lets them run out, after which any other
worker takes the work over. A worker started under a name that an earlier one used takes
that name's leases over at once: the name being reused means its previous life has ended
(as when a supervisor restarts ``invoiceflow worker --name w1``).

A pass that raises (the database unreachable for longer than its lock timeout, a defect) is
logged and tried again after a growing pause; an execution that cannot be advanced fails on
its own in the runtime and never gets here. Only after ``max_failures`` passes in a row have
failed does the loop give up, with ``error`` set, so that a supervisor sees the process end
(``invoiceflow worker`` exits non-zero) and ``/readyz`` reports it.

An idle worker does not take the write lock to look for work: it asks read-only when the
next execution or task falls due and sleeps until then, or until a commit in any process
notifies one of its channels (``executions``, and those its chores name), and at most
``IDLE`` seconds: what falls due without anyone committing (a message whose visibility
timeout ends, a dead worker's lease running out) is found by that look.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import uuid
from collections.abc import Callable, Sequence

import structlog

from invoiceflow.engine.durability import check as check_durability
from invoiceflow.engine.executions import EXECUTIONS
from invoiceflow.engine.runtime import LEASE, Runtime

log = structlog.get_logger("invoiceflow.worker")

IDLE = 2.0  # seconds between looks while nothing notifies: an idle look is four reads
MAX_FAILURES = 20  # passes in a row that may fail before the loop gives up (about a minute)


class Worker:
    def __init__(
        self,
        runtime: Runtime,
        *,
        batch: int = 100,
        name: str | None = None,
        lease: float = LEASE,
        chores: Sequence[Callable[[], int]] = (),
        give_way: Callable[[], float] | None = None,
        max_failures: int = MAX_FAILURES,
        durability: str | None = None,
        channels: Sequence[str] = (),
    ) -> None:
        """``chores`` are further work this worker does on every pass (feeding queues to
        handlers, moving dead letters); each returns how much it found. ``give_way``,
        asked after every pass, is the share of time (0 to below 1) to leave to more
        urgent work in the same process (answering requests): the worker then rests in
        proportion to how long its pass took, so it slows down but never stops.
        ``durability`` (``batched`` or ``per-step``) is this worker's default for the state
        machines that set none; without one, the runtime's holds. ``channels`` are
        further channels whose notifications wake it (the chores' work)."""
        self.runtime = runtime
        self.chores = chores
        self.batch = batch
        self.owner = name or f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.lease = lease
        self.stopping = threading.Event()
        self.give_way = give_way
        self.max_failures = max_failures
        self.error: BaseException | None = None  # why the loop gave up, if it did
        self.durability = None if durability is None else check_durability(durability)
        self.wakeup = runtime.db.listen(EXECUTIONS, *channels)

    def run_once(self) -> int:
        """One pass: returns how much work it found."""
        return self._run_once()[0]

    def _run_once(self) -> tuple[int, float | None]:
        """How much work one pass found, and when the next work falls due (None: nothing
        is waiting), as the pass began."""
        runtime = self.runtime
        found = 0
        due = runtime.next_due()
        now = runtime.clock.now()
        if due.executions is not None and due.executions <= now:
            found += runtime.run_round(self.owner, self.batch, self.lease, self.durability)
        if due.tasks is not None and due.tasks <= now:
            found += runtime.run_tasks(self.owner, lease=self.lease)
        return found + sum(chore() for chore in self.chores), due.first()

    def run(self) -> None:
        """Work until ``stop``; on the way out, hand back whatever is still leased."""
        renewer = threading.Thread(target=self._renew, name=f"lease-{self.owner}", daemon=True)
        failures = 0
        try:
            self.runtime.release(self.owner)
            renewer.start()
            while not self.stopping.is_set():
                try:
                    self._pass()
                except Exception:
                    failures += 1
                    log.exception("worker pass failed", worker=self.owner, failures=failures)
                    if failures >= self.max_failures:
                        raise
                    self.stopping.wait(min(5.0, 0.01 * 2**failures))
                else:
                    failures = 0
        except BaseException as exc:
            self.error = exc
            log.error("worker stopped by an error", worker=self.owner, error=repr(exc))
        finally:
            self.stopping.set()
            self.wakeup.close()
            if renewer.is_alive():
                renewer.join()
            with contextlib.suppress(Exception):  # a lease not handed back runs out anyway
                self.runtime.release(self.owner)

    def _pass(self) -> None:
        began = time.monotonic()
        found, due = self._run_once()
        if not found:
            # Work that fell due during the pass is due now: the wait is then nil. What
            # was committed during it has fired the wake-up, which returns at once.
            delay = IDLE if due is None else min(IDLE, due - self.runtime.clock.now())
            self.wakeup.wait(delay)
        elif self.give_way is not None and (share := self.give_way()) > 0:
            self.stopping.wait((time.monotonic() - began) * share / (1 - share))

    def _renew(self) -> None:
        while not self.stopping.wait(self.lease / 3):
            try:
                self.runtime.renew(self.owner, self.lease)
            except Exception:  # tried again a third of a lease later
                log.exception("lease renewal failed", worker=self.owner)

    def stop(self) -> None:
        self.stopping.set()
        self.wakeup.fire()
