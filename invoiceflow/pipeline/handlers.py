"""The pipeline's handlers: what each step of process_file.asl.json does.

Queue-fed handlers take SQS events; each record carries the task token of the workflow step
waiting for it. Work that succeeds answers with SendTaskSuccess; a fault that will not go
away (an unknown container, a count that does not add up) answers with SendTaskFailure at
once; anything else leaves the record to come back after its visibility timeout, and past
maxReceiveCount to the dead-letter queue, whose handler fails the task. Every step is
idempotent, since any of them may run twice.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import structlog

from invoiceflow.digitize import DigitizeError, from_json, load_profile, parse, to_json
from invoiceflow.engine.client import StepFunctionsClient, TaskAnswer
from invoiceflow.pipeline import actions, containers
from invoiceflow.pipeline.blobs import BlobStore
from invoiceflow.store import Database, Savepoint, Transaction

Work = Callable[[dict[str, Any], int], dict[str, Any]]  # a record's body and attempt
TxWork = Callable[[Transaction, dict[str, Any]], dict[str, Any]]
CHUNK = 500  # parsed invoices stored per transaction, at most
CHUNK_BYTES = 256 * 1024  # and at most about this much of their JSON
CHUNK_POSITIONS = 100  # invoices per chunk the workflow's Map hands to its inner Map
# Invoices per execution: each adds 14 history events, and an execution may have 25,000.
# A file with more is processed in batches of this size, each by a child execution.
BATCH = 1000
TRANSIENT_TRIES = 3  # times a batch is tried at once when the store fails it (a deadlock)
SETTINGS_TTL = 1.0  # seconds a tenant's post-creation settings are reused
PREFIX = "invoiceflow-"  # of the pipeline's handler and queue names
DEAD_LETTER_HANDLER = f"{PREFIX}dead-letter"
KEEP_HIDDEN = 43_200  # seconds a handled dead letter stays out of its handler's way (SQS's most)

log = structlog.get_logger("invoiceflow.pipeline")


class Permanent(Exception):
    """A failure that retrying cannot fix: the task fails at once with this error name."""

    def __init__(self, error: str, cause: str) -> None:
        super().__init__(cause)
        self.error = error


class MalformedFile(Exception):
    """Raised by parse-file for a file that cannot be read; the workflow does not retry it."""


class Handlers:
    def __init__(
        self,
        db: Database,
        blobs: BlobStore,
        sfn: StepFunctionsClient,
        batch: int = BATCH,
        max_receives: int | None = None,
    ) -> None:
        self.batch = batch
        self.max_receives = max_receives  # a step's tries before its message is dead-lettered
        self.db = db
        self.blobs = blobs
        self.sfn = sfn
        self._settings_cache: dict[str, tuple[float, actions.Settings]] = {}

    def table(self) -> dict[str, Callable[[Any, Any], Any]]:
        """Handler names as the workflow and the queue mappings refer to them. They carry
        the ``invoiceflow-`` prefix: handlers share one registry (and queues one store)
        with users' own, who may well have a ``parse-file`` of their own."""
        return {
            f"{PREFIX}parse-file": self.parse_file,
            f"{PREFIX}plan-chunks": self.plan_chunks,
            f"{PREFIX}set-file-processing": self._in_transaction(self.set_file_processing),
            f"{PREFIX}create-invoice": self._in_transaction(self.create_invoice),
            f"{PREFIX}post-creation": self._outside(self.post_creation),
            f"{PREFIX}verify-file": self._in_transaction(self.verify_file),
            f"{PREFIX}set-file-error": self._in_transaction(self.set_file_error),
            DEAD_LETTER_HANDLER: self.dead_letter,
        }

    # -- the steps -----------------------------------------------------------------------
    def set_file_processing(self, tx: Transaction, body: dict[str, Any]) -> dict[str, Any]:
        container = self._container(tx, body)
        if container.state == "Done":
            raise Permanent("AlreadyDone", f"Container {container.id} is already Done.")
        tx.execute("start_processing", (time.time(), container.id))
        return {}

    def parse_file(self, event: dict[str, Any], _context: Any) -> dict[str, Any]:
        """Parse the container's file once; a run after a failure reuses what was stored."""
        with self.db.transaction(write=False) as tx:
            container = self._container(tx, event)
            stored = tx.fetchone("parsed_count", (container.id,))
        if container.parsed_count is not None and stored and stored[0] == container.parsed_count:
            count = container.parsed_count
        else:
            count = self._parse(container)
        if count <= self.batch:
            return {
                "count": count,
                "batched": False,
                "chunks": ranges(0, count - 1, CHUNK_POSITIONS),
            }
        return {"count": count, "batched": True, "batches": ranges(0, count - 1, self.batch)}

    @staticmethod
    def plan_chunks(event: dict[str, Any], _context: Any) -> list[dict[str, int]]:
        """The chunks of one batch of a large file (process_batch.asl.json)."""
        return ranges(int(event["first"]), int(event["last"]), CHUNK_POSITIONS)

    def _parse(self, container: containers.Container) -> int:
        rows: list[tuple[str, int, str]] = []
        count = size = 0
        try:
            rules = load_profile(json.loads(container.profile)) if container.profile else None
        except (ValueError, DigitizeError) as exc:
            raise MalformedFile(
                f"The profile {container.profile_name} cannot be used: {exc}"
            ) from None
        try:
            for position, invoice in enumerate(parse(self.blobs.path(container.blob), rules)):
                text = to_json(invoice).decode()
                if "\\u0000" in text:  # as JSON escapes it; no database column takes it
                    raise MalformedFile(
                        f"Invoice {position + 1} holds a NUL character (U+0000), "
                        "which no invoice field may hold."
                    )
                rows.append((container.id, position, text))
                count += 1
                size += len(text)
                if len(rows) >= CHUNK or size >= CHUNK_BYTES:
                    self._store_parsed(rows)
                    rows, size = [], 0
        except DigitizeError as exc:
            raise MalformedFile(exc.problem.message) from None
        self._store_parsed(rows)
        if count == 0:
            raise MalformedFile("The file holds no invoices.")
        with self.db.transaction() as tx:
            tx.execute("set_parsed_count", (count, time.time(), container.id))
        return count

    def _store_parsed(self, rows: list[tuple[str, int, str]]) -> None:
        """One chunk of a file's invoices. Small commits, so that the store's one writer is
        free for other work (other tenants') between them; not flushed, since the parsed
        count committed after the last chunk flushes them all and nothing counts them
        before."""
        if rows:
            with self.db.transaction(durable=False) as tx:
                tx.executemany("insert_parsed", rows)

    def create_invoice(self, tx: Transaction, body: dict[str, Any]) -> dict[str, Any]:
        position = int(body["position"])
        container = self._container(tx, body)
        row = tx.fetchone("get_parsed", (container.id, position))
        if row is None:
            raise Permanent(
                "NotParsed", f"Container {container.id} has no parsed invoice {position}."
            )
        invoice_id = containers.store_invoice(
            tx, container, position, from_json(row[0]), time.time()
        )
        return {"invoice": invoice_id}

    def post_creation(self, body: dict[str, Any], attempt: int = 1) -> dict[str, Any]:
        """The actions the invoice's tenant configured (see actions); a webhook that is down
        raises, so the queue tries again later. Every failed attempt is logged and recorded
        on the container (``last_error``, ``attempts``), so trouble shows while it lasts."""
        with self.db.transaction(write=False) as tx:
            row = tx.fetchone("get_invoice", (body["invoice"],))
        if row is None:
            raise Permanent("UnknownInvoice", f"Invoice {body['invoice']} does not exist.")
        stored = containers.invoice_from_row(row)
        where = {"container": stored.container_id, "invoice": stored.id, "attempt": attempt}
        try:
            actions.run(self.db, stored, self._settings(stored.tenant))
        except actions.ActionFailed as exc:
            last = self.max_receives is not None and attempt >= self.max_receives
            log.warning(
                "post-creation action failed",
                **where,
                action=exc.action,
                error=str(exc),
                then="dead-letter queue" if last else "tried again",
            )
            now = time.time()
            with self.db.transaction() as tx:
                tx.execute(
                    "record_action_error", (str(exc), attempt, now, now, stored.container_id)
                )
            raise
        if attempt > 1:
            log.info("post-creation actions went through", **where)
        return {}

    def _settings(self, tenant: str) -> actions.Settings:
        """A tenant's actions, read at most once a second: a batch of a hundred invoices
        needs one read, and a change applies within a second."""
        now = time.monotonic()
        cached = self._settings_cache.get(tenant)
        if cached is None or now - cached[0] > SETTINGS_TTL:
            cached = (now, actions.load_settings(self.db, tenant))
            self._settings_cache[tenant] = cached
        return cached[1]

    def verify_file(self, tx: Transaction, body: dict[str, Any]) -> dict[str, Any]:
        container = self._container(tx, body)
        created = self._created(tx, container.id)
        if created != container.parsed_count:
            raise Permanent(
                "CountMismatch",
                f"{created} invoices were created but the file holds {container.parsed_count}.",
            )
        tx.execute("finish_container", ("Done", None, created, time.time(), container.id))
        tx.execute("clear_action_error", (container.id,))
        return {"invoices": created}

    def set_file_error(self, tx: Transaction, body: dict[str, Any]) -> dict[str, Any]:
        reason = _reason(body.get("error") or {})
        container = self._container(tx, body)
        if container.last_error:  # what the step that gave up last met
            reason = f"{reason} Last error (attempt {container.attempts}): {container.last_error}"
        created = self._created(tx, container.id)
        tx.execute("finish_container", ("Error", reason, created, time.time(), container.id))
        return {}

    @staticmethod
    def _created(tx: Transaction, container_id: str) -> int:
        row = tx.fetchone("count_invoices", (container_id,))
        return int(row[0]) if row else 0

    def dead_letter(self, event: dict[str, Any], _context: Any) -> dict[str, Any]:
        """Every message a queue gave up on fails the workflow step that is waiting for it,
        and stays in the dead-letter queue to be looked at (``GET /v1/queues/NAME/messages``)
        until its retention period ends: it is reported back as not done, hidden for the
        longest visibility timeout there is. When it shows again, its step has long been
        answered, so answering again changes nothing, and it is hidden again."""
        records = _records(event)
        queue = event["Records"][0]["eventSourceARN"].rsplit(":", 1)[-1] if event["Records"] else ""
        if records:
            step = queue.removeprefix(PREFIX).removesuffix("-dlq")
            cause = (
                f"The {step} step failed every time it was tried; its message went to the "
                f"dead-letter queue {queue}."
            )
            answers = [
                TaskAnswer(token, error="MessageDeadLettered", cause=cause) for *_, token in records
            ]
            with self.db.transaction() as tx:
                self.sfn.answer_tasks(tx, answers)  # a task that moved on wants no answer
        kept = [(r["receiptHandle"], KEEP_HIDDEN) for r in event["Records"]]
        if kept:
            self.sfn.runtime.queues.change_visibilities(queue, kept)
        return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"]]}

    # -- plumbing ------------------------------------------------------------------------
    def _container(self, tx: Any, body: dict[str, Any]) -> containers.Container:
        container = containers.stored(tx, str(body.get("container")))
        if container is None:
            raise Permanent(
                "UnknownContainer", f"Container {body.get('container')} does not exist."
            )
        return container

    def _in_transaction(self, work: TxWork) -> Callable[[Any, Any], Any]:
        """A batch's records worked on, and their tasks answered, in one transaction (one
        commit per batch); each record under a savepoint, so one that fails alone is undone
        alone. A record whose step no longer waits (its execution was stopped, or the task
        timed out) is undone too: a stopped workflow's container must not go on changing."""

        def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
            # Records in one order everywhere, so that the rows they write (invoices by
            # container and position) are locked in the same order by every batch; the
            # executions they wake are ordered by ``tx.later``. A transient failure (a
            # deadlock all the same, the store gone for a moment) undoes the whole batch,
            # which is tried again at once.
            records = sorted(_records(event), key=_lock_order)
            tries = 1
            while True:
                try:
                    return self._answer_all(work, records)
                except self.db.transient_errors:
                    if tries == TRANSIENT_TRIES:
                        raise
                    tries += 1

        return handler

    def _answer_all(
        self, work: TxWork, records: list[tuple[str, dict[str, Any], str]]
    ) -> dict[str, Any]:
        failures: list[str] = []
        with self.db.transaction() as tx:
            for message_id, body, token in records:
                try:
                    with tx.savepoint() as record:
                        self._answer(tx, work, body, token, record)
                except self.db.transient_errors:
                    raise
                except Exception:
                    failures.append(message_id)
        return {"batchItemFailures": [{"itemIdentifier": m} for m in failures]}

    def _answer(
        self, tx: Transaction, work: TxWork, body: dict[str, Any], token: str, record: Savepoint
    ) -> None:
        """One record worked on and its task answered. A permanent failure answers the
        task with its error, keeping nothing the record wrote; an answer that no step waits
        for keeps nothing either."""
        try:
            answer = TaskAnswer(token, output=work(tx, body))
        except Permanent as exc:
            record.rollback()
            answer = TaskAnswer(token, error=exc.error, cause=str(exc))
        [refused] = self.sfn.answer_tasks(tx, [answer])
        if refused is not None:
            record.rollback()

    def _outside(self, work: Work) -> Callable[[Any, Any], Any]:
        """Records whose work calls out (webhooks) without holding the store's write lock;
        their answers then go in one transaction."""

        def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
            failures: list[str] = []
            answers = []
            for message_id, body, token, attempt in _attempts(event):
                try:
                    output = work(body, attempt)
                except Permanent as exc:
                    answers.append(TaskAnswer(token, error=exc.error, cause=str(exc)))
                except Exception:
                    failures.append(message_id)
                else:
                    answers.append(TaskAnswer(token, output=output))
            if answers:
                with self.db.transaction() as tx:
                    self.sfn.answer_tasks(tx, answers)
            return {"batchItemFailures": [{"itemIdentifier": m} for m in failures]}

        return handler


