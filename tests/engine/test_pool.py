"""The handler pool: shares of the background per tenant, freed when a handler ends or
outlives its timeout."""

from __future__ import annotations

import threading
import time

from invoiceflow.engine.pool import HandlerPool


def test_a_tenant_gets_its_share_and_no_more() -> None:
    pool = HandlerPool(size=3, per_tenant=2)
    release = threading.Event()
    running = [pool.submit(release.wait) for _ in range(2)]
    for future in running:
        pool.went_long("a", future, timeout=60)
    assert not pool.has_room("a")
    assert pool.has_room("b")
    assert not pool.has_room("b", taken=1)  # the background is full with one more
    release.set()
    for future in running:
        future.result(timeout=10)
    assert pool.has_room("a", taken=1)
    assert pool.wait_idle(10)


def test_a_handler_past_its_timeout_no_longer_holds_its_tenant_back() -> None:
    pool = HandlerPool(size=2, per_tenant=1)
    hang = threading.Event()
    stuck = pool.submit(hang.wait)
    pool.went_long("a", stuck, timeout=0.05)
    assert not pool.has_room("a")
    deadline = time.monotonic() + 10
    while not pool.has_room("a"):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert not stuck.done()  # still running: threads cannot be stopped, only not waited for
    hang.set()
    assert stuck.result(timeout=10)
    assert pool.has_room("a")


def test_what_a_handler_raises_reaches_its_caller() -> None:
    pool = HandlerPool()

    def broken() -> None:
        raise ValueError("defect")

    future = pool.submit(broken)
    error = future.exception(timeout=10)
    assert isinstance(error, ValueError)
    assert pool.wait_idle(10)


def test_a_function_whose_calls_are_instant_runs_on_its_callers_thread() -> None:
    pool = HandlerPool()
    here = threading.get_ident()
    threads = [pool.call("f", threading.get_ident, 10)[1] for _ in range(25)]
    assert threads[0] != here  # at first on the pool
    assert threads[-1] == here  # once known to be instant, no hand-over
    finished, _ = pool.call("f", lambda: time.sleep(0.01), 10)  # one slow call ...
    assert finished
    assert pool.call("f", threading.get_ident, 10)[1] != here  # ... and back to the pool


def test_a_call_still_running_after_the_wait_is_handed_back_as_a_future() -> None:
    pool = HandlerPool()
    release = threading.Event()
    finished, future = pool.call("g", lambda: release.wait(10), 0.01)
    assert not finished
    release.set()
    assert future.result(timeout=10) is True
