"""Creating executions, shared by StartExecution and nested startExecution tasks."""

from __future__ import annotations

import re
import uuid
from typing import Any

from invoiceflow.engine import arns
from invoiceflow.engine.core import new_state
from invoiceflow.engine.values import dumps, loads
from invoiceflow.limits import MAX_PAYLOAD, TooDeep, text_depth
from invoiceflow.store import Transaction

_NAME = re.compile(r"^[A-Za-z0-9_\-]{1,80}$")

EXECUTIONS = "executions"  # the channel a commit notifies when it makes an execution due


class ExecutionAlreadyExists(Exception):
    pass


class InvalidName(ValueError):
    pass


class InvalidInput(ValueError):
    """An execution input that is not JSON, or is too large or too deep to be one."""


def payload_problem(text: Any) -> str | None:
    """Why ``text`` cannot be an execution's input or a task's output, or None: it must be
    JSON text of at most 256 KiB, nested at most ``JSON_DEPTH`` deep (what a workflow adds
    around it must still be storable)."""
    if not isinstance(text, str | bytes):
        return "not JSON text"
    size = len(text.encode() if isinstance(text, str) else text)
    if size > MAX_PAYLOAD:
        return f"{size} bytes, more than the {MAX_PAYLOAD} allowed"
    try:
        text_depth(text)
        loads(text)
    except TooDeep as exc:
        return str(exc)
    except ValueError:
        return f"not JSON: '{_clip(text)}'"
    return None


def _clip(text: str | bytes) -> str:
    head = text[:100]
    return head if isinstance(head, str) else head.decode(errors="replace")


def create_execution(
    tx: Transaction,
    sm_arn: str,
    name: str | None,
    input_text: str,
    now: float,
    parent: dict[str, Any] | None = None,
    tenant: str = "",
) -> tuple[int, str, float, bool]:
    """Insert a RUNNING execution with its start event; returns (id, arn, start, created).

    Starting is idempotent by name: the same name and input on a running execution returns
    that execution; anything else under a used name is ExecutionAlreadyExists.
    """
    name = name or str(uuid.uuid4())
    if not _NAME.match(name):
        raise InvalidName(f"Invalid Name: '{name}'")
    problem = payload_problem(input_text)  # refused before anything is written
    if problem is not None:
        raise InvalidInput(f"Invalid State Machine Execution Input: {problem}")
    arn = arns.execution_arn(arns.name_of(sm_arn), name)
    row = tx.fetchone(
        "insert_execution",
        (
            arn,
            sm_arn,
            name,
            input_text,
            now,
            dumps(new_state()),
            now,
            dumps(parent) if parent else None,
            tenant,
        ),
    )
    if row is None:
        existing = tx.fetchone("get_execution", (arn,))
        assert existing is not None
        if existing[4] == "RUNNING" and existing[5] == input_text and existing[14] == tenant:
            return existing[0], arn, existing[9], False
        raise ExecutionAlreadyExists(f"Execution Already Exists: '{arn}'")
    execution_id = row[0]
    tx.execute("enqueue", (execution_id, now, dumps({"t": "start", "input": loads(input_text)})))
    tx.notify(EXECUTIONS)
    return execution_id, arn, now, True
