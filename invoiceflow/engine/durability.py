"""Durability: when a Task's result is committed, and so what a crash may make run again.

Every state machine runs in one of two modes, set with ``durability=`` on
``create_state_machine`` / ``update_state_machine`` (returned by ``describe_state_machine``);
a machine that sets none follows the default of the worker that runs it (``durability=`` on
``Worker``, else on its ``Runtime`` / ``Engine.open``), which is ``batched``. The setting is
read each time a worker takes an execution up, so an update applies from the next round on.

What holds in both modes, whatever instant a worker process dies at (SIGKILL, power cut):

- Transitions happen exactly once. A state transition, its history events, the queue
  messages it sends, the executions it starts and the timers it sets are committed together
  or not at all; after the crash the execution goes on from its last commit, and its history
  has every event once, numbered without gaps.
- A handler (a Lambda Task run in-process) runs at least once per attempt. A handler whose
  result was committed never runs again for that attempt (a Retry is a new attempt).
  A handler whose result was not committed when the process died runs again, and whatever it
  did outside the engine's database before the crash (a card charged, a file written)
  happens again unless it is keyed to be idempotent.

``batched`` (the default): a worker runs an execution's handlers one after another and feeds
each result to the next state without committing in between, for up to a round's handler
budget (``runtime.INLINE_BUDGET``, 0.2 s), then commits every execution of its round at once.
So a Task's handler may start before the previous Task's result is committed, and a crash
before the round's commit repeats every handler the round ran: for one execution, a chain of
consecutive Tasks (Charge, Ship, Notify all again, in order), at most a round's worth.
A callback Task (``.waitForTaskToken``) whose handler ran in that round handed out a token
that was never recorded: answering it fails with ``TaskDoesNotExist``, and the rerun hands
out a new one. This is the fastest mode: one commit per round, however many steps it took.

``per-step``: every Task is recorded as Step Functions Standard records it. Its handler runs
only once the Task's scheduling (``LambdaFunctionScheduled``/``TaskScheduled``, and so
everything before it, the previous Task's result included) is committed, and its result is
committed before any state after it starts. A crash repeats only the handlers that were
running, or had finished but whose results were not committed yet: at most one per path of
the execution (one per running Parallel branch or Map iteration). A handler whose successor
has started never runs again. A callback Task's token is recorded with its scheduling, so a
rerun hands out the same token, and the first answer to it counts. Commits are still
grouped: a round advances every execution it holds by one step (its Tasks scheduled, or its
scheduled Tasks run and their results fed to it), then commits them all in one transaction,
one flush to disk, and takes further steps while the round is young: its handlers have had
less than ``runtime.INLINE_BUDGET`` and the round less than ``runtime.STEPS_TIME`` (0.5 s,
commits included; a stop asked for meanwhile waits for the round). A three-Task workflow
takes four commits instead of one, each serving up to a round's worth of executions. Tasks a
round has no time left for are left as tasks any worker runs, their results committed
likewise before the next state.

Neither mode makes a handler's outside effects exactly-once: per-step narrows what a crash
repeats to the step in flight; only an idempotency key makes the repeat harmless.
"""

from __future__ import annotations

from typing import Final

BATCHED: Final = "batched"
PER_STEP: Final = "per-step"
DURABILITIES: Final = (BATCHED, PER_STEP)


def check(value: object) -> str:
    """``value`` if it names a durability; ``ValueError`` naming the allowed ones if not."""
    if value not in DURABILITIES:
        allowed = ", ".join(DURABILITIES)
        raise ValueError(f"durability must be one of {allowed}, not {value!r}")
    assert isinstance(value, str)
    return value
