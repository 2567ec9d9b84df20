"""Every container ends: when its workflow ends without Done, the container goes to Error.

The workflow itself sets Error for whatever it can catch, but Step Functions makes some ends
uncatchable: a stop, the execution's timeout, States.Runtime, States.DataLimitExceeded. On
AWS an EventBridge rule on "Step Functions Execution Status Change" covers those; here the
engine tells ``container_ended`` in the same transaction that records the end, so a
container is never left Processing for good and ``containers retry`` can take it from there.
"""

from __future__ import annotations

import time

import orjson

from invoiceflow.engine.runtime import Ended
from invoiceflow.store import Transaction

ENDED = "containers-ended"  # the channel notified when a container's workflow ends


class ContainerEndings:
    """The hook for one pipeline's state machine (other executions are not its business)."""

    def __init__(self, state_machine_arn: str) -> None:
        self.state_machine_arn = state_machine_arn

    def __call__(self, tx: Transaction, ended: Ended) -> None:
        if ended.state_machine_arn != self.state_machine_arn:
            return
        tx.notify(ENDED)  # whoever waits for files (``submit --wait``) looks again
        if ended.status == "SUCCEEDED":
            return
        given = orjson.loads(ended.input)
        container = given.get("container") if isinstance(given, dict) else None
        if isinstance(container, str):
            reason = describe(ended)
            tx.execute("end_unfinished_container", (reason, time.time(), container, ended.arn))


def describe(ended: Ended) -> str:
    """The end in words, for the container's reason."""
    how = {
        "ABORTED": "The workflow was stopped before it finished",
        "TIMED_OUT": "The workflow timed out before it finished",
    }.get(ended.status, "The workflow failed")
    detail = ": ".join(part for part in (ended.error, ended.cause) if part)
    return f"{how}: {detail}." if detail else f"{how}."
