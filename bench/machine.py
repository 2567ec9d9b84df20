"""How fast the machine running a benchmark is, on the two things our figures hang on.

The same code gives figures up to twice apart from one day to another on this kind of
machine, and sometimes from one minute to the next. Printing the interpreter's speed and
the disk's flush time beside the results says whether a figure moved because of the code
or because of the machine; it is a snapshot taken before the runs, not a guarantee that
the machine kept that speed through them.
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path
from typing import Any


def _python_loop() -> float:
    """Millions of plain interpreter loop steps (an addition each) per second."""
    began = time.perf_counter()
    total = 0
    for i in range(2_000_000):
        total += i
    return 2.0 / (time.perf_counter() - began)


def _flush(directory: Path) -> float:
    """Median microseconds to flush a 4 KiB overwrite to disk, as a commit does."""
    path = directory / "flush-probe"
    fd = os.open(path, os.O_RDWR | os.O_CREAT)
    try:
        os.pwrite(fd, b"\0" * 4096 * 64, 0)
        os.fsync(fd)
        took = []
        for i in range(200):
            os.pwrite(fd, os.urandom(4096), (i % 64) * 4096)
            began = time.perf_counter()
            os.fdatasync(fd)
            took.append(time.perf_counter() - began)
    finally:
        os.close(fd)
        path.unlink()
    return statistics.median(took) * 1e6


def machine(directory: Path) -> dict[str, Any]:
    """The machine's speed, measured in ``directory`` (where the benchmark's files are),
    printed as the benchmark's first line and returned for its JSON."""
    speed = {
        "python_loop_mops": round(statistics.median(_python_loop() for _ in range(5)), 1),
        "fdatasync_p50_us": round(_flush(directory)),
    }
    print("machine:", speed, flush=True)
    return speed
