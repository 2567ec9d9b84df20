"""A Step Functions client with boto3's method names, parameters, responses and errors.

Code written against ``boto3.client("stepfunctions")`` works against this one by swapping the
factory; errors are ``ClientError`` with ``response["Error"]["Code"]`` as botocore's are.

One parameter is invoiceflow's own: ``durability`` (``"batched"`` or ``"per-step"``) on
``create_state_machine`` and ``update_state_machine``, returned by ``describe_state_machine``
when the machine sets it; see ``invoiceflow.engine.durability`` for what each promises.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from invoiceflow.client_errors import ClientError, Exceptions
from invoiceflow.engine import arns, tokens
from invoiceflow.engine.definition import Definition, compile_definition
from invoiceflow.engine.durability import DURABILITIES
from invoiceflow.engine.executions import (
    ExecutionAlreadyExists,
    InvalidName,
    create_execution,
    payload_problem,
)
from invoiceflow.engine.runtime import Runtime
from invoiceflow.engine.validate import validate
from invoiceflow.engine.values import loads
from invoiceflow.limits import MAX_HISTORY_EVENTS
from invoiceflow.store import ConstraintViolation, Database, Transaction

MAX_HISTORY_PAGE = 1000


def _date(ts: float | None) -> datetime | None:
    return datetime.fromtimestamp(ts, UTC) if ts is not None else None


class Definitions:
    """Compiled definitions by state machine ARN, compiled once per process; an update
    through this client forgets the old one."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._cache: dict[str, Definition] = {}
        self._lock = threading.Lock()

    def __call__(self, arn: str) -> Definition:
        hit = self._cache.get(arn)
        if hit is not None:
            return hit
        with self.db.transaction(write=False) as tx:
            row = tx.fetchone("get_state_machine", (arn,))
        if row is None:
            raise KeyError(arn)
        compiled = compile_definition(loads(row[2]))
        with self._lock:
            self._cache[arn] = compiled
        return compiled

    def forget(self, arn: str) -> None:
        with self._lock:
            self._cache.pop(arn, None)


