"""The latency figures every benchmark reports, computed one way."""

from __future__ import annotations

import statistics
from collections.abc import Iterable


def p50_p99(milliseconds: Iterable[float], digits: int = 2) -> dict[str, float]:
    """Median and 99th percentile (nearest rank) of the samples, in milliseconds."""
    ordered = sorted(milliseconds)
    p99 = ordered[max(0, int(len(ordered) * 0.99) - 1)]
    return {
        "p50_ms": round(statistics.median(ordered), digits),
        "p99_ms": round(p99, digits),
    }
