"""The one error type the parsers raise: a file (or part of one) that cannot be read."""

from __future__ import annotations

from invoiceflow.digitize.model import Problem


class DigitizeError(Exception):
    """Raised for input that cannot be turned into invoices; ``problem`` says why and where
    in words a person can act on."""

    def __init__(self, code: str, message: str, location: str | None = None) -> None:
        super().__init__(message if location is None else f"{message} (at {location})")
        self.problem = Problem(code=code, message=message, location=location)


def segment_problem(code: str, message: str, position: int, tag: str) -> Problem:
    """A problem located at an EDI segment, as both X12 and EDIFACT readers report them."""
    return Problem(code=code, message=message, location=f"segment {position} ({tag})")
