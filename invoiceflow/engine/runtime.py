"""The runtime: rounds of claim -> advance -> commit around the pure interpreter.

A round claims up to ``limit`` executions that have a due mailbox event, leasing them to one
owner; feeds each its events; runs the handler work the interpreter asks for right away when
the handler is registered here (and keeps doing so while the round is young); and commits
every execution's new state, history, timers, tasks and messages in one transaction. A crash
anywhere before that commit leaves the previous state and the events still in the mailbox:
the next owner repeats the round (handlers run at least once, transitions exactly once).

How far an execution goes between commits is its durability (see ``durability``): a
``batched`` one runs handler after handler before the round's one commit. A ``per-step`` one
takes one step at a time, and the round commits every execution's step together: the first
step feeds the mailbox events and commits the Tasks they lead to as tasks leased to this
owner; each further step runs those tasks' handlers, feeds their results and commits the
Tasks those lead to, while the round is young. What is left when it ends is released as
tasks for any worker.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from functools import partial
from typing import Any, NamedTuple

import structlog

from invoiceflow.engine import tokens
from invoiceflow.engine.commands import CancelTask, CancelTimer, Env, Invoke, SetTimer, Step
from invoiceflow.engine.core import advance, iso, new_state
from invoiceflow.engine.definition import Definition
from invoiceflow.engine.durability import BATCHED, PER_STEP
from invoiceflow.engine.durability import check as check_durability
from invoiceflow.engine.errors import RUNTIME
from invoiceflow.engine.executions import EXECUTIONS
from invoiceflow.engine.handlers import Invoker, Outcome
from invoiceflow.engine.handlers import run as run_handler
from invoiceflow.engine.integrations import Integration, builtin_integrations
from invoiceflow.engine.pool import MAX_TIMEOUT, HandlerPool
from invoiceflow.engine.pool import SIZE as POOL_SIZE
from invoiceflow.engine.resources import TOKEN, parse_resource
from invoiceflow.engine.values import dumps, loads
from invoiceflow.queues import Queues
from invoiceflow.store import Database, Transaction

log = structlog.get_logger("invoiceflow.engine")

INLINE_BUDGET = 0.2  # seconds of a round that may go to handlers before they are deferred
# Seconds a per-step round may go on taking steps, its commits included (they do not count
# against INLINE_BUDGET): a stop waits for the round of the worker that holds its execution.
STEPS_TIME = 0.5
# A handler still running after this long goes on in the background (see pool): the round
# commits without it, and its answer is committed when it comes.
LONG_HANDLER = 0.05
LEASE = 5.0  # seconds an owner holds what it claimed unless it renews (see Worker)
INLINE_EVENTS = 1000  # answers fed straight to one execution per commit, then via mailbox
ROUND_EVENTS = 1000  # history events one execution adds per round before it gives way
TASKS_BACKOFF = 0.25  # seconds before tasks that found no room in the pool are looked at again
HISTORY_ROW = 500  # events stored together; a page of history reads at most a few rows


class Ended(NamedTuple):
    """An execution reached a final status: what ``Runtime.on_end`` hooks are told, inside
    the transaction that records it (as EventBridge's "Execution Status Change" on AWS)."""

    arn: str
    state_machine_arn: str
    name: str
    tenant: str
    status: str
    input: str
    error: str | None
    cause: str | None


class Due(NamedTuple):
    """When the earliest unleased execution and the earliest handler task fall due (None:
    there is none); a worker takes the write lock only for the kind that is due."""

    executions: float | None
    tasks: float | None

    def first(self) -> float | None:
        return min((t for t in self if t is not None), default=None)


class Clock:
    """Wall time, or virtual time that can jump ahead (``skip``) for time-skipping tests."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return time.time() + self.offset

    def skip(self, to: float) -> None:
        self.offset += max(0.0, to - self.now())


@dataclass(slots=True)
class _Claimed:
    id: int
    arn: str
    name: str
    sm_arn: str
    state: dict[str, Any]
    start_date: float
    input: str
    parent: str | None
    redrive_count: int
    tenant: str
    state_text: str
    defn: Definition | None
    env: Env
    consumed: list[int] = field(default_factory=list)
    history: list[tuple[Any, ...]] = field(default_factory=list)
    commands: list[Any] = field(default_factory=list)
    final: Step | None = None
    more: bool = False
    poison: str | None = None  # why this execution cannot go on: it fails alone
    lease: float = LEASE
    per_step: bool = False
    continuing: bool = False  # per step: this commit is followed by another step
    # Per step: Lambda tasks committed as leased to this owner, to run in the next step.
    leased: set[str] = field(default_factory=set)
    # Per step, while committing: the Lambda tasks the next step runs.
    pending: list[Invoke] = field(default_factory=list)


class Runtime:
    def __init__(
        self,
        db: Database,
        definitions: Callable[[str], Definition],
        *,
        invoker: Invoker | None = None,
        clock: Clock | None = None,
        region: str = "us-east-1",
        integrations: dict[str, Integration] | None = None,
        handler_threads: int = POOL_SIZE,
        durability: str = BATCHED,
    ) -> None:
        """``durability`` is the default of the state machines that set none of their own
        (``batched`` or ``per-step``, see ``invoiceflow.engine.durability``)."""
        self.db = db
        self.durability = check_durability(durability)
        self.definitions = definitions
        self.invoker = invoker
        self.clock = clock or Clock()
        self.region = region
        self.queues = Queues(db, self.clock.now)
        self.integrations = builtin_integrations()
        self.integrations.update(integrations or {})
        self.pool = HandlerPool(handler_threads)
        # Until when due tasks wait for room in the pool (every tenant waiting was at its
        # share); an answer from the pool clears it.
        self._tasks_wait_until = 0.0
        # What each owner works on now, whose leases its renewer extends.
        self._lock = threading.Lock()
        self._in_round: dict[str, list[int]] = {}
        self._round_tasks: defaultdict[str, set[tuple[int, str]]] = defaultdict(set)
        self._background: defaultdict[str, set[tuple[int, str]]] = defaultdict(set)
        self._local = threading.local()
        # Called in the transaction that records an execution's end (any final status).
        self.on_end: list[Callable[[Transaction, Ended], None]] = []

    # -- one round -----------------------------------------------------------------------
    def run_round(
        self, owner: str, limit: int = 100, lease: float = LEASE, durability: str | None = None
    ) -> int:
        """Advance up to ``limit`` due executions; returns how many were claimed.
        ``durability`` is the default for this round's state machines that set none
        (this runtime's ``durability`` without one)."""
        now = self.clock.now()
        with self.db.transaction(durable=False) as tx:  # a lease lost in a power cut is moot
            rows = tx.fetch("claim_executions", (owner, now + lease, now, now, limit))
            if not rows:
                return 0
            events = tx.fetch("due_events", (owner, now))
        by_id: dict[int, list[tuple[int, str]]] = defaultdict(list)
        for execution_id, mailbox_id, event in events:
            by_id[execution_id].append((mailbox_id, event))
        ids = [row[0] for row in rows]
        self._in_round[owner] = ids
        per_step = (durability or self.durability) == PER_STEP
        try:
            self._advance_claimed(owner, rows, by_id, now, lease, per_step)
        except BaseException:
            # Whatever this round could not commit is free again at once (the renewer would
            # otherwise keep it leased while this worker lives).
            self._release_round(owner, ids)
            raise
        finally:
            self._in_round.pop(owner, None)
            with self._lock:
                self._round_tasks.pop(owner, None)
        return len(rows)

    def _release_round(self, owner: str, ids: list[int]) -> None:
        with self._lock:
            tasks = list(self._round_tasks.get(owner, ()))
        now = self.clock.now()
        with contextlib.suppress(Exception), self.db.transaction(durable=False) as tx:
            tx.executemany("release_execution", [(i, owner) for i in ids])
            tx.executemany("release_task_of", [(now, e, t, owner) for e, t in tasks])
            tx.notify(EXECUTIONS)  # free for other workers at once

    def run_now(self, execution_id: int, now: float) -> bool:
        """Advance one execution at once, on the caller's thread, with what its mailbox
        holds (a stop just posted): False when a worker holds it right now, and its round
        takes the events instead."""
        owner = f"now-{uuid.uuid4().hex}"
        with self.db.transaction(durable=False) as tx:
            row = tx.fetchone("claim_execution", (owner, now + LEASE, execution_id, now))
            if row is None:
                return False
            events = tx.fetch("due_events", (owner, now))
        by_id: dict[int, list[tuple[int, str]]] = defaultdict(list)
        for claimed_id, mailbox_id, event in events:
            by_id[claimed_id].append((mailbox_id, event))
        try:
            self._advance_claimed(owner, [row], by_id, now, LEASE, self.durability == PER_STEP)
        except BaseException:
            self._release_round(owner, [execution_id])
            raise
        finally:
            with self._lock:
                self._round_tasks.pop(owner, None)
        return True

    def _advance_claimed(
        self,
        owner: str,
        rows: list[tuple[Any, ...]],
        by_id: dict[int, list[tuple[int, str]]],
        now: float,
        lease: float,
        per_step: bool,
    ) -> None:
        """Feed the claimed executions their events, run their handlers and commit. Per
        step, that is the first step, which runs no handler: while the round is young (and,
        after a later step, that step got somewhere) the executions that committed Tasks
        take another step each, running those Tasks' handlers, and every step ends in one
        commit for all of them."""
        began = started = time.monotonic()
        claimed = [self._load(row, now, lease, per_step) for row in rows]
        transient = self.db.transient_errors
        progress = True
        for ex in claimed:
            try:
                for mailbox_id, text in by_id.get(ex.id, ()):
                    if ex.poison:
                        break
                    event = loads(text)
                    if ex.more and event["t"] != "stop":
                        continue  # waits in the mailbox for the next round; a stop does not
                    ex.consumed.append(mailbox_id)
                    self._feed(ex, event)
                self._run_inline(ex, started)
            except transient:
                raise  # the store, not the execution: the round is tried again
            except Exception as exc:  # a defect or a value we cannot handle: this one fails
                ex.poison = _describe(exc)
            if ex.poison:
                ex.consumed = [mailbox_id for mailbox_id, _ in by_id.get(ex.id, ())]
        step = claimed
        while True:
            at = time.monotonic()
            go_on = progress and at - started < INLINE_BUDGET and at - began < STEPS_TIME
            step = self._commit_step(owner, step, go_on, lease)
            if not step:
                return
            started += time.monotonic() - at  # the handlers' budget is for handlers
            progress = False
            for ex in step:
                ex.commands, ex.pending = list(ex.pending), []
                ex.env.now = self.clock.now()
                try:
                    progress = self._run_inline(ex, started) or progress
                except transient:
                    raise
                except Exception as exc:
                    ex.poison = _describe(exc)

    def _commit_step(
        self, owner: str, claimed: list[_Claimed], go_on: bool, lease: float
    ) -> list[_Claimed]:
        """Commit what ``claimed`` did, in one transaction; returns the executions that go
        on to another step (per step, with ``go_on``: those that committed Tasks to run)."""
        go_on = go_on and self.invoker is not None  # without handlers, tasks are for others
        for ex in claimed:
            ex.continuing = go_on and ex.per_step and not ex.more and ex.poison is None
        with self.db.transaction() as tx:
            # Leases that ran out meanwhile may have been claimed by another owner: commit
            # only what this owner still holds (one query for the whole round).
            held = {row[0] for row in tx.fetch("leased_to", (owner,))}
            for ex in claimed:
                if ex.id in held:
                    self._commit_alone(tx, ex, owner)
        going_on = []
        for ex in claimed:  # handlers still running: their answers follow this commit
            if ex.id not in held:
                continue
            for cmd in ex.commands:
                if isinstance(cmd, _Running):
                    self._answer_later(owner, ex.id, cmd.invoke, cmd.future, lease)
            if ex.pending:
                going_on.append(ex)
                ex.consumed, ex.history, ex.commands = [], [], []
        with self._lock:
            self._round_tasks[owner] = {(ex.id, t) for ex in going_on for t in ex.leased}
        return going_on

    def _load(self, row: tuple[Any, ...], now: float, lease: float, per_step: bool) -> _Claimed:
        ex_id, arn, name, sm_arn, state, start_date, input_text, parent, redrives, tenant = row[:10]
        if row[10] is not None:  # the state machine's own setting wins over the default
            per_step = row[10] == PER_STEP
        sm_name = sm_arn.rsplit(":", 1)[-1]
        env = Env(
            now=now,
            execution={
                "Id": arn,
                "Name": name,
                "Input": None,
                "StartTime": iso(start_date),
                "RoleArn": "",
                "RedriveCount": redrives,
                "Region": self.region,
            },
            state_machine={"Id": sm_arn, "Name": sm_name},
            new_token=tokens.new_token,
            budget=ROUND_EVENTS,
        )
        ex = _Claimed(
            id=ex_id,
            arn=arn,
            name=name,
            sm_arn=sm_arn,
            state={},
            start_date=start_date,
            input=input_text,
            parent=parent,
            redrive_count=redrives,
            tenant=tenant,
            state_text=state,
            defn=None,
            env=env,
            lease=lease,
            per_step=per_step,
        )
        try:
            env.execution["Input"] = loads(input_text)
            ex.state = loads(state)
            ex.defn = self.definitions(sm_arn)
        except self.db.transient_errors:
            raise
        except Exception as exc:
            ex.poison = _describe(exc)
        return ex

    def _feed(self, ex: _Claimed, event: dict[str, Any]) -> None:
        assert ex.defn is not None
        step = advance(ex.defn, ex.state, event, ex.env)
        ex.history.extend(step.history)
        ex.commands.extend(step.commands)
        ex.more = ex.more or step.more  # an answer fed later in the round readies nothing
        if step.status is not None:
            ex.final = step

    def _run_inline(self, ex: _Claimed, started: float) -> bool:
        """Run registered handlers now, feeding their results back, while the round is
        young; True if a handler finished. A handler that is not done when the round's
        time is up goes on running on its pool thread, committed as a task leased here
        (``_Running``); what the pool has no room for is committed as a task for any
        worker to take. Per step, only the handlers of tasks committed in an earlier step
        run: the Tasks their results lead to wait for the results to be committed."""
        if self.invoker is None:
            return False
        invoker = self.invoker
        ran = False
        i = 0
        while i < len(ex.commands):
            cmd = ex.commands[i]
            i += 1
            if not isinstance(cmd, Invoke) or cmd.resource.service not in _LAMBDA:
                continue
            if ex.per_step and cmd.task_id not in ex.leased:
                continue
            left = INLINE_BUDGET - (time.monotonic() - started)
            if ex.more or left <= 0:
                break
            if not self.pool.has_room(ex.tenant):
                continue  # the tenant's share of the pool is in use: a task waits for it
            began = self.clock.now()
            call = partial(run_handler, invoker, cmd, ex.arn)
            finished, outcome = self.pool.call(cmd.resource.arn, call, LONG_HANDLER)
            if not finished:
                self.pool.went_long(ex.tenant, outcome, cmd.timeout)
                ex.commands[i - 1] = _Running(cmd, outcome)
                continue
            ran = True
            if cmd.task_id in ex.leased:  # its task (and token) were committed: it is done
                ex.commands[i - 1] = _Finished(cmd.task_id)
            else:
                ex.commands[i - 1] = None  # handled here: nothing to commit for it
                if cmd.token is not None:
                    ex.commands.append(_TokenOnly(cmd))
            ex.env.now = self.clock.now()
            if cmd.timeout is not None and ex.env.now > began + cmd.timeout:
                continue  # too late: the timeout timer decides
            self._feed(ex, _answer(cmd.task_id, cmd.token is not None, outcome))
        return ran

    # -- commit --------------------------------------------------------------------------
    def _commit_alone(self, tx: Transaction, ex: _Claimed, owner: str) -> None:
        """Commit one execution's round under a savepoint of its own: whatever goes wrong
        with it (a value too deep to store, a defect) fails that execution alone, and the
        round's other executions commit as usual."""
        if ex.poison is None:
            try:
                with tx.savepoint():
                    self._commit(tx, ex, owner)
            except self.db.transient_errors:
                raise  # the store, not the execution: the whole round is tried again
            except Exception as exc:
                ex.poison = _describe(exc)
            if ex.poison is None:
                return
        ex.commands = [c for c in ex.commands if not isinstance(c, _Running)]
        ex.pending, ex.continuing = [], False
        self._fail(tx, ex, owner, ex.poison)  # its tasks go, leased ones too
        ex.leased.clear()

    def _fail(self, tx: Transaction, ex: _Claimed, owner: str, reason: str) -> None:
        """Record ``ex`` as FAILED with States.Runtime, from the state it had before this
        round: the events it was fed are consumed, so they cannot poison the next owner."""
        now = self.clock.now()
        cause = f"The execution could not go on: {reason}"
        try:
            state = loads(ex.state_text)
            eid = int(state["eid"])
        except Exception:  # unreadable: its history goes on from its newest event
            newest = tx.fetchone("history_last", (ex.id,))
            state, eid = new_state(), int(newest[0]) if newest else 0
        root = state.get("frames", {}).get("0")
        if root is not None:
            # Kept for redrive, which re-enters the state the execution was in.
            for key in ("task", "timer", "join"):
                root.pop(key, None)
            root["ph"] = "failed"
            state["frames"] = {"0": root}
        events: list[tuple[Any, ...]] = []
        if eid == 0:  # it failed on its start: the history still begins with it
            started = {
                "input": ex.input,
                "inputDetails": {"truncated": False},
                "roleArn": "",
                "stateMachineArn": ex.sm_arn,
            }
            events.append((1, 0, "ExecutionStarted", now, "executionStartedEventDetails", started))
            eid = 1
        details = {"error": RUNTIME, "cause": cause}
        events.append(
            (eid + 1, eid, "ExecutionFailed", now, "executionFailedEventDetails", details)
        )
        state["status"] = "FAILED"
        state["eid"] = eid + 1
        # Nothing it was waiting for may wake it again: its timers, tasks and tokens go.
        tx.execute("drop_mailbox", (ex.id,))
        tx.execute("drop_tasks", (ex.id,))
        tx.execute("expire_tokens", (ex.id,))
        tx.execute(
            "save_execution", (dumps(state), "FAILED", None, RUNTIME, cause, now, ex.id, owner)
        )
        tx.execute("insert_history", (ex.id, events[0][0], eid + 1, dumps(events)))
        ex.env.now = now
        final = Step(status="FAILED", error=RUNTIME, cause=cause)
        if ex.parent:
            self._notify_parent(tx, ex, final)
        self._ended(tx, ex, final)

    def _ended(self, tx: Transaction, ex: _Claimed, final: Step) -> None:
        """Tell the end hooks, each under a savepoint: a hook that fails is logged and
        undone, and never changes how the execution ended."""
        if not self.on_end:
            return
        ended = Ended(
            ex.arn,
            ex.sm_arn,
            ex.name,
            ex.tenant,
            final.status or "",
            ex.input,
            final.error,
            final.cause,
        )
        for hook in self.on_end:
            try:
                with tx.savepoint():
                    hook(tx, ended)
            except Exception:
                log.exception("end of execution hook failed", execution=ex.arn)

    def _commit(self, tx: Transaction, ex: _Claimed, owner: str) -> None:
        if ex.consumed:
            tx.executemany("consume_event", [(m,) for m in ex.consumed])
        if ex.final is None and ex.state.get("status") != "RUNNING":
            # Late events (a child's end, a timer) for an execution that has ended: it
            # ignored them, and its record stays as it ended.
            tx.execute("settle_execution", (ex.id, owner))
            ex.pending = []
            return
        now = ex.env.now
        # Events the integrations answer at once (a message sent, an execution started) are
        # fed to the execution here instead of making a round trip through its mailbox; what
        # they lead to is committed in the same pass.
        inline = _Inline(ex.id, now)
        self._local.inline = inline
        try:
            i = 0
            while i < len(ex.commands):
                cmd = ex.commands[i]
                i += 1
                if cmd is not None:
                    self._apply(tx, ex, cmd, now, owner)
                while inline.events:
                    self._feed(ex, inline.events.pop(0))
        finally:
            self._local.inline = None
        final = ex.final
        state = dumps(ex.state)
        if final:
            ex.pending = []
        if ex.pending:  # the next step follows at once: the lease stays
            tx.execute("save_execution_held", (state, ex.id, owner))
        else:
            tx.execute(
                "save_execution",
                (
                    state,
                    final.status if final else "RUNNING",
                    dumps(final.output) if final and final.status == "SUCCEEDED" else None,
                    final.error if final else None,
                    final.cause if final else None,
                    ex.env.now if final else None,
                    ex.id,
                    owner,
                ),
            )
        ex.state_text = state  # what a failure in a later step goes back to
        history = ex.history
        for i in range(0, len(history), HISTORY_ROW):  # rows small enough to read for a page
            part = history[i : i + HISTORY_ROW]
            tx.execute("insert_history", (ex.id, part[0][0], part[-1][0], dumps(part)))
        if ex.more and not final:
            # The budget ran out with frames ready: continue in a later round, after
            # whatever else is due (a stop, other executions, a shutdown).
            tx.execute("enqueue", (ex.id, now, _CONTINUE))
            tx.execute("wake", (now, ex.id, now))
            tx.notify(EXECUTIONS)
        if final:
            if ex.parent:
                self._notify_parent(tx, ex, final)
            self._ended(tx, ex, final)

    def _apply(self, tx: Transaction, ex: _Claimed, cmd: Any, now: float, owner: str) -> None:
        if isinstance(cmd, _Running):
            invoke = cmd.invoke
            if invoke.task_id in ex.leased:  # its task is committed: the answer settles it
                ex.leased.discard(invoke.task_id)
                return
            if invoke.token is not None:
                tx.execute(
                    "insert_token", (tokens.digest(invoke.token), ex.id, invoke.task_id, now)
                )
            deadline = now + invoke.timeout if invoke.timeout else None
            row = (ex.id, invoke.task_id, invoke.resource.arn, dumps(invoke.payload), deadline)
            tx.execute("insert_task", (*row, now + ex.lease, owner))
        elif isinstance(cmd, SetTimer):
            tx.execute(
                "set_timer",
                (ex.id, cmd.at, cmd.timer_id, dumps({"t": "timer", "timer": cmd.timer_id})),
            )
        elif isinstance(cmd, CancelTimer):
            tx.execute("cancel_timer", (ex.id, cmd.timer_id))
        elif isinstance(cmd, _TokenOnly):
            tx.execute("insert_token", (tokens.digest(cmd.token), ex.id, cmd.task_id, now))
        elif isinstance(cmd, _Finished):
            ex.leased.discard(cmd.task_id)
            tx.execute("finish_task", (ex.id, cmd.task_id, owner))
        elif isinstance(cmd, Invoke):
            if cmd.task_id in ex.leased:  # committed in an earlier step, not run in this one
                if ex.continuing:
                    ex.pending.append(cmd)
                else:
                    ex.leased.discard(cmd.task_id)
                    tx.execute("release_task_of", (now, ex.id, cmd.task_id, owner))
                return
            if cmd.token is not None:
                tx.execute("insert_token", (tokens.digest(cmd.token), ex.id, cmd.task_id, now))
            if ex.continuing and cmd.resource.service in _LAMBDA:
                # Per step: its handler runs in this owner's next step, after this commit;
                # leased meanwhile, so that if this owner dies another worker runs it.
                deadline = now + cmd.timeout if cmd.timeout else None
                row = (ex.id, cmd.task_id, cmd.resource.arn, dumps(cmd.payload), deadline)
                tx.execute("insert_task", (*row, now + ex.lease, owner))
                ex.leased.add(cmd.task_id)
                ex.pending.append(cmd)
                return
            self._invoke(tx, ex, cmd, now)
        elif isinstance(cmd, CancelTask):
            tx.execute("cancel_task", (ex.id, cmd.task_id))
            tx.execute("expire_task_token", (ex.id, cmd.task_id))
            ex.leased.discard(cmd.task_id)
            ex.pending = [p for p in ex.pending if p.task_id != cmd.task_id]

    def _invoke(self, tx: Transaction, ex: _Claimed, cmd: Invoke, now: float) -> None:
        service = cmd.resource.service
        if service in _LAMBDA:
            deadline = now + cmd.timeout if cmd.timeout else None
            tx.execute(
                "insert_task",
                (ex.id, cmd.task_id, cmd.resource.arn, dumps(cmd.payload), deadline, now, None),
            )
            return
        integration = self.integrations.get(service)
        if integration is None:
            self.post(
                tx,
                ex.id,
                {
                    "t": "result",
                    "task": cmd.task_id,
                    "ok": False,
                    "error": "States.Runtime",
                    "cause": f"No integration for {cmd.resource.arn} is installed",
                },
                now,
            )
            return
        integration(self, tx, ex.id, ex.arn, ex.tenant, cmd, now)

    def _notify_parent(self, tx: Transaction, ex: _Claimed, final: Step) -> None:
        link = loads(ex.parent or "{}")
        if link.get("pattern") not in ("sync", "sync:2"):
            return
        described = {
            "ExecutionArn": ex.arn,
            "StateMachineArn": ex.sm_arn,
            "Name": ex.name,
            "Status": final.status,
            "StartDate": ex.start_date,
            "StopDate": ex.env.now,
            "Input": ex.input,
        }
        if final.status == "SUCCEEDED":
            out = dumps(final.output)
            described["Output"] = final.output if link["pattern"] == "sync:2" else out
            if link["pattern"] == "sync:2":
                described["Input"] = loads(ex.input)
            event = {"t": "result", "task": link["task"], "ok": True, "output": described}
        else:
            event = {
                "t": "result",
                "task": link["task"],
                "ok": False,
                "error": "States.TaskFailed",
                "cause": dumps(described),
            }
        self.post(tx, link["execution"], event, ex.env.now)

    def next_due(self) -> Due:
        """When the earliest unleased execution and handler task fall due (read-only)."""
        with self.db.transaction(write=False) as tx:
            row = tx.fetchone("next_due", (self.clock.now(),))
            task = tx.fetchone("next_task_due") if self.invoker is not None else None
        task_due = task[0] if task else None
        if task_due is not None:
            task_due = max(task_due, self._tasks_wait_until)
        return Due(row[0] if row else None, task_due)

    def renew(self, owner: str, lease: float = LEASE) -> None:
        """Extend the leases of what ``owner`` is working on right now: the executions of
        its round, the tasks its round runs in its next step (per step) and its handlers
        running in the background. Only those: anything else it may still hold (a round
        that failed) runs out and is taken over."""
        until = self.clock.now() + lease
        with self._lock:
            executions = list(self._in_round.get(owner, ()))
            tasks = [*self._background.get(owner, ()), *self._round_tasks.get(owner, ())]
        if not executions and not tasks:
            return
        with self.db.transaction(durable=False) as tx:
            tx.executemany("renew_execution", [(until, i, owner) for i in executions])
            tx.executemany("renew_task", [(until, e, t, owner) for e, t in tasks])

    def release(self, owner: str) -> None:
        """Give up every lease ``owner`` holds, so the work is free to claim at once."""
        with self.db.transaction(durable=False) as tx:
            tx.execute("release_execution_leases", (owner,))
            tx.execute("release_task_leases", (self.clock.now(), owner))
            tx.notify(EXECUTIONS)

    # -- mailbox -------------------------------------------------------------------------
    def post(self, tx: Transaction, execution_id: int, event: dict[str, Any], at: float) -> None:
        """Deliver ``event`` to an execution at time ``at``, inside the caller's transaction
        (or, for the execution this thread is committing, straight to it)."""
        pending: _Inline | None = getattr(self._local, "inline", None)
        if pending is not None and pending.accepts(execution_id, at):
            pending.events.append(event)
            return
        tx.execute("enqueue", (execution_id, at, dumps(event)))
        tx.later(execution_id, "wake", (at, execution_id, at))  # row locks in id order
        tx.notify(EXECUTIONS)

    # -- deferred handler work -----------------------------------------------------------
    def run_tasks(self, owner: str, limit: int = 20, lease: float = LEASE) -> int:
        """Run handler tasks no worker finished inline, while the batch is young and as far
        as each task's tenant has room in the pool; returns how many were taken. Answers
        that come in time are committed together; the others as they come."""
        if self.invoker is None:
            return 0
        now = self.clock.now()
        with self.db.transaction(durable=False) as tx:
            # At most a share's worth of each tenant's oldest: one tenant's backlog does
            # not hide the others' tasks.
            rows = tx.fetch("due_tasks", (now, self.pool.per_tenant, limit))
            taken: dict[str, int] = defaultdict(int)
            picked = []
            for row in rows:
                if self.pool.has_room(row[-1], taken[row[-1]]):
                    taken[row[-1]] += 1
                    picked.append(row)
            claimed = [
                r for r in picked if tx.execute("claim_task", (owner, now + lease, r[0], now))
            ]
        if rows and not picked:  # every tenant waiting is at its share: look again later
            self._tasks_wait_until = now + TASKS_BACKOFF
        unsettled = {row[0] for row in claimed}
        try:
            return self._run_claimed_tasks(owner, claimed, unsettled, now, lease)
        except BaseException:
            with contextlib.suppress(Exception), self.db.transaction(durable=False) as tx:
                tx.executemany("release_task", [(now, i, owner) for i in unsettled])
            raise

    def _run_claimed_tasks(
        self,
        owner: str,
        claimed: list[tuple[Any, ...]],
        unsettled: set[int],
        now: float,
        lease: float,
    ) -> int:
        assert self.invoker is not None
        invoker = self.invoker
        started = time.monotonic()
        done: list[tuple[int, dict[str, Any]]] = []
        release: list[int] = []
        for row_id, execution_id, task_id, resource, payload, deadline, tenant in claimed:
            left = INLINE_BUDGET - (time.monotonic() - started)
            if left <= 0 or not self.pool.has_room(tenant):
                release.append(row_id)
                continue
            res = parse_resource(resource)
            assert res is not None
            timeout = deadline - now if deadline is not None else None
            token = "" if res.pattern == TOKEN else None  # its token was recorded already
            cmd = Invoke(task_id, res, loads(payload), token, timeout, None)
            call = partial(run_handler, invoker, cmd, "")
            finished, outcome = self.pool.call(resource, call, LONG_HANDLER)
            if not finished:
                self.pool.went_long(tenant, outcome, timeout)
                self._answer_later(owner, execution_id, cmd, outcome, lease)
                unsettled.discard(row_id)
                continue
            done.append((execution_id, _answer(task_id, token is not None, outcome)))
        if done or release:
            with self.db.transaction() as tx:
                for execution_id, event in done:
                    if tx.execute("finish_task", (execution_id, event["task"], owner)):
                        self.post(tx, execution_id, event, self.clock.now())
                tx.executemany("release_task", [(now, row_id, owner) for row_id in release])
        unsettled.clear()
        return len(claimed) - len(release)

    def _answer_later(
        self, owner: str, execution_id: int, cmd: Invoke, future: Future[Outcome], lease: float
    ) -> None:
        """Commit a pool handler's answer when it comes, if its task is still this owner's
        (a task whose lease ran out was taken over, and the new owner answers). Until then
        this owner renews the task's lease. A handler whose task gives no timeout fails
        after Lambda's longest, 900 s, as Lambda would end it (Sandbox.Timedout); its thread
        cannot be stopped, but its execution goes on."""
        key = (execution_id, cmd.task_id)
        with self._lock:
            self._background[owner].add(key)
        settled = threading.Event()
        timer: threading.Timer | None = None

        def settle(outcome: Outcome) -> None:
            with self._lock:
                if settled.is_set():
                    return
                settled.set()
            event = _answer(cmd.task_id, cmd.token is not None, outcome)
            self._tasks_wait_until = 0.0  # room in the pool again
            try:
                with self.db.transaction() as tx:
                    if tx.execute("finish_task", (execution_id, cmd.task_id, owner)):
                        self.post(tx, execution_id, event, self.clock.now())
            except Exception:
                log.exception("a handler's answer could not be committed", task=cmd.task_id)
                with contextlib.suppress(Exception), self.db.transaction(durable=False) as tx:
                    tx.execute("release_task_of", (self.clock.now(), *key, owner))  # runs again
            finally:
                with self._lock:
                    self._background[owner].discard(key)

        def done(finished: Future[Outcome]) -> None:
            if timer is not None:
                timer.cancel()
            try:
                outcome = finished.result()
            except Exception as exc:  # the invoker broke its promise not to raise
                outcome = {"ok": False, "error": RUNTIME, "cause": _describe(exc)}
            settle(outcome)

        if cmd.timeout is None:  # with one, the task's own timer ends it in the engine
            limit = MAX_TIMEOUT
            timed_out = {
                "ok": False,
                "error": "Sandbox.Timedout",
                "cause": f"Task timed out after {limit:.2f} seconds",
            }
            timer = threading.Timer(limit, settle, (timed_out,))
            timer.daemon = True
            timer.start()
        future.add_done_callback(done)

    def wait_for_handlers(self, timeout: float) -> bool:
        """Wait until no handler of this runtime is running (for tests and tools that
        drive rounds themselves); False if one still is after ``timeout`` seconds."""
        return self.pool.wait_idle(timeout)


_LAMBDA = ("lambda-function", "lambda")
_CONTINUE = dumps({"t": "continue"})


def _answer(task_id: str, callback: bool, outcome: Outcome) -> dict[str, Any]:
    """The mailbox event a handler's outcome becomes: for a callback task (waitForTaskToken)
    a success only says it was handed over; the answer comes with the token."""
    if callback and outcome["ok"]:
        return {"t": "submitted", "task": task_id, "output": {"StatusCode": 202}}
    return {"t": "result", "task": task_id, **outcome}


def _describe(exc: Exception) -> str:
    text = str(exc) or "no detail"
    return f"{type(exc).__name__}: {text[:500]}"


@dataclass(slots=True)
class _Inline:
    """Answers for the execution being committed, fed to it in the same commit. Bounded, so
    a workflow that loops through instant failures still goes round its mailbox."""

    execution_id: int
    now: float
    events: list[dict[str, Any]] = field(default_factory=list)
    taken: int = 0

    def accepts(self, execution_id: int, at: float) -> bool:
        if execution_id != self.execution_id or at > self.now or self.taken >= INLINE_EVENTS:
            return False
        self.taken += 1
        return True


@dataclass(slots=True)
class _Running:
    """A handler still running on the pool when its round commits: committed as a task
    leased to this owner, answered when it is done."""

    invoke: Invoke
    future: Future[Outcome]


@dataclass(slots=True)
class _Finished:
    """A task committed as leased to this owner in an earlier step whose handler has now
    run here: its row goes in the commit that records the answer."""

    task_id: str


@dataclass(slots=True)
class _TokenOnly:
    """A callback task whose handler already ran inline: only its token is left to record."""

    task_id: str
    token: str

    def __init__(self, cmd: Invoke) -> None:
        self.task_id = cmd.task_id
        self.token = cmd.token or ""
