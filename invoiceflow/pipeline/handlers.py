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
from functools import partial
from typing import Any

import orjson

from invoiceflow.client_errors import ClientError
from invoiceflow.digitize import DigitizeError, from_json, parse, to_json
from invoiceflow.pipeline import actions, containers
from invoiceflow.pipeline.blobs import BlobStore
from invoiceflow.store import Database

Work = Callable[[dict[str, Any]], dict[str, Any]]
CHUNK = 500  # parsed invoices stored per transaction


class Permanent(Exception):
    """A failure that retrying cannot fix: the task fails at once with this error name."""

    def __init__(self, error: str, cause: str) -> None:
        super().__init__(cause)
        self.error = error


class MalformedFile(Exception):
    """Raised by parse-file for a file that cannot be read; the workflow does not retry it."""


class Handlers:
    def __init__(self, db: Database, blobs: BlobStore, sfn: Any) -> None:
        self.db = db
        self.blobs = blobs
        self.sfn = sfn

    def table(self) -> dict[str, Callable[[Any, Any], Any]]:
        """Handler names as the workflow and the queue mappings refer to them."""
        return {
            "parse-file": self.parse_file,
            "set-file-processing": self._queue_fed(self.set_file_processing),
            "create-invoice": self._queue_fed(self.create_invoice),
            "post-creation": self._queue_fed(self.post_creation),
            "verify-file": self._queue_fed(self.verify_file),
            "set-file-error": self._queue_fed(self.set_file_error),
            "dead-letter": self.dead_letter,
        }

    # -- the steps -----------------------------------------------------------------------
    def set_file_processing(self, body: dict[str, Any]) -> dict[str, Any]:
        with self.db.transaction() as tx:
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
        return {"count": count, "positions": list(range(count))}

    def _parse(self, container: containers.Container) -> int:
        rows: list[tuple[str, int, str]] = []
        count = 0
        try:
            for position, invoice in enumerate(parse(self.blobs.path(container.blob))):
                rows.append((container.id, position, to_json(invoice).decode()))
                count += 1
                if len(rows) >= CHUNK:
                    self._store_parsed(rows)
                    rows = []
        except DigitizeError as exc:
            raise MalformedFile(exc.problem.message) from None
        self._store_parsed(rows)
        if count == 0:
            raise MalformedFile("The file holds no invoices.")
        with self.db.transaction() as tx:
            tx.execute("set_parsed_count", (count, time.time(), container.id))
        return count

    def _store_parsed(self, rows: list[tuple[str, int, str]]) -> None:
        if rows:
            with self.db.transaction() as tx:
                tx.executemany("insert_parsed", rows)

    def create_invoice(self, body: dict[str, Any]) -> dict[str, Any]:
        position = int(body["position"])
        with self.db.transaction() as tx:
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

    def post_creation(self, body: dict[str, Any]) -> dict[str, Any]:
        """The actions the invoice's tenant configured (see actions); a webhook that is down
        raises, so the queue tries again later."""
        with self.db.transaction(write=False) as tx:
            row = tx.fetchone("get_invoice", (body["invoice"],))
        if row is None:
            raise Permanent("UnknownInvoice", f"Invoice {body['invoice']} does not exist.")
        stored = containers.invoice_from_row(row)
        actions.run(self.db, stored, actions.load_settings(self.db, stored.tenant))
        return {}

    def verify_file(self, body: dict[str, Any]) -> dict[str, Any]:
        with self.db.transaction() as tx:
            container = self._container(tx, body)
            created = int(tx.fetchone("count_invoices", (container.id,))[0])  # type: ignore[index]
            if created != container.parsed_count:
                raise Permanent(
                    "CountMismatch",
                    f"{created} invoices were created but the file holds {container.parsed_count}.",
                )
            tx.execute("finish_container", ("Done", None, created, time.time(), container.id))
        return {"invoices": created}

    def set_file_error(self, body: dict[str, Any]) -> dict[str, Any]:
        reason = _reason(body.get("error") or {})
        with self.db.transaction() as tx:
            container = self._container(tx, body)
            created = int(tx.fetchone("count_invoices", (container.id,))[0])  # type: ignore[index]
            tx.execute("finish_container", ("Error", reason, created, time.time(), container.id))
        return {}

    def dead_letter(self, event: dict[str, Any], _context: Any) -> None:
        """Every message a queue gave up on fails the workflow step that is waiting for it."""
        for record in event["Records"]:
            try:
                token = json.loads(record["body"])["TaskToken"]
            except (ValueError, KeyError, TypeError):
                continue  # not one of ours: nothing is waiting for it
            queue = record["eventSourceARN"].rsplit(":", 1)[-1].removesuffix("-dlq")
            _answer(
                partial(
                    self.sfn.send_task_failure,
                    taskToken=token,
                    error="MessageDeadLettered",
                    cause=f"The {queue} step failed every time it was tried; "
                    "its message went to the dead-letter queue.",
                )
            )

    # -- plumbing ------------------------------------------------------------------------
    def _container(self, tx: Any, body: dict[str, Any]) -> containers.Container:
        container = containers.get(tx, str(body.get("container")))
        if container is None:
            raise Permanent(
                "UnknownContainer", f"Container {body.get('container')} does not exist."
            )
        return container

    def _queue_fed(self, work: Work) -> Callable[[Any, Any], Any]:
        def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
            failures = []
            for record in event["Records"]:
                try:
                    body = json.loads(record["body"])
                    token = body["TaskToken"]
                except (ValueError, KeyError, TypeError):
                    continue  # not one of ours: nothing is waiting for it
                try:
                    output = work(body)
                except Permanent as exc:
                    _answer(
                        partial(
                            self.sfn.send_task_failure,
                            taskToken=token,
                            error=exc.error,
                            cause=str(exc),
                        )
                    )
                    continue
                except Exception:
                    failures.append({"itemIdentifier": record["messageId"]})
                    continue
                _answer(
                    partial(
                        self.sfn.send_task_success,
                        taskToken=token,
                        output=orjson.dumps(output).decode(),
                    )
                )
            return {"batchItemFailures": failures}

        return handler


def _answer(call: Callable[[], Any]) -> None:
    """Send a task's answer; a task that has moved on (timed out, answered by an earlier
    delivery of the same message) no longer wants one."""
    try:
        call()
    except ClientError as exc:
        if exc.code not in ("TaskTimedOut", "TaskDoesNotExist"):
            raise


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
