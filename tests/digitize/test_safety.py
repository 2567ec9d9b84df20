"""Hostile and arbitrary input: refused with the parser's own error, never anything else."""

import contextlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from invoiceflow.digitize import DigitizeError, parse
from invoiceflow.samples import SAMPLES

VALID = [p for p in sorted(SAMPLES.glob("*/*")) if p.suffix in (".x12", ".xml", ".edi")]

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2">&lol3;</Invoice>"""
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2">&x;</Invoice>"""


@pytest.mark.parametrize("data", [BILLION_LAUGHS, XXE])
def test_entity_attacks_are_refused(data: bytes) -> None:
    with pytest.raises(DigitizeError) as err:
        list(parse(data))
    assert err.value.problem.code == "xml_doctype"


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"<Invoice><unclosed></Invoice>", "bad_xml"),
        (b"<Order xmlns='urn:x'/>", "unknown_xml"),
        (b"{not json", "bad_json"),
        (b'{"invoice_number": 5}', "json_schema"),
    ],
)
def test_malformed_documents(data: bytes, code: str) -> None:
    with pytest.raises(DigitizeError) as err:
        list(parse(data))
    assert err.value.problem.code == code


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_raise_only_digitize_errors(data: bytes) -> None:
    with contextlib.suppress(DigitizeError):
        list(parse(data))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    st.sampled_from(VALID),
    st.lists(st.tuples(st.integers(0, 10**6), st.binary(min_size=0, max_size=8)), max_size=6),
)
def test_mutated_valid_files_raise_only_digitize_errors(
    path: Path, edits: list[tuple[int, bytes]]
) -> None:
    data = bytearray(path.read_bytes())
    for at, replacement in edits:
        at %= max(len(data), 1)
        data[at : at + len(replacement)] = replacement
    try:
        for invoice in parse(bytes(data)):
            assert invoice.source.format in ("x12", "ubl", "cii", "edifact")
    except DigitizeError:
        pass
