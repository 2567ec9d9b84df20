"""Receiving files: each becomes a container, stored and started, and (if asked) waited for.

Waiting works whether or not a worker is running elsewhere: the waiting process runs a
worker of its own meanwhile (workers share the work safely), so a lone ``invoiceflow submit
--wait`` does everything itself.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator

import orjson

from invoiceflow.engine.executions import create_execution
from invoiceflow.functions import Registry
from invoiceflow.functions.worker import full_worker
from invoiceflow.pipeline import Pipeline, containers, profiles
from invoiceflow.pipeline.containers import Container
from invoiceflow.pipeline.endings import ENDED
from invoiceflow.pipeline.profiles import Chosen
from invoiceflow.store import Transaction

TERMINAL = ("Done", "Error")
LOOK_AGAIN = 1.0  # seconds a wait for files looks again without hearing of a workflow's end


def receive(
    pipeline: Pipeline,
    name: str,
    data: bytes,
    *,
    tenant: str = "default",
    source: str = "upload",
    also: Callable[[Transaction, Container], None] | None = None,
    profile: Chosen | None = None,
    choose_profile: bool = True,
) -> Container:
    """Store ``data`` as a new container and start its workflow, in one commit: a container
    never exists without the execution that processes it. ``also`` runs inside that commit
    (to record, say, which request created the container). The file is read with
    ``profile``, or else (unless ``choose_profile`` is false) with the tenant's stored
    profile that matches it (see profiles.choose); the container records which."""
    if profile is None and choose_profile:
        profile = profiles.choose(pipeline.engine.db, tenant, name, data)
    key, digest = pipeline.blobs.put(data)
    container_id = containers.new_id()
    now = time.time()
    with pipeline.engine.db.transaction() as tx:
        tx.execute(
            "insert_container",
            (
                container_id,
                tenant,
                source,
                name,
                digest,
                len(data),
                key,
                now,
                now,
                profile.name if profile else None,
                profile.content if profile else None,
            ),
        )
        _, arn, _, _ = create_execution(
            tx, pipeline.state_machine_arn, container_id, _input(container_id), now, tenant=tenant
        )
        tx.execute("set_execution", (arn, now, container_id))
        container = containers.get(tx, container_id)
        assert container is not None
        if also is not None:
            also(tx, container)
    return container


def start(pipeline: Pipeline, container_id: str) -> Container:
    """Start the workflow of a container in Error again (its parse results and invoices are
    reused), as a new execution of the container's tenant. In one commit, as ``receive``
    starts one: the container is Processing with its new execution before any worker can
    take that execution up, and what is returned is that state."""
    now = time.time()
    with pipeline.engine.db.transaction() as tx:
        previous = containers.get(tx, container_id)
        assert previous is not None
        if previous.state == "Error":  # running again: in work from now on, before it can end
            tx.execute("start_processing", (now, container_id))
        _, arn, _, _ = create_execution(
            tx,
            pipeline.state_machine_arn,
            f"{container_id}-{time.time_ns()}",
            _input(container_id),
            now,
            tenant=previous.tenant,
        )
        tx.execute("set_execution", (arn, now, container_id))
        current = containers.get(tx, container_id)
    assert current is not None
    return current


def _input(container_id: str) -> str:
    return orjson.dumps({"container": container_id}).decode()


def wait(
    pipeline: Pipeline, registry: Registry, ids: Iterable[str], timeout: float = 600.0
) -> list[Container]:
    """The containers once the workflow of each has ended (by then each is Done or in
    Error), in the order asked for, working on them meanwhile."""
    wanted = list(ids)
    ended = {c.id: c for c in as_finished(pipeline, registry, wanted, timeout)}
    with pipeline.engine.db.transaction(write=False) as tx:
        late = {i: containers.get(tx, i) for i in wanted if i not in ended}
    return [c for c in (ended.get(i) or late.get(i) for i in wanted) if c is not None]


def as_finished(
    pipeline: Pipeline, registry: Registry, ids: Iterable[str], timeout: float = 600.0
) -> Iterator[Container]:
    """Each container as soon as its workflow has ended, working on them meanwhile (so a
    person sees each file's result when it is ready, not when the slowest is). Containers
    still running at ``timeout`` are not yielded."""
    waiting = list(dict.fromkeys(ids))
    worker = full_worker(pipeline.engine.runtime, registry)
    thread = threading.Thread(target=worker.run, name="submit-worker", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    ended = pipeline.engine.db.listen(ENDED)
    try:
        while waiting and time.monotonic() <= deadline:
            # Each look reads states only; a container is read whole once it has ended.
            with pipeline.engine.db.transaction(write=False) as tx:
                states = {i: tx.fetchone("container_state", (i,)) for i in waiting}
                found = {
                    i: containers.get(tx, i) if row and row[0] in TERMINAL else None
                    for i, row in states.items()
                }
            finished = [c for c in found.values() if c is not None and _ended(pipeline, c)]
            yield from finished
            gone = {c.id for c in finished} | {i for i, row in states.items() if row is None}
            waiting = [i for i in waiting if i not in gone]
            if waiting:
                ended.wait(min(LOOK_AGAIN, max(0.0, deadline - time.monotonic())))
    finally:
        ended.close()
        worker.stop()
        thread.join()


def _ended(pipeline: Pipeline, container: Container) -> bool:
    """Whether the container's workflow has ended. A container is Done when Verify answers,
    its execution one round later, and a waiting process should not leave that round
    undone; an execution that ends without Done puts its container in Error in the same
    commit (see endings), so an ended workflow always means a container in its final state."""
    if container.state not in TERMINAL:
        return False
    if not container.execution_arn:
        return True
    described = pipeline.engine.client.describe_execution(executionArn=container.execution_arn)
    return bool(described["status"] != "RUNNING")
