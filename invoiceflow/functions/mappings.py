"""Event source mappings: which queue feeds which handler, and how (Lambda's model).

A mapping is a row; pollers in any worker read it. ``BatchSize`` up to 10,000 (above 10
only with a batching window, as Lambda requires), ``MaximumBatchingWindowInSeconds`` up to
300, ``ScalingConfig.MaximumConcurrency`` 2 to 1,000 batches at once across all workers,
and ``FunctionResponseTypes: ["ReportBatchItemFailures"]`` for partial batch failures.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from invoiceflow.client_errors import ServiceError
from invoiceflow.queues import QueueError, Queues, names
from invoiceflow.store import ConstraintViolation, Database, Transaction

REPORT_FAILURES = "ReportBatchItemFailures"


class MappingError(ServiceError):
    pass


@dataclass(frozen=True, slots=True)
class Mapping:
    id: int
    uuid: str
    queue: str
    function: str
    batch_size: int = 10
    batch_window: float = 0.0
    max_concurrency: int | None = None
    report_failures: bool = False
    enabled: bool = True
    modified: float = 0.0

    def describe(self, region: str = names.REGION, account: str = names.ACCOUNT) -> dict[str, Any]:
        """The mapping as Lambda's GetEventSourceMapping shows it."""
        out: dict[str, Any] = {
            "UUID": self.uuid,
            "BatchSize": self.batch_size,
            "MaximumBatchingWindowInSeconds": int(self.batch_window),
            "EventSourceArn": names.queue_arn(self.queue),
            "FunctionArn": f"arn:aws:lambda:{region}:{account}:function:{self.function}",
            "LastModified": self.modified,
            "State": "Enabled" if self.enabled else "Disabled",
            "StateTransitionReason": "USER_INITIATED",
            "FunctionResponseTypes": [REPORT_FAILURES] if self.report_failures else [],
        }
        if self.max_concurrency is not None:
            out["ScalingConfig"] = {"MaximumConcurrency": self.max_concurrency}
        return out


def _from_row(row: tuple[Any, ...]) -> Mapping:
    mid, uid, queue, function, size, window, concurrency, report, enabled, modified = row
    return Mapping(
        mid, uid, queue, function, size, window, concurrency, bool(report), bool(enabled), modified
    )


def _checked(m: Mapping) -> Mapping:
    def bad(message: str) -> MappingError:
        return MappingError("InvalidParameterValueException", message)

    if not 1 <= m.batch_size <= 10_000:
        raise bad("BatchSize must be between 1 and 10000 for an SQS event source.")
    if not 0 <= m.batch_window <= 300:
        raise bad("MaximumBatchingWindowInSeconds must be between 0 and 300.")
    if m.batch_size > 10 and m.batch_window < 1:
        raise bad(
            "Maximum batch window in seconds must be greater than 0 if maximum batch size "
            "is greater than 10"
        )
    if m.max_concurrency is not None and not 2 <= m.max_concurrency <= 1000:
        raise bad("ScalingConfig.MaximumConcurrency must be between 2 and 1000.")
    return m


class Mappings:
    def __init__(
        self, db: Database, queues: Queues, clock: Callable[[], float] = time.time
    ) -> None:
        self.db = db
        self.queues = queues
        self.now = clock

    def create(
        self,
        queue_arn: str,
        function: str,
        *,
        batch_size: int = 10,
        batch_window: float = 0.0,
        max_concurrency: int | None = None,
        report_failures: bool = False,
        enabled: bool = True,
    ) -> Mapping:
        name = names.name_of(queue_arn)
        try:
            queue = self.queues.get(name or "")
        except QueueError:
            raise MappingError(
                "InvalidParameterValueException", f"Event source {queue_arn} does not exist."
            ) from None
        m = _checked(
            Mapping(
                0,
                str(uuid.uuid4()),
                queue.name,
                _function_name(function),
                batch_size,
                float(batch_window),
                max_concurrency,
                report_failures,
                enabled,
                self.now(),
            )
        )
        try:
            with self.db.transaction() as tx:
                row = tx.fetchone("insert_mapping", (m.uuid, m.queue, m.function, *_settings(m)))
                assert row is not None
                m = replace(m, id=row[0])
                self._slots(tx, m)
        except ConstraintViolation:  # UNIQUE (queue, function)
            raise MappingError(
                "ResourceConflictException",
                f"An event source mapping with SQS arn {queue.arn} and function "
                f"{m.function} already exists.",
            ) from None
        return m

    def _slots(self, tx: Transaction, m: Mapping) -> None:
        tx.execute("delete_slots", (m.id,))
        for slot in range(m.max_concurrency or 0):
            tx.execute("insert_slot", (m.id, slot))

    def get(self, mapping_uuid: str) -> Mapping:
        with self.db.transaction(write=False) as tx:
            row = tx.fetchone("get_mapping", (mapping_uuid,))
        if row is None:
            raise MappingError(
                "ResourceNotFoundException",
                f"The resource you requested does not exist: {mapping_uuid}",
            )
        return _from_row(row)

    def all(self) -> list[Mapping]:
        with self.db.transaction(write=False) as tx:
            return [_from_row(r) for r in tx.fetch("list_mappings")]

    def update(self, mapping_uuid: str, **changes: Any) -> Mapping:
        m = _checked(replace(self.get(mapping_uuid), **changes, modified=self.now()))
        with self.db.transaction() as tx:
            tx.execute("update_mapping", (*_settings(m), m.id))
            self._slots(tx, m)
        return m

    def delete(self, mapping_uuid: str) -> Mapping:
        m = self.get(mapping_uuid)
        with self.db.transaction() as tx:
            tx.execute("delete_mapping", (m.id,))
            tx.execute("delete_slots", (m.id,))
        return m


def _settings(m: Mapping) -> tuple[Any, ...]:
    """The settable columns, in the order insert_mapping and update_mapping take them."""
    return (
        m.batch_size,
        m.batch_window,
        m.max_concurrency,
        int(m.report_failures),
        int(m.enabled),
        m.modified,
    )


def _function_name(ref: str) -> str:
    """A function name from a name or a function ARN (arn:aws:lambda:R:A:function:NAME)."""
    parts = ref.split(":")
    return parts[6] if ref.startswith("arn:") and len(parts) > 6 else ref