class StepFunctionsClient:
    exceptions = Exceptions()

    def __init__(
        self,
        db: Database,
        runtime: Runtime,
        definitions: Definitions,
        tenant: str | None = None,
    ) -> None:
        self.db = db
        self.runtime = runtime
        self.definitions = definitions
        self.tenant = tenant

    def for_tenant(self, tenant: str) -> StepFunctionsClient:
        """A client that works for one tenant: what it starts is the tenant's, and another
        tenant's executions and task tokens do not exist for it (the same errors as for
        unknown ones, so nothing leaks)."""
        return StepFunctionsClient(self.db, self.runtime, self.definitions, tenant)

    # -- state machines ------------------------------------------------------------------
    def validate_state_machine_definition(self, definition: str, **_: Any) -> dict[str, Any]:
        problems = validate(definition)
        return {
            "result": "FAIL" if problems else "OK",
            "diagnostics": [
                {"severity": "ERROR", "code": p.code, "message": p.message, "location": p.location}
                for p in problems
            ],
            "truncated": False,
        }

    def create_state_machine(
        self,
        name: str,
        definition: str,
        roleArn: str = "",
        type: str = "STANDARD",
        durability: str | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        """``durability``: ``"batched"`` or ``"per-step"``; without it the machine follows
        the default of the worker that runs it."""
        _check_definition(definition)
        _check_durability(durability, "CreateStateMachine")
        if not name or len(name) > 80:
            raise ClientError("InvalidName", f"Invalid Name: '{name}'", "CreateStateMachine")
        arn = arns.state_machine_arn(name)
        now = self.runtime.clock.now()
        try:
            with self.db.transaction() as tx:
                row = tx.fetchone("get_state_machine", (arn,))
                if row is not None:
                    return self._same_machine(row, definition, durability)
                tx.execute("insert_state_machine", (arn, name, definition, roleArn, type, now))
                if durability is not None:
                    tx.execute("set_durability", (durability, arn))
        except ConstraintViolation:
            # Another process created it between our read and our insert (PostgreSQL lets
            # them overlap; SQLite's one writer does not): the same answer as had it been first.
            with self.db.transaction(write=False) as tx:
                row = tx.fetchone("get_state_machine", (arn,))
            assert row is not None
            return self._same_machine(row, definition, durability)
        return {"stateMachineArn": arn, "creationDate": _date(now)}

    @staticmethod
    def _same_machine(
        row: tuple[Any, ...], definition: str, durability: str | None
    ) -> dict[str, Any]:
        """Creating a machine that exists confirms it when nothing differs (as on AWS)."""
        if loads(row[2]) != loads(definition) or row[6] != durability:
            raise ClientError(
                "StateMachineAlreadyExists",
                f"State Machine Already Exists: '{row[0]}'",
                "CreateStateMachine",
            )
        return {"stateMachineArn": row[0], "creationDate": _date(row[5])}

    def update_state_machine(
        self,
        stateMachineArn: str,
        definition: str | None = None,
        roleArn: str | None = None,
        durability: str | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        """``durability``: ``"batched"`` or ``"per-step"``, for the steps taken from now on
        (without it, the machine's setting stays as it is)."""
        row = self._state_machine(stateMachineArn, "UpdateStateMachine")
        if definition is not None:
            _check_definition(definition)
        _check_durability(durability, "UpdateStateMachine")
        with self.db.transaction() as tx:
            tx.execute(
                "update_state_machine",
                (definition or row[2], row[3] if roleArn is None else roleArn, stateMachineArn),
            )
            if durability is not None:
                tx.execute("set_durability", (durability, stateMachineArn))
        self.definitions.forget(stateMachineArn)
        return {"updateDate": _date(self.runtime.clock.now())}

    def describe_state_machine(self, stateMachineArn: str, **_: Any) -> dict[str, Any]:
        """With ``durability`` when the machine sets one of its own."""
        arn, name, definition, role, kind, created, durability = self._state_machine(
            stateMachineArn, "DescribeStateMachine"
        )
        out = {
            "stateMachineArn": arn,
            "name": name,
            "status": "ACTIVE",
            "definition": definition,
            "roleArn": role,
            "type": kind,
            "creationDate": _date(created),
        }
        if durability is not None:
            out["durability"] = durability
        return out

    def list_state_machines(self, **_: Any) -> dict[str, Any]:
        with self.db.transaction(write=False) as tx:
            rows = tx.fetch("list_state_machines")
        return {
            "stateMachines": [
                {"stateMachineArn": arn, "name": name, "type": kind, "creationDate": _date(created)}
                for arn, name, kind, created in rows
            ]
        }

    def _state_machine(self, arn: str, operation: str) -> tuple[Any, ...]:
        return self._row(
            "get_state_machine",
            arn,
            "StateMachineDoesNotExist",
            "State Machine Does Not Exist",
            operation,
        )

    def _row(self, query: str, arn: str, code: str, what: str, operation: str) -> tuple[Any, ...]:
        with self.db.transaction(write=False) as tx:
            row = tx.fetchone(query, (arn,))
        if row is None:
            raise ClientError(code, f"{what}: '{arn}'", operation)
        return row

    # -- executions ----------------------------------------------------------------------
    def start_execution(
        self, stateMachineArn: str, name: str | None = None, input: str = "{}", **_: Any
    ) -> dict[str, Any]:
        self._state_machine(stateMachineArn, "StartExecution")
        problem = payload_problem(input)
        if problem is not None:
            raise ClientError(
                "InvalidExecutionInput",
                f"Invalid State Machine Execution Input: {problem}",
                "StartExecution",
            )
        now = self.runtime.clock.now()
        try:
            with self.db.transaction() as tx:
                _id, arn, start, _new = create_execution(
                    tx, stateMachineArn, name, input, now, tenant=self.tenant or ""
                )
        except ExecutionAlreadyExists as exc:
            raise ClientError("ExecutionAlreadyExists", str(exc), "StartExecution") from None
        except InvalidName as exc:
            raise ClientError("InvalidName", str(exc), "StartExecution") from None
        return {"executionArn": arn, "startDate": _date(start)}

    def _execution(self, arn: str, operation: str) -> tuple[Any, ...]:
        row = self._row(
            "get_execution", arn, "ExecutionDoesNotExist", "Execution Does Not Exist", operation
        )
        if self.tenant is not None and row[14] != self.tenant:
            raise ClientError("ExecutionDoesNotExist", "Execution Does Not Exist", operation)
        return row

    def describe_execution(self, executionArn: str, **_: Any) -> dict[str, Any]:
        (
            _,
            arn,
            sm_arn,
            name,
            status,
            input_text,
            output,
            error,
            cause,
            start,
            stop,
            _parent,
            redrives,
            redrive_date,
            _tenant,
        ) = self._execution(executionArn, "DescribeExecution")
        out: dict[str, Any] = {
            "executionArn": arn,
            "stateMachineArn": sm_arn,
            "name": name,
            "status": status,
            "startDate": _date(start),
            "input": input_text,
            "inputDetails": {"included": True},
            "redriveCount": redrives,
        }
        if stop is not None:
            out["stopDate"] = _date(stop)
        if output is not None:
            out["output"] = output
            out["outputDetails"] = {"included": True}
        if error is not None:
            out["error"] = error
        if cause is not None:
            out["cause"] = cause
        if redrive_date is not None:
            out["redriveDate"] = _date(redrive_date)
        out["redriveStatus"] = (
            "REDRIVABLE" if status in ("FAILED", "TIMED_OUT", "ABORTED") else "NOT_REDRIVABLE"
        )
        return out

    def list_executions(
        self,
        stateMachineArn: str | None = None,
        statusFilter: str | None = None,
        maxResults: int = 100,
        nextToken: str | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        """A tenant's client may leave out ``stateMachineArn`` to list all its executions."""
        if stateMachineArn is not None or self.tenant is None:
            self._state_machine(str(stateMachineArn), "ListExecutions")
        limit = min(max(int(maxResults or 100), 1), 1000)
        before = _page_token(nextToken, "ListExecutions")
        status = statusFilter
        with self.db.transaction(write=False) as tx:
            if self.tenant is None:
                rows = tx.fetch(
                    "list_executions", (stateMachineArn, status, status, before, limit + 1)
                )
            else:
                by = (self.tenant, stateMachineArn, stateMachineArn, status, status)
                rows = tx.fetch("list_tenant_executions", (*by, before, limit + 1))
        page = rows[:limit]
        out: dict[str, Any] = {
            "executions": [
                {
                    "executionArn": arn,
                    "stateMachineArn": sm,
                    "name": name,
                    "status": status,
                    "startDate": _date(start),
                    **({"stopDate": _date(stop)} if stop else {}),
                    "redriveCount": redrives,
                }
                for _, arn, sm, name, status, start, stop, redrives in page
            ]
        }
        if len(rows) > limit:
            out["nextToken"] = str(page[-1][0])
        return out

    def get_execution_history(
        self,
        executionArn: str,
        maxResults: int = MAX_HISTORY_PAGE,
        reverseOrder: bool = False,
        nextToken: str | None = None,
        includeExecutionData: bool = True,
        **_: Any,
    ) -> dict[str, Any]:
        execution_id = self._execution(executionArn, "GetExecutionHistory")[0]
        limit = min(max(int(maxResults or MAX_HISTORY_PAGE), 1), MAX_HISTORY_PAGE)
        with self.db.transaction(write=False) as tx:
            # Event ids run without gaps, so the ids a page needs (one more, to know whether
            # a next page exists) name the rows that hold them.
            if reverseOrder:
                if nextToken:
                    before = _page_token(nextToken, "GetExecutionHistory")
                else:
                    newest = tx.fetchone("history_last", (execution_id,))
                    before = (newest[0] if newest else 0) + 1
                lowest = max(before - limit - 1, 0)
                pages = tx.fetch("history_reverse", (execution_id, before, lowest))
                rows = [e for p in pages for e in reversed(loads(p[0])) if lowest <= e[0] < before]
            else:
                after = _page_token(nextToken, "GetExecutionHistory", start=0)
                until = after + limit + 1
                pages = tx.fetch("history", (execution_id, after, until))
                rows = [e for p in pages for e in loads(p[0]) if after < e[0] <= until]
        events = []
        for eid, prev, kind, ts, key, details in rows[:limit]:
            event: dict[str, Any] = {
                "timestamp": _date(ts),
                "type": kind,
                "id": eid,
                "previousEventId": prev,
            }
            if key is not None:
                body: dict[str, Any] = details or {}
                if not includeExecutionData:
                    body = {
                        k: v for k, v in body.items() if k not in ("input", "output", "parameters")
                    }
                event[key] = body
            events.append(event)
        out: dict[str, Any] = {"events": events}
        if len(rows) > limit:
            out["nextToken"] = str(events[-1]["id"])
        return out

    def stop_execution(
        self, executionArn: str, error: str | None = None, cause: str | None = None, **_: Any
    ) -> dict[str, Any]:
        row = self._execution(executionArn, "StopExecution")
        now = self.runtime.clock.now()
        if row[4] == "RUNNING":
            event = {"t": "stop", "error": error, "cause": cause}
            with self.db.transaction() as tx:
                self.runtime.post(tx, row[0], event, now)
            # As on Step Functions, the execution is ABORTED when the call returns, worker
            # or no worker; only one in the middle of a worker's round ends with that round.
            self.runtime.run_now(row[0], now)
        return {"stopDate": _date(now)}

    def redrive_execution(self, executionArn: str, **_: Any) -> dict[str, Any]:
        row = self._execution(executionArn, "RedriveExecution")
        if row[4] not in ("FAILED", "TIMED_OUT", "ABORTED"):
            raise ClientError(
                "ExecutionNotRedrivable",
                f"Execution is {row[4]} and cannot be redriven",
                "RedriveExecution",
            )
        with self.db.transaction(write=False) as tx:
            newest = tx.fetchone("history_last", (row[0],))
        if newest is not None and newest[0] >= MAX_HISTORY_EVENTS - 1:
            raise ClientError(
                "ExecutionNotRedrivable",
                f"Execution's history has {newest[0]} events, the most it may have",
                "RedriveExecution",
            )
        now = self.runtime.clock.now()
        with self.db.transaction() as tx:
            tx.execute("mark_redriven", (now, row[0]))
            self.runtime.post(tx, row[0], {"t": "redrive"}, now)
        return {"redriveDate": _date(now)}

    # -- callbacks -----------------------------------------------------------------------
    def send_task_success(self, taskToken: str, output: str, **_: Any) -> dict[str, Any]:
        problem = payload_problem(output)
        if problem is not None:
            raise ClientError("InvalidOutput", f"Invalid output: {problem}", "SendTaskSuccess")
        self._answer_one(TaskAnswer(taskToken, output=loads(output)))
        return {}

    def send_task_failure(
        self, taskToken: str, error: str | None = None, cause: str | None = None, **_: Any
    ) -> dict[str, Any]:
        if len(error or "") > 256 or len(cause or "") > 32768:
            raise ClientError(
                "ValidationException",
                "error is limited to 256 characters and cause to 32768",
                "SendTaskFailure",
            )
        self._answer_one(TaskAnswer(taskToken, error=error or "", cause=cause or ""))
        return {}

    def send_task_heartbeat(self, taskToken: str, **_: Any) -> dict[str, Any]:
        with self.db.transaction() as tx:
            self._answer_in(tx, taskToken, None, {"t": "heartbeat"}, "SendTaskHeartbeat")
        return {}

    def _answer_one(self, answer: TaskAnswer) -> None:
        with self.db.transaction() as tx:
            [outcome] = self.answer_tasks(tx, [answer])
            if outcome is not None:
                raise outcome

    def answer_tasks(
        self, tx: Transaction, answers: Sequence[TaskAnswer]
    ) -> list[ClientError | None]:
        """invoiceflow's own batch form of SendTaskSuccess/SendTaskFailure: every answer in
        the caller's transaction, so a batch costs one commit and is atomic with the caller's
        own writes. Each answer's outcome, in order (None, or the error the single call would
        raise); workers anywhere wake when the caller's transaction commits."""
        out: list[ClientError | None] = []
        for answer in answers:
            try:
                self._answer_in(tx, answer.token, "DONE", answer.event(), answer.operation)
            except ClientError as exc:
                out.append(exc)
            else:
                out.append(None)
        return out

    def _answer_in(
        self,
        tx: Transaction,
        token: str,
        close_as: str | None,
        event: dict[str, Any],
        operation: str,
    ) -> None:
        if not tokens.well_formed(token):
            raise ClientError("InvalidToken", "Invalid Token: malformed task token", operation)
        digest = tokens.digest(token)
        if self.tenant is not None:
            owner = tx.fetchone("token_tenant", (digest,))
            if owner is None or owner[0] != self.tenant:
                raise ClientError("TaskDoesNotExist", "Task Does Not Exist", operation)
        # Closing an open token is the usual case and one statement; only when nothing was
        # closed (or for a heartbeat, which closes nothing) do we look at why.
        row = tx.fetchone("close_token", (close_as, digest)) if close_as is not None else None
        if row is None:
            status_row = tx.fetchone("token_status", (digest,))
            if status_row is None:
                raise ClientError("TaskDoesNotExist", "Task Does Not Exist", operation)
            status, execution_id, task_id = status_row
            if status != "OPEN" or close_as is not None:
                raise ClientError(
                    "TaskTimedOut",
                    "Task Timed Out: the task has already been closed or has timed out",
                    operation,
                )
        else:
            execution_id, task_id = row
        self.runtime.post(tx, execution_id, {**event, "task": task_id}, self.runtime.clock.now())


@dataclass(frozen=True, slots=True)
class TaskAnswer:
    """One answer for ``answer_tasks``: success with ``output``, or failure with ``error``."""

    token: str
    output: Any = None
    error: str | None = None
    cause: str = ""

    @property
    def operation(self) -> str:
        return "SendTaskSuccess" if self.error is None else "SendTaskFailure"

    def event(self) -> dict[str, Any]:
        """The mailbox event the waiting task receives."""
        if self.error is None:
            return {"t": "result", "ok": True, "output": self.output}
        return {"t": "result", "ok": False, "error": self.error, "cause": self.cause}


def _page_token(token: str | None, operation: str, start: int = 2**62) -> int:
    """The position a nextToken stands for: an id to continue from (``start`` without one)."""
    if not token:
        return start
    if not token.isdigit() or len(token) > 18:
        raise ClientError("InvalidToken", "Invalid Token: not a token this call gave", operation)
    return int(token)


def _check_durability(durability: object, operation: str) -> None:
    if durability is not None and durability not in DURABILITIES:
        raise ClientError(
            "ValidationException",
            f"1 validation error detected: Value {durability!r} at 'durability' failed to "
            f"satisfy constraint: Member must satisfy enum value set: [{', '.join(DURABILITIES)}]",
            operation,
        )


def _check_definition(definition: str) -> None:
    problems = validate(definition)
    if problems:
        raise ClientError(
            "InvalidDefinition",
            "Invalid State Machine Definition: " + "; ".join(str(p) for p in problems),
            "CreateStateMachine",
        )
