"""Trivial handlers for the engine benchmark (imported by its worker processes)."""

from typing import Any

from invoiceflow.functions import handler


@handler("prepare")
def prepare(event: Any, _context: Any) -> Any:
    return {"items": list(range(10))}


@handler("work")
def work(event: Any, _context: Any) -> Any:
    return event * 2


@handler("sink")
def sink(event: Any, _context: Any) -> None:
    """Accepts a batch of queue records and does nothing with them."""
