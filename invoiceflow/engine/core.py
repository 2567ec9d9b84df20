"""The interpreter: ``advance(definition, state, event, env) -> Step``, with no I/O.

An execution's state is plain JSON-ready data: a tree of *frames* (the top level, each Map
iteration, each Parallel branch), each at one state of its (sub-)machine and in one phase:

    enter  about to enter its state          run    about to (re)run its state's work
    task   waiting for a task's result       wait   waiting for a Wait state's timer
    retry  waiting for a retry's timer       join   a Map/Parallel waiting for its children
    failed the top level failed (kept for redrive)

``advance`` feeds one event in, runs every frame that can make progress without waiting, and
returns the commands for the runtime (invoke a task, set or cancel a timer, finish) together
with the history events, already numbered. The runtime commits all of it in one transaction.
"""

from __future__ import annotations

from collections import ChainMap, deque
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any

import orjson

from invoiceflow.engine import errors, joins
from invoiceflow.engine.choice import parse_timestamp
from invoiceflow.engine.commands import CancelTask, CancelTimer, Env, Invoke, SetTimer, Step
from invoiceflow.engine.definition import Definition, State
from invoiceflow.engine.errors import StatesError
from invoiceflow.engine.paths import PathError
from invoiceflow.engine.resources import TOKEN
from invoiceflow.engine.values import MAX_PAYLOAD, dumps
from invoiceflow.limits import MAX_HISTORY_EVENTS

Frame = dict[str, Any]
_MARGIN = 16  # levels the runtime may add around a state's value when storing it


def new_state() -> dict[str, Any]:
    return {"status": "RUNNING", "eid": 0, "nf": 0, "nt": 0, "frames": {}}


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def advance(defn: Definition, ex: dict[str, Any], event: dict[str, Any], env: Env) -> Step:
    """Apply one event to the execution state ``ex`` (mutated in place) and run it as far
    as it goes without waiting."""
    run = Run(defn, ex, env)
    try:
        run.dispatch(event)
        run.drain()
    except HistoryFull:
        run.history_full()
    return run.step


class HistoryFull(Exception):
    """The execution has as many history events as it may have (``MAX_HISTORY_EVENTS``)."""