def ranges(first: int, last: int, size: int) -> list[dict[str, int]]:
    """first..last (inclusive) cut into ranges of at most ``size`` positions."""
    return [
        {"first": start, "last": min(start + size - 1, last)}
        for start in range(first, last + 1, size)
    ]


def _lock_order(record: tuple[str, dict[str, Any], str]) -> tuple[str, int]:
    """Where a record's work lands: its container, then its position in it."""
    body = record[1]
    position = body.get("position")
    return str(body.get("container")), position if isinstance(position, int) else -1


def _records(event: dict[str, Any]) -> list[tuple[str, dict[str, Any], str]]:
    """(message id, body, task token) of each record that a workflow step waits for."""
    out = []
    for record in event["Records"]:
        try:
            body = json.loads(record["body"])
            out.append((record["messageId"], body, str(body["TaskToken"])))
        except (ValueError, KeyError, TypeError):
            continue  # not one of ours: nothing is waiting for it
    return out


def _attempts(event: dict[str, Any]) -> list[tuple[str, dict[str, Any], str, int]]:
    """As ``_records``, with each record's attempt (its ApproximateReceiveCount)."""
    counts = {
        r.get("messageId"): r.get("attributes", {}).get("ApproximateReceiveCount", "1")
        for r in event["Records"]
    }
    out = []
    for message_id, body, token in _records(event):
        try:
            attempt = int(counts.get(message_id) or 1)
        except (TypeError, ValueError):
            attempt = 1
        out.append((message_id, body, token, attempt))
    return out


def _reason(error: dict[str, Any]) -> str:
    """What went wrong, in words: a Lambda error document's message, or the cause as sent."""
    cause = error.get("Cause") or ""
    try:
        document = json.loads(cause)
        if isinstance(document, dict) and document.get("errorMessage"):
            return str(document["errorMessage"])
    except ValueError:
        pass
    return cause or str(error.get("Error") or "Unknown error")
