"""Every reader under arbitrary and mutated input: it reads the file or raises
DigitizeError, never another exception, and stays within a time and memory budget for
each input."""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from invoiceflow.samples import SAMPLES
from tests.digitize.shapes import FORMATS, read_all

SECONDS = 1.0  # per input of a few kilobytes: a linear reader needs milliseconds
MEMORY = 16 * 1024 * 1024  # bytes of Python allocations per input, at the peak

SEEDS: dict[str, list[bytes]] = {
    fmt: [make(3), make(2, 2)] for fmt, make in FORMATS.items() if fmt not in ("ubl", "cii")
}
for folder, fmt in (("ubl", "ubl"), ("cii", "cii"), ("x12", "x12"), ("edifact", "edifact")):
    SEEDS.setdefault(fmt, []).extend(p.read_bytes() for p in sorted(SAMPLES.glob(f"{folder}/*")))
SEEDS["ubl"].append(FORMATS["ubl"](2))
SEEDS["cii"].append(FORMATS["cii"](2))

# Fragments a hostile or broken file is made of: unusual numbers, separators of every
# format, deep nesting, encodings' byte order marks and invalid UTF-8.
FRAGMENTS = [
    b"NaN",
    b"sNaN",
    b"-Infinity",
    b"1E+999999999",
    b"1e-999999999",
    b"9" * 5000,
    b"[" * 300,
    b"{" * 300,
    b'{"a":' * 200,
    b"<a>" * 300,
    b"'",
    b"~",
    b"*",
    b"+",
    b"?",
    b":",
    b",",
    b";",
    b'"',
    b"\n",
    b"\r",
    b"\x00",
    b"\xff\xfe",
    b"\xef\xbb\xbf",
    b"\xc3\x28",
    b"\xed\xa0\x80",
    b"<!DOCTYPE a>",
    b"&amp;",
    b"]]>",
]


def budgeted(data: bytes) -> None:
    """Read ``data`` fully; only DigitizeError may stop it, within the budget."""
    tracemalloc.start()
    began = time.perf_counter()
    try:
        read_all(data)
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    elapsed = time.perf_counter() - began
    assert elapsed < SECONDS, f"{elapsed:.2f}s for {len(data)} bytes"
    assert peak < MEMORY, f"{peak} bytes at the peak for {len(data)} bytes"


def mutate(seed: bytes, edits: list[tuple[int, int, bytes]]) -> bytes:
    data = bytearray(seed)
    for at, cut, fragment in edits:
        at %= max(len(data), 1)
        data[at : at + cut] = fragment
    return bytes(data)


EDITS = st.lists(
    st.tuples(
        st.integers(0, 10**6),
        st.integers(0, 8),
        st.one_of(st.sampled_from(FRAGMENTS), st.binary(max_size=8)),
    ),
    min_size=1,
    max_size=6,
)
FUZZ = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)


def fuzz(fmt: str) -> Callable[[], None]:
    @FUZZ
    @given(st.sampled_from(SEEDS[fmt]), EDITS)
    def run(seed: bytes, edits: list[tuple[int, int, bytes]]) -> None:
        budgeted(mutate(seed, edits))

    return run


@pytest.mark.parametrize("fmt", sorted(SEEDS))
def test_mutated_files_of_every_format_read_or_raise_digitize_error(fmt: str) -> None:
    fuzz(fmt)()


@FUZZ
@given(st.binary(max_size=4000))
def test_arbitrary_bytes_read_or_raise_digitize_error(data: bytes) -> None:
    budgeted(data)


@FUZZ
@given(
    st.sampled_from(["[", "{", "<", "ISA", "UNB+", "invoice_number,qty\n"]),
    st.lists(st.sampled_from(FRAGMENTS), max_size=20),
)
def test_fragments_after_every_format_head_read_or_raise_digitize_error(
    head: str, parts: list[bytes]
) -> None:
    budgeted(head.encode() + b"".join(parts))