class Run:
    def __init__(self, defn: Definition, ex: dict[str, Any], env: Env) -> None:
        self.defn = defn
        self.ex = ex
        self.env = env
        self.step = Step()
        self.ready: deque[str] = deque()
        self.closing = False

    # -- history -------------------------------------------------------------------------
    def emit(self, fr: Frame | None, kind: str, key: str | None = None, details: Any = None) -> int:
        eid = self.ex["eid"] + 1
        if eid >= MAX_HISTORY_EVENTS and not self.closing:
            raise HistoryFull  # the last event is kept for ExecutionFailed
        self.ex["eid"] = eid
        self.env.budget -= 1
        prev = fr["ev"] if fr is not None else eid - 1
        self.step.history.append((eid, prev, kind, self.env.now, key, details))
        if fr is not None:
            fr["ev"] = eid
        return int(eid)

    # -- events --------------------------------------------------------------------------
    def dispatch(self, event: dict[str, Any]) -> None:
        kind = event["t"]
        if kind == "start":
            self.start(event["input"])
        elif kind == "stop":
            self.terminate("ABORTED", event.get("error"), event.get("cause"))
        elif kind == "redrive":
            self.redrive()
        elif self.ex["status"] != "RUNNING":
            return
        elif kind == "timer":
            self.on_timer(event["timer"])
        elif kind in ("result", "submitted", "heartbeat"):
            self.on_task_event(event)
        elif kind == "continue":
            self.resume()
        else:
            raise ValueError(f"unknown event {kind!r}")

    def start(self, value: Any) -> None:
        self.emit(
            None,
            "ExecutionStarted",
            "executionStartedEventDetails",
            {
                "input": dumps(value),
                "inputDetails": {"truncated": False},
                "roleArn": self.env.execution.get("RoleArn", ""),
                "stateMachineArn": self.env.state_machine["Id"],
            },
        )
        self.new_frame("", self.defn.root.start_at, value, None, -1)
        if self.defn.timeout_seconds:
            self.step.commands.append(
                SetTimer("execution:timeout", self.env.now + self.defn.timeout_seconds)
            )

    def redrive(self) -> None:
        if self.ex["status"] not in ("FAILED", "TIMED_OUT", "ABORTED"):
            return
        self.ex["status"] = "RUNNING"
        self.ex["redrives"] = self.ex.get("redrives", 0) + 1
        self.emit(
            None,
            "ExecutionRedriven",
            "executionRedrivenEventDetails",
            {"redriveCount": self.ex["redrives"]},
        )
        root = self.ex["frames"].get("0")
        if root is not None:
            root["ph"] = "enter"
            root["rc"] = {}
            root["ev"] = self.ex["eid"]
            self.ready.append("0")

    def resume(self) -> None:
        """Pick up the frames a spent budget left ready, in the order they were made."""
        queued = set(self.ready)
        for fid in sorted(self.ex["frames"], key=int):
            if fid not in queued and self.ex["frames"][fid]["ph"] in ("enter", "run"):
                self.ready.append(fid)

    def history_full(self) -> None:
        """Fail the execution as Step Functions does when its history reaches the quota:
        whatever was running is cancelled, and ExecutionFailed is the last event."""
        self.closing = True
        self.ready.clear()
        root = self.ex["frames"].get("0")
        if root is not None:
            # Cancel tasks and timers, but record no abort events: there is no room left.
            mark, eid = len(self.step.history), self.ex["eid"]
            joins.abort_frame(self, "0", keep=True)
            root["ph"] = "failed"
            del self.step.history[mark:]
            self.ex["eid"] = eid
        self.ex["status"] = "FAILED"
        error = errors.RUNTIME
        cause = (
            f"The execution reached the maximum number of history events "
            f"({MAX_HISTORY_EVENTS}). Split the work, for example into child executions."
        )
        self.emit(
            None, "ExecutionFailed", "executionFailedEventDetails", {"error": error, "cause": cause}
        )
        self.step.status = "FAILED"
        self.step.error, self.step.cause = error, cause
        self.cancel_execution_timer()

    def on_timer(self, timer_id: str) -> None:
        """Timer ids are "<frame>:<kind>:<n>"; kinds wait and retry resume the frame, kinds
        timeout and heartbeat expire the task <n> if it is still the one running."""
        if timer_id == "execution:timeout":
            self.terminate("TIMED_OUT", errors.TIMEOUT, "The execution timed out.")
            return
        fid, kind, ref = timer_id.split(":", 2)
        fr = self.ex["frames"].get(fid)
        if fr is None:
            return
        if kind in ("timeout", "heartbeat"):
            if fr["ph"] == "task" and fr["task"]["id"] == ref:
                self.on_task_timeout(fid, fr, kind)
            return
        if fr.get("timer") != timer_id:
            return
        del fr["timer"]
        if fr["ph"] == "wait":
            self.finish_wait(fid, fr)
        elif fr["ph"] == "retry":
            fr["ph"] = "run"
            self.ready.append(fid)

    def on_task_timeout(self, fid: str, fr: Frame, kind: str) -> None:
        error = errors.HEARTBEAT_TIMEOUT if kind == "heartbeat" else errors.TIMEOUT
        task = fr.pop("task")
        self.cancel_task_timers(fid, task)
        self.step.commands.append(CancelTask(task["id"], task.get("token")))
        st = self.state_of(fr)
        res = st.resource
        assert res is not None
        if res.direct_lambda:
            self.emit(
                fr,
                "LambdaFunctionTimedOut",
                "lambdaFunctionTimedOutEventDetails",
                {"error": error, "cause": ""},
            )
        else:
            self.emit(
                fr,
                "TaskTimedOut",
                "taskTimedOutEventDetails",
                {
                    "resourceType": res.service,
                    "resource": res.history_name,
                    "error": error,
                    "cause": "",
                },
            )
        self.fail_state(fid, fr, error, "")

    def on_task_event(self, event: dict[str, Any]) -> None:
        task_id: str = event["task"]
        fid = task_id.partition(".")[0]
        fr = self.ex["frames"].get(fid)
        if fr is None or fr["ph"] != "task" or fr["task"]["id"] != task_id:
            return  # a late answer for an attempt that timed out, was retried or aborted
        st = self.state_of(fr)
        res = st.resource
        assert res is not None
        kind = event["t"]
        if kind == "heartbeat":
            hb = fr["task"].get("hb")
            if hb:
                self.step.commands.append(SetTimer(f"{fid}:heartbeat:{task_id}", self.env.now + hb))
            return
        if kind == "submitted":
            self.emit(
                fr,
                "TaskSubmitted",
                "taskSubmittedEventDetails",
                {
                    "resourceType": res.service,
                    "resource": res.history_name,
                    "output": dumps(event.get("output")),
                    "outputDetails": {"truncated": False},
                },
            )
            return
        task = fr.pop("task")
        self.cancel_task_timers(fid, task)
        if event["ok"]:
            output = event.get("output")
            if res.direct_lambda:
                self.emit(
                    fr,
                    "LambdaFunctionSucceeded",
                    "lambdaFunctionSucceededEventDetails",
                    {"output": dumps(output), "outputDetails": {"truncated": False}},
                )
            else:
                self.emit(
                    fr,
                    "TaskSucceeded",
                    "taskSucceededEventDetails",
                    {
                        "resourceType": res.service,
                        "resource": res.history_name,
                        "output": dumps(output),
                        "outputDetails": {"truncated": False},
                    },
                )
            self.guard(fid, fr, lambda: self.complete_work(fid, fr, st, output))
        else:
            error, cause = event.get("error") or "", event.get("cause") or ""
            if res.direct_lambda:
                self.emit(
                    fr,
                    "LambdaFunctionFailed",
                    "lambdaFunctionFailedEventDetails",
                    {"error": error, "cause": cause},
                )
            else:
                self.emit(
                    fr,
                    "TaskFailed",
                    "taskFailedEventDetails",
                    {
                        "resourceType": res.service,
                        "resource": res.history_name,
                        "error": error,
                        "cause": cause,
                    },
                )
            self.fail_state(fid, fr, error, cause)

    def cancel_task_timers(self, fid: str, task: dict[str, Any]) -> None:
        if task.get("to"):
            self.step.commands.append(CancelTimer(f"{fid}:timeout:{task['id']}"))
        if task.get("hb"):
            self.step.commands.append(CancelTimer(f"{fid}:heartbeat:{task['id']}"))

    # -- frames --------------------------------------------------------------------------
    def new_frame(self, machine: str, state: str, value: Any, parent: str | None, idx: int) -> str:
        """Create a frame entering ``state``; the top level is frame "0"."""
        fid = str(self.ex["nf"])
        self.ex["nf"] += 1
        fr: Frame = {"sm": machine, "st": state, "in": value, "ph": "enter", "ev": 0}
        if parent is not None:
            fr["parent"] = parent
            fr["idx"] = idx
        self.ex["frames"][fid] = fr
        self.ready.append(fid)
        return fid

    def state_of(self, fr: Frame) -> State:
        return self.defn.machines[fr["sm"]].states[fr["st"]]

    def variables(self, fid: str) -> ChainMap[str, Any] | None:
        scopes = []
        frames = self.ex["frames"]
        cur: str | None = fid
        while cur is not None:
            fr = frames[cur]
            if "vars" in fr:
                scopes.append(fr["vars"])
            cur = fr.get("parent")
        return ChainMap(*scopes) if scopes else None

    def context(self, fr: Frame, st: State) -> dict[str, Any]:
        ctx: dict[str, Any] = {
            "Execution": self.env.execution,
            "StateMachine": self.env.state_machine,
            "State": {
                "Name": st.name,
                "EnteredTime": fr.get("ent", ""),
                "RetryCount": sum(fr.get("rc", {}).values()),
            },
        }
        task = fr.get("task")
        if task and task.get("token"):
            ctx["Task"] = {"Token": task["token"]}
        return ctx

    def drain(self) -> None:
        frames = self.ex["frames"]
        while self.ready:
            if self.env.budget <= 0:
                self.step.more = self.ex["status"] == "RUNNING"
                return
            fid = self.ready.popleft()
            fr = frames.get(fid)
            if fr is None or self.ex["status"] != "RUNNING":
                continue
            ph = fr["ph"]
            if ph == "enter":
                st = self.state_of(fr)
                fr["ent"] = iso(self.env.now)
                fr["rc"] = {}
                fr["entered"] = self.emit(
                    fr,
                    f"{st.type}StateEntered",
                    "stateEnteredEventDetails",
                    {
                        "name": st.name,
                        "input": dumps(fr["in"]),
                        "inputDetails": {"truncated": False},
                    },
                )
                fr["ph"] = "run"
                self.guard(fid, fr, partial(self.run_state, fid, fr, st))
            elif ph == "run":
                st = self.state_of(fr)
                self.guard(fid, fr, partial(self.run_state, fid, fr, st))

    def guard(self, fid: str, fr: Frame, work: Callable[[], None]) -> None:
        """Run a state's step; a StatesError it raises goes to Retry/Catch."""
        try:
            work()
        except StatesError as exc:
            self.fail_state(fid, fr, exc.error, exc.cause)

    def dumps_checked(self, value: Any) -> str:
        wrapped = value
        for _ in range(_MARGIN):
            wrapped = [wrapped]
        try:
            # Encoded inside _MARGIN lists, so that a value is refused here, where Catch
            # sees it, rather than when the runtime stores it inside the execution state.
            text = dumps(wrapped)[_MARGIN:-_MARGIN]
        except orjson.JSONEncodeError as exc:
            # Only what workflow steps built can get here (every entry point bounds depth):
            # e.g. a loop that wraps its input one level deeper each time round.
            raise StatesError(
                errors.RUNTIME, f"The state's result cannot be stored: {exc}."
            ) from None
        if len(text) > MAX_PAYLOAD:
            raise StatesError(
                errors.DATA_LIMIT_EXCEEDED,
                f"The state/task returned a result with a size exceeding the maximum number "
                f"of bytes service limit ({MAX_PAYLOAD}).",
            )
        return text

    # -- states --------------------------------------------------------------------------
    def run_state(self, fid: str, fr: Frame, st: State) -> None:
        raw = fr["in"]
        variables = self.variables(fid)
        ctx = self.context(fr, st)
        kind = st.type
        if kind == "Pass":
            eff = st.flow.effective_input(raw, ctx, variables)
            result = st.result if st.has_result else st.flow.task_input(raw, eff, ctx, variables)
            self.complete_state(fid, fr, st, raw, result, ctx, variables, already_selected=True)
        elif kind == "Task":
            self.start_task(fid, fr, st, raw, ctx, variables)
        elif kind == "Choice":
            self.run_choice(fid, fr, st, raw, ctx, variables)
        elif kind == "Wait":
            self.start_wait(fid, fr, st, raw, ctx, variables)
        elif kind == "Succeed":
            eff = st.flow.effective_input(raw, ctx, variables)
            out, _ = self.passthrough(st, raw, eff, ctx, variables)
            self.emit(
                fr,
                "SucceedStateExited",
                "stateExitedEventDetails",
                {
                    "name": st.name,
                    "output": self.dumps_checked(out),
                    "outputDetails": {"truncated": False},
                },
            )
            self.frame_succeeded(fid, fr, out)
        elif kind == "Fail":
            states = {"input": raw, "context": ctx}
            error = st.error(raw, ctx, variables, states) if st.error else None
            cause = st.cause(raw, ctx, variables, states) if st.cause else None
            self.frame_failed(fid, fr, _text(error), _text(cause))
        elif kind == "Map":
            joins.start_map(self, fid, fr, st, raw, ctx, variables)
        elif kind == "Parallel":
            joins.start_parallel(self, fid, fr, st, raw, ctx, variables)

    def passthrough(
        self, st: State, raw: Any, eff: Any, ctx: Any, variables: Any
    ) -> tuple[Any, dict[str, Any] | None]:
        """Output and assignments of a state that produces no result (Choice, Wait,
        Succeed): its effective input plays the result, so ``Flow.finish`` serves them too."""
        return st.flow.finish(raw, raw if st.jsonata else eff, ctx, variables)

    def start_task(
        self, fid: str, fr: Frame, st: State, raw: Any, ctx: dict[str, Any], variables: Any
    ) -> None:
        res = st.resource
        assert res is not None
        self.ex["nt"] += 1
        task_id = f"{fid}.{self.ex['nt']}"
        token = self.env.new_token() if res.pattern == TOKEN else None
        task: dict[str, Any] = {"id": task_id}
        if token:
            task["token"] = token
            ctx["Task"] = {"Token": token}
        states = {"input": raw, "context": ctx}
        timeout = _seconds(st.timeout, raw, ctx, variables, states, "TimeoutSeconds")
        heartbeat = _seconds(st.heartbeat, raw, ctx, variables, states, "HeartbeatSeconds")
        eff = st.flow.effective_input(raw, ctx, variables)
        payload = st.flow.task_input(raw, eff, ctx, variables)
        if res.direct_lambda:
            details: dict[str, Any] = {
                "resource": res.arn,
                "input": self.dumps_checked(payload),
                "inputDetails": {"truncated": False},
            }
            if timeout:
                details["timeoutInSeconds"] = int(timeout)
            self.emit(fr, "LambdaFunctionScheduled", "lambdaFunctionScheduledEventDetails", details)
            self.emit(fr, "LambdaFunctionStarted")
        else:
            details = {
                "resourceType": res.service,
                "resource": res.history_name,
                "region": self.env.execution.get("Region", "local"),
                "parameters": self.dumps_checked(payload),
            }
            if timeout:
                details["timeoutInSeconds"] = int(timeout)
            if heartbeat:
                details["heartbeatInSeconds"] = int(heartbeat)
            self.emit(fr, "TaskScheduled", "taskScheduledEventDetails", details)
            self.emit(
                fr,
                "TaskStarted",
                "taskStartedEventDetails",
                {"resourceType": res.service, "resource": res.history_name},
            )
        if timeout:
            task["to"] = timeout
            self.step.commands.append(SetTimer(f"{fid}:timeout:{task_id}", self.env.now + timeout))
        if heartbeat:
            task["hb"] = heartbeat
            self.step.commands.append(
                SetTimer(f"{fid}:heartbeat:{task_id}", self.env.now + heartbeat)
            )
        fr["task"] = task
        fr["ph"] = "task"
        self.step.commands.append(Invoke(task_id, res, payload, token, timeout, heartbeat))

    def complete_work(self, fid: str, fr: Frame, st: State, result: Any) -> None:
        """A Task, Map or Parallel state's work produced ``result``."""
        variables = self.variables(fid)
        ctx = self.context(fr, st)
        self.complete_state(fid, fr, st, fr["in"], result, ctx, variables)

    def complete_state(
        self,
        fid: str,
        fr: Frame,
        st: State,
        raw: Any,
        result: Any,
        ctx: Any,
        variables: Any,
        *,
        already_selected: bool = False,
    ) -> None:
        selected = result if already_selected else st.flow.select(result, ctx, variables)
        out, assigned = st.flow.finish(raw, selected, ctx, variables)
        self.exit_state(fid, fr, st, out, assigned, st.next)

    def exit_state(
        self,
        fid: str,
        fr: Frame,
        st: State,
        out: Any,
        assigned: dict[str, Any] | None,
        nxt: str | None,
    ) -> None:
        details: dict[str, Any] = {
            "name": st.name,
            "output": self.dumps_checked(out),
            "outputDetails": {"truncated": False},
        }
        if assigned:
            fr.setdefault("vars", {}).update(assigned)
            details["assignedVariables"] = {k: dumps(v) for k, v in assigned.items()}
            details["assignedVariablesDetails"] = {"truncated": False}
        self.emit(fr, f"{st.type}StateExited", "stateExitedEventDetails", details)
        fr.pop("rc", None)
        if nxt is None:
            self.frame_succeeded(fid, fr, out)
            return
        fr["st"] = nxt
        fr["in"] = out
        fr["ph"] = "enter"
        self.ready.append(fid)

    def run_choice(
        self, fid: str, fr: Frame, st: State, raw: Any, ctx: Any, variables: Any
    ) -> None:
        eff = st.flow.effective_input(raw, ctx, variables)
        states = {"input": raw, "context": ctx}
        for rule in st.choices:
            if rule.test(eff, ctx, variables, states):
                out, _ = self.passthrough(st, raw, eff, ctx, variables)
                assigned = None
                if rule.flow is not None:
                    _, assigned = rule.flow.finish(raw, eff, ctx, variables)
                self.exit_state(fid, fr, st, out, assigned, rule.next)
                return
        if st.default is None:
            raise StatesError(errors.NO_CHOICE_MATCHED, "No Matches!")
        out, assigned = self.passthrough(st, raw, eff, ctx, variables)
        self.exit_state(fid, fr, st, out, assigned, st.default)

    def start_wait(
        self, fid: str, fr: Frame, st: State, raw: Any, ctx: Any, variables: Any
    ) -> None:
        eff = st.flow.effective_input(raw, ctx, variables)
        states = {"input": raw, "context": ctx}
        if st.seconds is not None:
            seconds = _seconds(st.seconds, eff, ctx, variables, states, "Seconds", allow_zero=True)
            at = self.env.now + (seconds or 0)
        else:
            assert st.timestamp is not None
            at = _timestamp(st.timestamp(eff, ctx, variables, states))
        timer_id = f"{fid}:wait:{self.ex['eid']}"
        fr["timer"] = timer_id
        fr["ph"] = "wait"
        self.step.commands.append(SetTimer(timer_id, at))

    def finish_wait(self, fid: str, fr: Frame) -> None:
        st = self.state_of(fr)
        raw = fr["in"]
        variables = self.variables(fid)
        ctx = self.context(fr, st)

        def work() -> None:
            eff = st.flow.effective_input(raw, ctx, variables)
            out, assigned = self.passthrough(st, raw, eff, ctx, variables)
            self.exit_state(fid, fr, st, out, assigned, st.next)

        self.guard(fid, fr, work)

    # -- errors --------------------------------------------------------------------------
    def fail_state(self, fid: str, fr: Frame, error: str, cause: str) -> None:
        """The current state of frame ``fid`` failed: retry it, catch it, or fail the frame."""
        if fid not in self.ex["frames"] or self.ex["status"] != "RUNNING":
            return
        st = self.state_of(fr)
        for i, retrier in enumerate(st.retry):
            if not errors.matches(retrier.error_equals, error):
                continue
            counts = fr.setdefault("rc", {})
            done = counts.get(str(i), 0)
            if done >= retrier.max_attempts:
                break
            delay = retrier.interval * (retrier.backoff**done)
            if retrier.max_delay is not None:
                delay = min(delay, retrier.max_delay)
            if retrier.jitter:
                delay = self.env.random() * delay
            counts[str(i)] = done + 1
            timer_id = f"{fid}:retry:{self.ex['eid']}"
            fr["timer"] = timer_id
            fr["ph"] = "retry"
            self.step.commands.append(SetTimer(timer_id, self.env.now + delay))
            return
        for catcher in st.catch:
            if not errors.matches(catcher.error_equals, error):
                continue
            error_output = {"Error": error, "Cause": cause}
            variables = self.variables(fid)
            ctx = self.context(fr, st)
            try:
                out, assigned = catcher.flow.finish(
                    fr["in"], error_output, ctx, variables, error_output=error_output
                )
            except StatesError as exc:
                self.frame_failed(fid, fr, exc.error, exc.cause)
                return
            self.exit_state(fid, fr, st, out, assigned, catcher.next)
            return
        if error == errors.RUNTIME or error == errors.DATA_LIMIT_EXCEEDED:
            cause = (
                f"An error occurred while executing the state '{st.name}' "
                f"(entered at the event id #{fr.get('entered', fr['ev'])}). {cause}"
            )
        self.frame_failed(fid, fr, error, cause)

    # -- ends ----------------------------------------------------------------------------
    def frame_succeeded(self, fid: str, fr: Frame, out: Any) -> None:
        parent = fr.get("parent")
        if parent is None:
            self.ex["status"] = "SUCCEEDED"
            self.emit(
                fr,
                "ExecutionSucceeded",
                "executionSucceededEventDetails",
                {"output": dumps(out), "outputDetails": {"truncated": False}},
            )
            del self.ex["frames"][fid]
            self.step.status = "SUCCEEDED"
            self.step.output = out
            self.cancel_execution_timer()
            return
        joins.child_done(self, fid, fr, parent, out, None, None)

    def frame_failed(self, fid: str, fr: Frame, error: str, cause: str) -> None:
        parent = fr.get("parent")
        if parent is None:
            self.ex["status"] = "FAILED"
            fr["ph"] = "failed"
            self.emit(
                fr,
                "ExecutionFailed",
                "executionFailedEventDetails",
                {"error": error, "cause": cause},
            )
            self.step.status = "FAILED"
            self.step.error, self.step.cause = error, cause
            self.cancel_execution_timer()
            return
        joins.child_done(self, fid, fr, parent, None, error, cause)

    def cancel_execution_timer(self) -> None:
        if self.defn.timeout_seconds:
            self.step.commands.append(CancelTimer("execution:timeout"))

    def terminate(self, status: str, error: str | None, cause: str | None) -> None:
        """Stop (ABORTED) or time out (TIMED_OUT) the whole execution."""
        if self.ex["status"] != "RUNNING":
            return
        root = self.ex["frames"].get("0")
        if root is not None:
            joins.abort_frame(self, "0", keep=True)
            root["ph"] = "failed"
        self.ex["status"] = status
        kind = "ExecutionAborted" if status == "ABORTED" else "ExecutionTimedOut"
        details: dict[str, Any] = {}
        if error:
            details["error"] = error
        if cause:
            details["cause"] = cause
        key = (
            "executionAbortedEventDetails"
            if status == "ABORTED"
            else ("executionTimedOutEventDetails")
        )
        self.emit(None, kind, key, details)
        self.step.status = status
        self.step.error, self.step.cause = error, cause
        if status == "ABORTED":
            self.cancel_execution_timer()


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else dumps(value)


def _seconds(
    fn: Any, data: Any, ctx: Any, variables: Any, states: Any, name: str, allow_zero: bool = False
) -> float | None:
    if fn is None:
        return None
    try:
        value = fn(data, ctx, variables, states)
    except PathError as exc:
        raise StatesError(errors.RUNTIME, f"Invalid path for {name}: {exc}") from None
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok or value < 0 or (value == 0 and not allow_zero):
        raise StatesError(errors.RUNTIME, f"{name} must be a positive number, got {dumps(value)}")
    return float(value)


def _timestamp(value: Any) -> float:
    parsed = parse_timestamp(value)
    if parsed is None:
        raise StatesError(
            errors.RUNTIME, f"The timestamp {dumps(value)} is not an RFC 3339 timestamp"
        )
    return parsed.timestamp()
