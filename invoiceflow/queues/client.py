"""An SQS client with boto3's method names, parameters, response shapes and error codes.

Code written against ``boto3.client("sqs")`` works against this one by swapping the factory;
errors are ClientError with ``response["Error"]["Code"]`` set, and ``client.exceptions.X``
catches code X, as with boto3.
"""

from __future__ import annotations

import base64
import contextlib
import re
import time
from typing import Any

from invoiceflow.client_errors import Exceptions, operation
from invoiceflow.queues import moves, names
from invoiceflow.queues.attributes import MAX_MESSAGE_SIZE, message_size
from invoiceflow.queues.errors import QueueError
from invoiceflow.queues.manager import Outgoing, Queues, Received, Sent
from invoiceflow.queues.md5 import md5_of_attributes
from invoiceflow.queues.queue import Queue

_BATCH_ID = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
_COUNTED = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
)


def _check_batch(entries: Any) -> list[dict[str, Any]]:
    if not entries:
        raise QueueError("EmptyBatchRequest", "There should be at least one entry in the request.")
    if not isinstance(entries, list) or len(entries) > 10:
        raise QueueError(
            "TooManyEntriesInBatchRequest", "Maximum number of entries per request are 10."
        )
    ids = [e.get("Id") if isinstance(e, dict) else None for e in entries]
    if any(not isinstance(i, str) or not _BATCH_ID.match(i) for i in ids):
        raise QueueError(
            "InvalidBatchEntryId",
            "A batch entry id can only contain alphanumeric characters, hyphens and "
            "underscores. It can be at most 80 letters long.",
        )
    if len(set(ids)) != len(ids):
        raise QueueError("BatchEntryIdsNotDistinct", "Two or more batch entries have the same Id.")
    return list(entries)


def _failed(entry_id: str, exc: QueueError) -> dict[str, Any]:
    return {"Id": entry_id, "SenderFault": True, "Code": exc.code, "Message": exc.message}


def _wanted(requested: list[str], name: str) -> bool:
    for pattern in requested:
        if pattern in ("All", ".*") or pattern == name:
            return True
        if pattern.endswith(".*") and name.startswith(pattern[:-1]):
            return True
    return False


