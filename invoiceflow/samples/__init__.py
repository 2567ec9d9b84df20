"""Published sample invoice files (X12 810, EDIFACT INVOIC, UBL, CII) that the demo submits
and the tests read. SOURCES.md in this folder says where each comes from and under which
licence."""

from pathlib import Path

SAMPLES = Path(__file__).parent
