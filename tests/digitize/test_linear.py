"""Reading time grows in proportion to the file: doubling the input at most ~doubles the
time, for every format, including shapes built to make a careless reader quadratic."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

import pytest

from tests.digitize.shapes import FORMATS, read_all

# Lines per file for the smaller run: about 0.2 s of reading on a slow machine, so that
# scheduling noise is small beside it; the larger run reads twice as many.
LINES = {"ubl": 2500, "cii": 2500, "x12": 10000, "edifact": 6000, "csv": 6000, "json": 20000}
RATIO = 2.5


def best_time(data: bytes, runs: int = 5) -> float:
    """The fastest of a few reads: the one least disturbed by other work on the machine.

    CPU time of this process, not wall time: other processes on a shared machine take
    turns on the cores, and would be counted. The cyclic garbage collector is paused while
    timing: when its full passes fall depends on everything the test process holds, not on
    the reader, and would add steps of tens of milliseconds to one size and not the other."""
    best = float("inf")
    for _ in range(runs):
        gc.collect()
        gc.disable()
        began = time.process_time()
        try:
            read_all(data)
        finally:
            elapsed = time.process_time() - began
            gc.enable()
        best = min(best, elapsed)
    return best


def ratio(make: Callable[[int], bytes], n: int) -> tuple[float, float]:
    """The best times of ``n`` and ``2n``, measured in turns so that both see the same
    conditions on the machine."""
    small, large = make(n), make(2 * n)
    times = [(best_time(small, 1), best_time(large, 1)) for _ in range(5)]
    return min(t[0] for t in times), min(t[1] for t in times)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("fmt", sorted(LINES))
def test_doubling_the_lines_at_most_doubles_the_time(fmt: str) -> None:
    # A quadratic reader fails every attempt; a burst of other work on a shared machine
    # rarely spoils three in a row.
    for _attempt in range(3):
        small, large = ratio(FORMATS[fmt], LINES[fmt])
        if large <= RATIO * small:
            return
    raise AssertionError(f"{fmt}: {small:.3f}s then {large:.3f}s")


HOSTILE: dict[str, Callable[[int], bytes]] = {
    # no segment terminator after the interchange header: one endless segment
    "edifact_unterminated": lambda n: b"UNB+UNOC:3+S+R+240101:1200+1" + b"+ABC" * n,
    # released characters everywhere: each one escapes the next
    "edifact_released": lambda n: (
        b"UNB+UNOC:3+S+R+240101:1200+1'UNH+1+INVOIC'FTX+AAI+++" + b"?+" * n + b"'"
    ),
    "x12_unterminated": lambda n: FORMATS["x12"](1).split(b"GS*")[0] + b"GS*IN" + b"*ABC" * n,
    "csv_one_long_row": lambda n: b"invoice_number,qty\n1," + b"2," * n,
    "xml_many_attributes": lambda n: b"<a " + b"".join(b'x%d="1" ' % i for i in range(n)) + b"/>",
}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("shape", sorted(HOSTILE))
def test_hostile_shapes_are_read_or_refused_in_linear_time(shape: str) -> None:
    small, large = ratio(HOSTILE[shape], 100_000)
    assert large <= 1.0, f"{shape}: {large:.3f}s for {2 * 100_000} repetitions"
    assert large <= RATIO * small or large < 0.25, f"{shape}: {small:.3f}s then {large:.3f}s"
