"""The complete worker: executions, timers and handler tasks (the engine's loop) plus the
queue-fed handlers and dead-letter redrive moves, in one loop any number of processes run."""

from __future__ import annotations

from collections.abc import Callable

from invoiceflow.engine.pool import HandlerPool
from invoiceflow.engine.runtime import LEASE, Runtime
from invoiceflow.engine.worker import Worker
from invoiceflow.functions.mappings import Mappings
from invoiceflow.functions.poller import Poller
from invoiceflow.functions.registry import Registry
from invoiceflow.queues.manager import MESSAGES
from invoiceflow.queues.moves import run_moves


def full_worker(
    runtime: Runtime,
    registry: Registry,
    *,
    name: str | None = None,
    lease: float = LEASE,
    batch: int = 100,
    give_way: Callable[[], float] | None = None,
) -> Worker:
    worker = Worker(
        runtime, batch=batch, name=name, lease=lease, give_way=give_way, channels=(MESSAGES,)
    )
    mappings = Mappings(runtime.db, runtime.queues, runtime.clock.now)
    # Queue batches have a pool of their own: slow batches (a webhook that hangs) cannot
    # take the room that executions' handlers need, nor the other way round.
    poller = Poller(mappings, registry, worker.owner, HandlerPool(), freed=worker.wakeup.fire)
    worker.chores = (poller.poll, lambda: run_moves(runtime.queues))
    return worker