class SQSClient:
    exceptions = Exceptions()

    def __init__(self, queues: Queues) -> None:
        self.queues = queues
        self._moves_at = 0.0  # when receives next carry running move tasks a step further

    # -- queues --------------------------------------------------------------------------
    @operation("CreateQueue")
    def create_queue(
        self,
        QueueName: str,
        Attributes: dict[str, str] | None = None,
        tags: dict[str, str] | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        return {"QueueUrl": self.queues.create(QueueName, Attributes, tags).url}

    @operation("GetQueueUrl")
    def get_queue_url(self, QueueName: str, **_: Any) -> dict[str, Any]:
        return {"QueueUrl": self.queues.get(QueueName).url}

    @operation("ListQueues")
    def list_queues(
        self,
        QueueNamePrefix: str = "",
        NextToken: str | None = None,
        MaxResults: int | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        limit = MaxResults or 1000
        found = self.queues.queue_names(QueueNamePrefix, limit + 1, NextToken or "")
        out: dict[str, Any] = {}
        if found:
            out["QueueUrls"] = [names.queue_url(n) for n in found[:limit]]
        if MaxResults and len(found) > limit:
            out["NextToken"] = found[limit - 1]
        return out

    @operation("DeleteQueue")
    def delete_queue(self, QueueUrl: str, **_: Any) -> dict[str, Any]:
        self.queues.delete(QueueUrl)
        return {}

    @operation("PurgeQueue")
    def purge_queue(self, QueueUrl: str, **_: Any) -> dict[str, Any]:
        self.queues.purge(QueueUrl)
        return {}

    @operation("GetQueueAttributes")
    def get_queue_attributes(
        self, QueueUrl: str, AttributeNames: list[str] | None = None, **_: Any
    ) -> dict[str, Any]:
        queue = self.queues.get(QueueUrl)
        every = self._all_attributes(queue)
        requested = AttributeNames or []
        if "All" in requested:
            return {"Attributes": every}
        unknown = [n for n in requested if n not in every and n not in _KNOWN]
        if unknown:
            raise QueueError("InvalidAttributeName", f"Unknown Attribute {unknown[0]}.")
        picked = {n: every[n] for n in requested if n in every}
        return {"Attributes": picked} if picked else {}

    def _all_attributes(self, queue: Queue) -> dict[str, str]:
        out = {**queue.attributes, "QueueArn": queue.arn}
        out["CreatedTimestamp"] = str(int(queue.created))
        out["LastModifiedTimestamp"] = str(int(queue.modified))
        counts = self.queues.counts(queue)
        out.update(
            zip(
                _COUNTED,
                (str(counts["visible"]), str(counts["in_flight"]), str(counts["delayed"])),
                strict=True,
            )
        )
        return out

    @operation("SetQueueAttributes")
    def set_queue_attributes(
        self, QueueUrl: str, Attributes: dict[str, str], **_: Any
    ) -> dict[str, Any]:
        self.queues.set_attributes(QueueUrl, Attributes)
        return {}

    @operation("ListDeadLetterSourceQueues")
    def list_dead_letter_source_queues(self, QueueUrl: str, **_: Any) -> dict[str, Any]:
        return {"queueUrls": [q.url for q in self.queues.dead_letter_sources(QueueUrl)]}

    @operation("TagQueue")
    def tag_queue(self, QueueUrl: str, Tags: dict[str, str], **_: Any) -> dict[str, Any]:
        self.queues.tag(QueueUrl, Tags, [])
        return {}

    @operation("UntagQueue")
    def untag_queue(self, QueueUrl: str, TagKeys: list[str], **_: Any) -> dict[str, Any]:
        self.queues.tag(QueueUrl, {}, TagKeys)
        return {}

    @operation("ListQueueTags")
    def list_queue_tags(self, QueueUrl: str, **_: Any) -> dict[str, Any]:
        tags = self.queues.get(QueueUrl).tags
        return {"Tags": tags} if tags else {}

    # -- messages ------------------------------------------------------------------------
    @operation("SendMessage")
    def send_message(
        self,
        QueueUrl: str,
        MessageBody: str,
        DelaySeconds: int | None = None,
        MessageAttributes: dict[str, Any] | None = None,
        MessageGroupId: str | None = None,
        MessageDeduplicationId: str | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        with self.queues.db.transaction() as tx:
            queue = self.queues.find(tx, QueueUrl)
            sent = self.queues.send(
                tx,
                queue,
                MessageBody,
                MessageAttributes,
                DelaySeconds,
                group=MessageGroupId,
                dedup=MessageDeduplicationId,
            )
        return _sent(sent)

    @operation("SendMessageBatch")
    def send_message_batch(
        self, QueueUrl: str, Entries: list[dict[str, Any]], **_: Any
    ) -> dict[str, Any]:
        entries = _check_batch(Entries)
        total = 0
        for e in entries:
            body = e.get("MessageBody")
            total += len(body.encode("utf-8")) if isinstance(body, str) else 0
            attrs = e.get("MessageAttributes")
            if attrs and isinstance(attrs, dict):  # a faulty one is refused with its entry
                with contextlib.suppress(KeyError, TypeError, ValueError):
                    total += message_size("", attrs)
        if total > MAX_MESSAGE_SIZE:
            raise QueueError(
                "BatchRequestTooLong",
                f"Batch requests cannot be longer than {MAX_MESSAGE_SIZE} bytes. You have "
                f"sent {total} bytes.",
            )
        messages = [
            Outgoing(
                e.get("MessageBody"),
                e.get("MessageAttributes"),
                e.get("DelaySeconds"),
                e.get("MessageGroupId"),
                e.get("MessageDeduplicationId"),
            )
            for e in entries
        ]
        with self.queues.db.transaction() as tx:
            outcomes = self.queues.send_many(tx, self.queues.find(tx, QueueUrl), messages)
        ok = []
        failed = []
        for e, outcome in zip(entries, outcomes, strict=True):
            if isinstance(outcome, QueueError):
                failed.append(_failed(e["Id"], outcome))
            else:
                ok.append({"Id": e["Id"], **_sent(outcome)})
        return {"Successful": ok, "Failed": failed}

    @operation("ReceiveMessage")
    def receive_message(
        self,
        QueueUrl: str,
        AttributeNames: list[str] | None = None,
        MessageSystemAttributeNames: list[str] | None = None,
        MessageAttributeNames: list[str] | None = None,
        MaxNumberOfMessages: int = 1,
        VisibilityTimeout: int | None = None,
        WaitTimeSeconds: int | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        self._advance_moves()
        got = self.queues.receive(QueueUrl, MaxNumberOfMessages, VisibilityTimeout, WaitTimeSeconds)
        if not got:
            return {}
        system = [*(AttributeNames or []), *(MessageSystemAttributeNames or [])]
        return {"Messages": [_message(m, system, MessageAttributeNames or []) for m in got]}

    @operation("DeleteMessage")
    def delete_message(self, QueueUrl: str, ReceiptHandle: str, **_: Any) -> dict[str, Any]:
        self.queues.delete_message(QueueUrl, ReceiptHandle)
        return {}

    @operation("DeleteMessageBatch")
    def delete_message_batch(
        self, QueueUrl: str, Entries: list[dict[str, Any]], **_: Any
    ) -> dict[str, Any]:
        entries = _check_batch(Entries)
        handles = [str(e.get("ReceiptHandle", "")) for e in entries]
        return _outcomes(entries, self.queues.delete_messages(QueueUrl, handles))

    @operation("ChangeMessageVisibility")
    def change_message_visibility(
        self, QueueUrl: str, ReceiptHandle: str, VisibilityTimeout: int, **_: Any
    ) -> dict[str, Any]:
        self.queues.change_visibility(QueueUrl, ReceiptHandle, VisibilityTimeout)
        return {}

    @operation("ChangeMessageVisibilityBatch")
    def change_message_visibility_batch(
        self, QueueUrl: str, Entries: list[dict[str, Any]], **_: Any
    ) -> dict[str, Any]:
        entries = _check_batch(Entries)
        changes = [(str(e.get("ReceiptHandle", "")), e.get("VisibilityTimeout")) for e in entries]
        return _outcomes(entries, self.queues.change_visibilities(QueueUrl, changes))

    # -- dead-letter redrive -------------------------------------------------------------
    @operation("StartMessageMoveTask")
    def start_message_move_task(
        self,
        SourceArn: str,
        DestinationArn: str | None = None,
        MaxNumberOfMessagesPerSecond: int | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        handle = moves.start(self.queues, SourceArn, DestinationArn, MaxNumberOfMessagesPerSecond)
        moves.run_moves(self.queues)  # the first step at once, worker or no worker
        return {"TaskHandle": handle}

    @operation("ListMessageMoveTasks")
    def list_message_move_tasks(
        self, SourceArn: str, MaxResults: int = 1, **_: Any
    ) -> dict[str, Any]:
        moves.run_moves(self.queues)
        return {"Results": moves.listing(self.queues, SourceArn, MaxResults)}

    def _advance_moves(self) -> None:
        """SQS moves messages on its side; here the client's own calls carry running move
        tasks on (at most once a second from receives, which are hot), so a redrive
        completes with no worker running, as workers' chores do otherwise."""
        now = time.monotonic()
        if now >= self._moves_at:
            self._moves_at = now + MOVES_EVERY
            moves.run_moves(self.queues)

    @operation("CancelMessageMoveTask")
    def cancel_message_move_task(self, TaskHandle: str, **_: Any) -> dict[str, Any]:
        return {"ApproximateNumberOfMessagesMoved": moves.cancel(self.queues, TaskHandle)}


MOVES_EVERY = 1.0  # seconds between receives that carry move tasks on

_KNOWN = {"Policy", "RedrivePolicy", "RedriveAllowPolicy", "KmsMasterKeyId", *_COUNTED}


def _outcomes(entries: list[dict[str, Any]], outcomes: list[QueueError | None]) -> dict[str, Any]:
    ok = [{"Id": e["Id"]} for e, exc in zip(entries, outcomes, strict=True) if exc is None]
    failed = [
        _failed(e["Id"], exc) for e, exc in zip(entries, outcomes, strict=True) if exc is not None
    ]
    return {"Successful": ok, "Failed": failed}


def _sent(sent: Sent) -> dict[str, Any]:
    out = {"MessageId": sent.message_id, "MD5OfMessageBody": sent.md5_body}
    if sent.md5_attributes:
        out["MD5OfMessageAttributes"] = sent.md5_attributes
    if sent.sequence is not None:
        out["SequenceNumber"] = sent.sequence
    return out


def _message(m: Received, system: list[str], wanted: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "MessageId": m.message_id,
        "ReceiptHandle": m.receipt_handle,
        "MD5OfBody": m.md5_body,
        "Body": m.body,
    }
    if system:  # most receivers ask for none: skip rendering them
        values = system_attributes(m)
        picked = {k: v for k, v in values.items() if _wanted(system, k)}
        if picked:
            out["Attributes"] = picked
    chosen = {k: v for k, v in m.attributes.items() if _wanted(wanted, k)} if wanted else {}
    if chosen:
        out["MD5OfMessageAttributes"] = md5_of_attributes(chosen)
        out["MessageAttributes"] = {
            k: (
                {**v, "BinaryValue": base64.b64decode(v["BinaryValue"])}
                if "BinaryValue" in v
                else v
            )
            for k, v in chosen.items()
        }
    return out


def system_attributes(m: Received) -> dict[str, str]:
    """The system attributes of a received message, as SQS names and renders them."""
    values = {
        "SenderId": names.ACCOUNT,
        "SentTimestamp": str(int(m.sent_at * 1000)),
        "ApproximateReceiveCount": str(m.receive_count),
        "ApproximateFirstReceiveTimestamp": str(int(m.first_receive_at * 1000)),
    }
    if m.dead_letter_source:
        values["DeadLetterQueueSourceArn"] = m.dead_letter_source
    if m.group is not None:
        values["MessageGroupId"] = m.group
    if m.dedup is not None:
        values["MessageDeduplicationId"] = m.dedup
    if m.sequence is not None:
        values["SequenceNumber"] = m.sequence
    return values
