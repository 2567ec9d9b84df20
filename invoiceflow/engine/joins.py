"""Map and Parallel states: fanning a frame out into child frames and joining their results.

A Map launches one child frame per item, at most MaxConcurrency at a time (0 means no limit);
a Parallel launches one per branch. A failing child fails the state, aborting its siblings,
unless a Map's ToleratedFailureCount/Percentage allows it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from invoiceflow.engine import errors
from invoiceflow.engine.commands import CancelTask, CancelTimer
from invoiceflow.engine.errors import StatesError
from invoiceflow.engine.values import dumps

if TYPE_CHECKING:
    from invoiceflow.engine.core import Frame, Run
    from invoiceflow.engine.definition import State


def _count(value: Any, name: str, upper: float | None = None) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and value >= 0
    if not ok or (upper is not None and value > upper):
        raise StatesError(
            errors.RUNTIME, f"{name} must be a non-negative number, got {dumps(value)}"
        )
    return float(value)


def start_map(
    run: Run, fid: str, fr: Frame, st: State, raw: Any, ctx: dict[str, Any], variables: Any
) -> None:
    eff = st.flow.effective_input(raw, ctx, variables)
    states = {"input": raw, "context": ctx}
    if st.items is not None:
        items = st.items(eff, ctx, variables, states)
    else:
        items = raw if st.jsonata else eff
    if not isinstance(items, list):
        raise StatesError(
            errors.RUNTIME,
            f"Items of the Map state '{st.name}' must be a JSON array, got {dumps(items)}",
        )
    limit = 0.0
    if st.max_concurrency is not None:
        limit = _count(st.max_concurrency(eff, ctx, variables, states), "MaxConcurrency")
    join: dict[str, Any] = {
        "n": len(items),
        "next": 0,
        "run": 0,
        "done": 0,
        "fail": 0,
        "max": int(limit),
        "res": [None] * len(items),
        "kids": {},
        "items": items,
        "eff": eff,
    }
    if st.tolerated_count is not None:
        join["tc"] = _count(
            st.tolerated_count(eff, ctx, variables, states), "ToleratedFailureCount"
        )
    if st.tolerated_percentage is not None:
        join["tp"] = _count(
            st.tolerated_percentage(eff, ctx, variables, states), "ToleratedFailurePercentage", 100
        )
    run.emit(fr, "MapStateStarted", "mapStateStartedEventDetails", {"length": len(items)})
    if not items:
        run.emit(fr, "MapStateSucceeded")
        run.complete_work(fid, fr, st, [])
        return
    fr["join"] = join
    fr["ph"] = "join"
    launch(run, fid, fr, st)


def launch(run: Run, fid: str, fr: Frame, st: State) -> None:
    join = fr["join"]
    machine = run.defn.machines[st.branches[0]]
    if join["next"] >= join["n"]:
        return
    variables = run.variables(fid)
    base_ctx = run.context(fr, st)
    while join["next"] < join["n"] and (join["max"] == 0 or join["run"] < join["max"]):
        i = join["next"]
        value = join["items"][i]
        if st.item_selector is not None:
            ctx = dict(base_ctx, Map={"Item": {"Index": i, "Value": value}})
            states = {"input": fr["in"], "context": ctx}
            value = st.item_selector(join["eff"], ctx, variables, states)
        join["next"] = i + 1
        join["run"] += 1
        run.emit(
            fr,
            "MapIterationStarted",
            "mapIterationStartedEventDetails",
            {"name": st.name, "index": i},
        )
        kid = run.new_frame(machine.key, machine.start_at, value, fid, i)
        run.ex["frames"][kid]["ev"] = fr["ev"]
        join["kids"][str(i)] = kid
    if join["next"] >= join["n"]:
        join.pop("items", None)
        join.pop("eff", None)


def start_parallel(
    run: Run, fid: str, fr: Frame, st: State, raw: Any, ctx: dict[str, Any], variables: Any
) -> None:
    eff = st.flow.effective_input(raw, ctx, variables)
    payload = st.flow.task_input(raw, eff, ctx, variables)
    run.emit(fr, "ParallelStateStarted")
    n = len(st.branches)
    fr["join"] = {"n": n, "done": 0, "run": n, "res": [None] * n, "kids": {}}
    fr["ph"] = "join"
    for i, key in enumerate(st.branches):
        machine = run.defn.machines[key]
        kid = run.new_frame(key, machine.start_at, payload, fid, i)
        run.ex["frames"][kid]["ev"] = fr["ev"]
        fr["join"]["kids"][str(i)] = kid


def child_done(
    run: Run, fid: str, fr: Frame, parent: str, out: Any, error: str | None, cause: str | None
) -> None:
    frames = run.ex["frames"]
    del frames[fid]
    pfr = frames[parent]
    st = run.state_of(pfr)
    join = pfr["join"]
    idx = fr["idx"]
    join["kids"].pop(str(idx), None)
    join["run"] -= 1
    is_map = st.type == "Map"
    if error is None:
        join["res"][idx] = out
        if is_map:
            _iteration_event(run, fr, st, idx, "Succeeded")
    else:
        if is_map:
            _iteration_event(run, fr, st, idx, "Failed")
        join["fail"] = join.get("fail", 0) + 1
        if not tolerated(join):
            abort_children(run, pfr, st)
            pfr.pop("join")
            pfr["ph"] = "run"
            pfr["ev"] = fr["ev"]
            run.emit(pfr, f"{st.type}StateFailed")
            if "tc" in join or "tp" in join:
                error = errors.EXCEED_TOLERATED_FAILURE_THRESHOLD
                cause = "The specified tolerated failure threshold was exceeded"
            run.fail_state(parent, pfr, error, cause or "")
            return
        join["res"][idx] = {"Error": error, "Cause": cause}
    join["done"] += 1
    pfr["ev"] = fr["ev"]
    if is_map:
        launch(run, parent, pfr, st)
    if join["done"] == join["n"]:
        pfr.pop("join")
        pfr["ph"] = "run"
        run.emit(pfr, f"{st.type}StateSucceeded")
        run.guard(parent, pfr, lambda: run.complete_work(parent, pfr, st, join["res"]))


def tolerated(join: dict[str, Any]) -> bool:
    failed = join["fail"]
    if "tc" in join and failed <= join["tc"]:
        return True
    return "tp" in join and failed * 100.0 / join["n"] <= join["tp"]


def abort_children(run: Run, pfr: Frame, st: State) -> None:
    for idx, kid in list(pfr["join"]["kids"].items()):
        child = run.ex["frames"].get(kid)
        if child is None:
            continue
        abort_frame(run, kid)
        if st.type == "Map":
            run.emit(
                child,
                "MapIterationAborted",
                "mapIterationAbortedEventDetails",
                {"name": st.name, "index": int(idx)},
            )
    pfr["join"]["kids"] = {}


def abort_frame(run: Run, fid: str, *, keep: bool = False) -> None:
    """Stop a frame and everything below it, cancelling its pending task and timers."""
    fr = run.ex["frames"].get(fid)
    if fr is None:
        return
    st = run.state_of(fr)
    ph = fr["ph"]
    if ph == "join":
        abort_children(run, fr, st)
        fr.pop("join", None)
    task = fr.pop("task", None)
    if task is not None:
        run.cancel_task_timers(fid, task)
        run.step.commands.append(CancelTask(task["id"], task.get("token")))
    timer = fr.pop("timer", None)
    if timer is not None:
        run.step.commands.append(CancelTimer(timer))
    if ph in ("task", "wait", "join") and st.type in ("Task", "Wait", "Map", "Parallel"):
        run.emit(fr, f"{st.type}StateAborted")
    if not keep:
        del run.ex["frames"][fid]


def _iteration_event(run: Run, fr: Frame, st: State, idx: int, outcome: str) -> None:
    run.emit(
        fr,
        f"MapIteration{outcome}",
        f"mapIteration{outcome}EventDetails",
        {"name": st.name, "index": idx},
    )
