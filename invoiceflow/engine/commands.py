"""What the interpreter hands the runtime: the commands to carry out and the events to record."""

from __future__ import annotations

import random as _random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from invoiceflow.engine.resources import Resource

HistoryEvent = tuple[int, int, str, float, str | None, dict[str, Any] | None]
"""(id, previousEventId, type, timestamp, details key, details)"""


@dataclass(slots=True)
class Env:
    """What the interpreter may know of the world: the time, randomness and identity."""

    now: float
    execution: dict[str, Any]
    state_machine: dict[str, Any]
    new_token: Callable[[], str]
    random: Callable[[], float] = _random.random
    budget: int = 1_000_000
    """History events this execution may still produce before it must give way: the
    interpreter stops running frames once it is spent and asks to be continued (``Step.more``),
    so a loop of instant states commits its progress and lets stops, other executions and
    shutdown have their turn."""


@dataclass(slots=True)
class Invoke:
    """Start a task's work; its outcome comes back as a ``result`` event for ``task_id``."""

    task_id: str
    resource: Resource
    payload: Any
    token: str | None
    timeout: float | None
    heartbeat: float | None


@dataclass(slots=True)
class SetTimer:
    """Deliver a ``timer`` event at ``at`` (replacing a timer of the same id)."""

    timer_id: str
    at: float


@dataclass(slots=True)
class CancelTimer:
    timer_id: str


@dataclass(slots=True)
class CancelTask:
    """The task's answer is no longer wanted: its token must now be refused."""

    task_id: str
    token: str | None


Command = Invoke | SetTimer | CancelTimer | CancelTask


@dataclass(slots=True)
class Step:
    """Everything one ``advance`` produced, to be committed in one transaction."""

    commands: list[Command] = field(default_factory=list)
    history: list[HistoryEvent] = field(default_factory=list)
    status: str | None = None
    output: Any = None
    error: str | None = None
    cause: str | None = None
    more: bool = False
    """Frames are ready to run but the budget is spent: deliver a ``continue`` event."""
