"""SQS semantics on the store: what sending, receiving, deleting and redriving mean.

Standard queues, at-least-once: a received message stays stored, invisible until its
visibility timeout passes; only a delete quoting the receipt of its latest receive removes
it. A receive that would make a message's receive count exceed the queue's
maxReceiveCount moves it to the dead-letter queue instead, keeping its sent time (and so
its expiry). ``send`` takes the caller's transaction, so a workflow's transition and the
messages it sends commit together.

Sends are durable commits: an acknowledged message survives a power cut. Receives, deletes
and visibility changes are not flushed to disk one by one (the next durable commit carries
them): losing one in a power cut can only deliver a message again, which at-least-once
delivery allows and SQS itself documents for deletes.
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable
from functools import cache, partial
from typing import Any, NamedTuple, TypeVar

import orjson

from invoiceflow.queues import attributes as qa
from invoiceflow.queues import fifo, names
from invoiceflow.queues.errors import QueueError, invalid
from invoiceflow.queues.md5 import md5_of_attributes, md5_of_body
from invoiceflow.queues.queue import (
    Queue,
    dead_letter_sources,
    find,
    find_by_id,
    from_row,
    message_ids,
    new_nonce,
    parse_receipt,
    receipt_handle,
)
from invoiceflow.store import Database, Transaction

MESSAGES = "messages"  # the channel a commit notifies for a queue: messages/<queue id>
LOOK_AGAIN = 5.0  # seconds a long poll waits at most without a notification
MIN_WAIT = 0.001  # seconds a long poll waits at least between looks
KNOWN_FOR = 1.0  # seconds a queue looked up by name is reused by sends and deletes
SWEEP_EVERY = 1.0  # seconds between deletions of expired messages, per queue
NO_LIMIT = 1 << 62  # a receive count no message reaches
T = TypeVar("T")


class Outgoing(NamedTuple):
    """One message to send, as SendMessage's parameters give it."""

    body: Any
    attributes: Any = None
    delay: int | None = None
    group: Any = None  # MessageGroupId
    dedup: Any = None  # MessageDeduplicationId


class Sent(NamedTuple):
    message_id: str
    md5_body: str
    md5_attributes: str | None
    sequence: str | None = None  # FIFO queues only


class Received(NamedTuple):
    """A received message; a tuple because a receive makes ten at a time on its hot path."""

    message_id: str
    receipt_handle: str
    body: str
    md5_body: str
    attributes: dict[str, dict[str, Any]]
    md5_attributes: str | None
    sent_at: float
    receive_count: int
    first_receive_at: float
    dead_letter_source: str | None  # ARN of the queue it was dead-lettered from
    group: str | None = None  # FIFO: MessageGroupId, MessageDeduplicationId, SequenceNumber
    dedup: str | None = None
    sequence: str | None = None


class Queues:
    def __init__(self, db: Database, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self.now = clock
        self._swept: dict[int, float] = {}  # queue id -> when its expired messages went
        self._drained: set[str] = set()  # queues whose latest receive here emptied them
        self._known: dict[str, tuple[Queue, float]] = {}  # name -> queue, when looked up
        self._changes = 0  # queues changed by this process so far
        self._known_lock = threading.Lock()

    # -- queues --------------------------------------------------------------------------
    def get(self, ref: str) -> Queue:
        with self.db.transaction(write=False) as tx:
            return find(tx, ref)

    def find(self, tx: Transaction, ref: str) -> Queue:
        """The queue ``ref`` names, for sending, receiving or deleting: looked up inside the
        caller's transaction, or reused from a lookup less than ``KNOWN_FOR`` seconds ago.
        Every message sent or deleted would otherwise read its queue's row once more; SQS
        itself takes up to a minute to apply changed attributes everywhere."""
        name = names.name_of(ref) if isinstance(ref, str) else None
        known = self._known.get(name) if name else None
        now = time.monotonic()
        if known is not None and now - known[1] < KNOWN_FOR:
            return known[0]
        changes = self._changes
        queue = find(tx, ref)
        with self._known_lock:
            if changes == self._changes:  # not read before a change made here meanwhile
                self._known[queue.name] = (queue, now)
        return queue

    def _forget(self, queue: Queue) -> None:
        """This process changed ``queue``: its next lookup reads it again."""
        with self._known_lock:
            self._changes += 1
            self._known.pop(queue.name, None)

    def tag(self, ref: str, add: dict[str, str], remove: list[str]) -> None:
        with self.db.transaction() as tx:
            queue = find(tx, ref)
            tags = {k: v for k, v in {**queue.tags, **add}.items() if k not in remove}
            tx.execute("update_queue_tags", (orjson.dumps(tags).decode(), queue.id))
        self._forget(queue)

    def create(
        self,
        name: str,
        attributes: dict[str, Any] | None = None,
        tags: dict[str, str] | None = None,
    ) -> Queue:
        """Create ``name``; with the same attributes as an existing queue, return that one."""
        fifo = qa.is_fifo(attributes or {})
        if not names.valid_name(name, fifo):
            raise invalid(
                "Can only include alphanumeric characters, hyphens, or underscores. "
                "1 to 80 in length"
                + ("; a FIFO queue's name ends in .fifo" if fifo else ", without .fifo")
            )
        given = qa.validated(attributes or {}, fifo=fifo, creating=True)
        wanted = {**qa.defaults(fifo), **given}
        now = self.now()
        with self.db.transaction() as tx:
            self._check_dead_letter_target(tx, name, wanted)
            row = tx.fetchone(
                "insert_queue",
                (name, orjson.dumps(wanted).decode(), orjson.dumps(tags or {}).decode(), now, now),
            )
            existing = find(tx, name)
        self._forget(existing)
        differing = [k for k, v in wanted.items() if existing.attributes.get(k) != v]
        if row is None and differing:
            raise QueueError(
                "QueueNameExists",
                "A queue already exists with the same name and a different value for "
                f"attribute(s) {', '.join(differing)}",
            )
        return existing

    def delete(self, ref: str) -> None:
        with self.db.transaction() as tx:
            queue = find(tx, ref)
            tx.execute("delete_queue_messages", (queue.id,))
            tx.execute("delete_queue", (queue.id,))
        self._forget(queue)

    def set_attributes(self, ref: str, attributes: dict[str, Any]) -> None:
        with self.db.transaction() as tx:
            queue = find(tx, ref)
            changes = qa.validated(attributes, fifo=queue.fifo, creating=False)
            merged = {**queue.attributes, **changes}
            for cleared in ("RedrivePolicy", "RedriveAllowPolicy"):
                if merged.get(cleared) == "":
                    del merged[cleared]
            self._check_dead_letter_target(tx, queue.name, merged)
            tx.execute(
                "update_queue_attributes", (orjson.dumps(merged).decode(), self.now(), queue.id)
            )
        self._forget(queue)

    def _check_dead_letter_target(self, tx: Transaction, name: str, attrs: dict[str, str]) -> None:
        redrive = qa.redrive_policy(attrs.get("RedrivePolicy"))
        if redrive is None:
            return
        target = find_optional(tx, redrive.dead_letter_queue)
        if target is None:
            raise QueueError(
                "InvalidAttributeValue",
                "Value for parameter RedrivePolicy is invalid. Reason: Dead-letter target "
                "does not exist.",
            )
        if target.fifo != (attrs.get("FifoQueue") == "true"):
            raise QueueError(
                "InvalidAttributeValue",
                "Value for parameter RedrivePolicy is invalid. Reason: Dead-letter queue must "
                "be same type of queue as the source.",
            )
        if not qa.allows_source(target.attributes, name):
            raise QueueError(
                "InvalidAttributeValue",
                "Value for parameter RedrivePolicy is invalid. Reason: the dead-letter "
                "queue's RedriveAllowPolicy does not allow this queue as a source.",
            )

    def queue_names(self, prefix: str = "", limit: int = 1000, after: str = "") -> list[str]:
        with self.db.transaction(write=False) as tx:
            rows = tx.fetch("list_queues", (prefix, after, limit))
        return [r[0] for r in rows if r[0].startswith(prefix)]

    def dead_letter_sources(self, ref: str) -> list[Queue]:
        """The queues that send their dead letters to the queue ``ref`` names."""
        with self.db.transaction(write=False) as tx:
            return dead_letter_sources(tx, find(tx, ref))

    def ready(self) -> dict[str, Queue]:
        """The queues that have a message to receive now, by name (read-only)."""
        with self.db.transaction(write=False) as tx:
            rows = tx.fetch("queues_with_visible_messages", (self.now(),))
        return {row[1]: from_row(row) for row in rows}

    def counts(self, queue: Queue) -> dict[str, Any]:
        """Visible, in-flight and delayed message counts, and the oldest sent time."""
        now = self.now()
        with self.db.transaction(write=False) as tx:
            row = tx.fetchone("queue_counts", (now, now, now, queue.id, now))
        assert row is not None
        visible, in_flight, delayed, oldest = row
        return {"visible": visible, "in_flight": in_flight, "delayed": delayed, "oldest": oldest}

    def purge(self, ref: str) -> None:
        with self.db.transaction() as tx:
            tx.execute("purge_queue", (find(tx, ref).id,))

    # -- sending -------------------------------------------------------------------------
    def send(
        self,
        tx: Transaction,
        queue: Queue,
        body: Any,
        attributes: Any = None,
        delay: int | None = None,
        *,
        group: Any = None,
        dedup: Any = None,
        tenant: str = "",
    ) -> Sent:
        """Store one message inside ``tx``; raises QueueError for a message SQS refuses."""
        message = Outgoing(body, attributes, delay, group, dedup)
        [outcome] = self.send_many(tx, queue, [message], tenant=tenant)
        if isinstance(outcome, QueueError):
            raise outcome
        return outcome

    def send_many(
        self, tx: Transaction, queue: Queue, messages: list[Outgoing], *, tenant: str = ""
    ) -> list[Sent | QueueError]:
        """Store messages inside ``tx`` (a standard queue's with one statement); each
        message's outcome, in order: what SQS would refuse is refused alone. ``tenant`` is
        whose work the messages carry ('' when nobody's in particular)."""
        if queue.fifo:
            return [_attempt(partial(self._send_fifo, tx, queue, m, tenant)) for m in messages]
        now = self.now()
        expires = now + queue.number("MessageRetentionPeriod")
        out: list[Sent | QueueError] = []
        rows = []
        ids = iter(message_ids(len(messages)))
        for body, attributes, delay, group, dedup in messages:
            try:
                if dedup is not None:
                    raise fifo.not_for_standard("MessageDeduplicationId", dedup)
                text, attrs, wait = self._checked(queue, body, attributes, delay)
                # A standard queue keeps a MessageGroupId (SQS's fair queues) without ordering.
                group = None if group is None else fifo.group_id(group)
            except QueueError as exc:
                out.append(exc)
                continue
            sent = _new_sent(next(ids), text, attrs)
            out.append(sent)
            rows.append(_row(queue, sent, text, attrs, now, expires, now + wait, tenant, group))
        if rows:
            tx.executemany("insert_message", rows)
            tx.notify(channel(queue.id))
        return out

    def _send_fifo(self, tx: Transaction, queue: Queue, message: Outgoing, tenant: str) -> Sent:
        """One message to a FIFO queue: stored, or answered as its duplicate's first copy."""
        if message.delay is not None:
            raise fifo.not_for_standard("DelaySeconds", message.delay)
        text, attrs, wait = self._checked(queue, message.body, message.attributes, None)
        group = fifo.group_id(message.group)
        dedup, key = fifo.dedup_key(queue.attributes, text, group, message.dedup)
        now = self.now()
        [mid] = message_ids(1)
        sent = _new_sent(mid, text, attrs)
        first = tx.fetchone("fifo_duplicate", (queue.id, key, now))
        if first is not None:  # answered as the first copy was: its id and sequence number
            return Sent(first[0], sent.md5_body, sent.md5_attributes, first[1])
        expires = now + queue.number("MessageRetentionPeriod")
        fields = _row(queue, sent, text, attrs, now, expires, now + wait, tenant, group)
        row = tx.fetchone("insert_fifo_message", (*fields, dedup))
        assert row is not None
        sequence = fifo.sequence_number(row[0])
        until = now + fifo.DEDUPLICATION_INTERVAL
        tx.execute("remember_fifo_dedup", (queue.id, key, sent.message_id, sequence, until))
        tx.notify(channel(queue.id))
        return Sent(sent.message_id, sent.md5_body, sent.md5_attributes, sequence)

    @staticmethod
    def _checked(
        queue: Queue, body: Any, attributes: Any, delay: int | None
    ) -> tuple[str, dict[str, dict[str, Any]], int]:
        text = qa.check_body(body)
        attrs = qa.check_message_attributes(attributes)
        limit = queue.number("MaximumMessageSize")
        if qa.message_size(text, attrs) > limit:
            raise invalid(
                f"One or more parameters are invalid. Reason: Message must be shorter than "
                f"{limit} bytes."
            )
        if delay is None:
            return text, attrs, queue.number("DelaySeconds")
        if not isinstance(delay, int) or isinstance(delay, bool) or not 0 <= delay <= 900:
            raise invalid(
                f"Value {delay} for parameter DelaySeconds is invalid. Reason: must be "
                f"between 0 and 900."
            )
        return text, attrs, delay

    # -- receiving -----------------------------------------------------------------------
    def receive(
        self,
        ref: str,
        max_messages: int = 1,
        visibility_timeout: int | None = None,
        wait_seconds: int | None = None,
    ) -> list[Received]:
        """Up to ``max_messages`` visible messages, waiting up to ``wait_seconds`` for the
        first to arrive (long polling)."""
        if not isinstance(max_messages, int) or not 1 <= max_messages <= 10:
            raise invalid(
                f"Value {max_messages} for parameter MaxNumberOfMessages is invalid. "
                f"Reason: Must be between 1 and 10, if provided."
            )
        _in_range("VisibilityTimeout", visibility_timeout, 43_200)
        _in_range("WaitTimeSeconds", wait_seconds, 20)
        return self._receive(ref, max_messages, visibility_timeout, wait_seconds)

    def receive_from(
        self, queue: Queue, max_messages: int, visibility_timeout: int | None = None
    ) -> list[Received]:
        """One look, without waiting, at a queue the caller has just seen holding visible
        messages (and with arguments it checked): it goes straight to the write lock."""
        return self._take(queue, max_messages, visibility_timeout)[1]

    def _receive(
        self, target: Queue | str, limit: int, timeout: int | None, wait_seconds: int | None
    ) -> list[Received]:
        began = time.monotonic()
        queue, got = self._receive_now(target, limit, timeout)
        if wait_seconds is None:
            wait_seconds = queue.number("ReceiveMessageWaitTimeSeconds")
        if got or wait_seconds <= 0:
            return got
        # Listening first, then looking again: a message sent in between wakes the wait.
        with self.db.listen(channel(queue.id)) as arrived:
            while True:
                queue, got = self._receive_now(queue, limit, timeout)
                remaining = began + wait_seconds - time.monotonic()
                if got or remaining <= 0:
                    return got
                arrived.wait(min(remaining, LOOK_AGAIN, self._until_visible(queue)))

    def _until_visible(self, queue: Queue) -> float:
        """Seconds until a hidden message of ``queue`` becomes visible by itself (a delay
        or a visibility timeout ending), which no notification announces. Messages visible
        now that the last look could not take (a FIFO group held back by one in flight,
        expired ones not yet swept, rows another receiver has locked) do not count: they
        come free through a commit that notifies, or by such an ending."""
        now = self.now()
        with self.db.transaction(write=False) as tx:
            row = tx.fetchone("next_hidden_visible", (queue.id, now))
        if row is None or row[0] is None:
            return LOOK_AGAIN
        return max(MIN_WAIT, float(row[0]) - now)

    def _receive_now(
        self, target: Queue | str, limit: int, timeout: int | None
    ) -> tuple[Queue, list[Received]]:
        """The queue and what one look at it took. A queue whose last look here took less
        than it asked for (so left it empty) is first read without the write lock: idle
        consumers polling an empty queue, and pollers that receive until a queue is empty,
        do not queue up behind writers. A look that filled its batch goes straight to the
        write next time."""
        ref = target.name if isinstance(target, Queue) else target
        if isinstance(ref, str) and names.name_of(ref) in self._drained:
            with self.db.transaction(write=False) as tx:
                target = target if isinstance(target, Queue) else find(tx, target)
                row = tx.fetchone("next_visible", (target.id,))
            if row is None or row[0] is None or row[0] > self.now():
                return target, []
        return self._take(target, limit, timeout)

    def _take(
        self, target: Queue | str, limit: int, timeout: int | None
    ) -> tuple[Queue, list[Received]]:
        """One receive under the write lock; a queue it took less than ``limit`` from is
        marked drained, for the next look to read first."""
        now = self.now()
        # One random part for the whole batch: each handle also names its message, so
        # handles stay distinct, and a later receive of the same message gets a new one.
        nonce = new_nonce()
        with self.db.transaction(durable=False) as tx:
            queue = target if isinstance(target, Queue) else find(tx, target)
            if timeout is None:
                timeout = queue.number("VisibilityTimeout")
            self._sweep(tx, queue, now)
            cap = self._dead_letter_exhausted(tx, queue, limit, now)
            marks = (nonce, now + timeout, now, queue.id, now, now, cap)
            if queue.fifo:  # its groups in flight stay held back
                rows = tx.fetch("fifo_receive_messages", (*marks, now, limit))
            else:
                rows = tx.fetch("receive_messages", (*marks, limit))
            rows.sort()  # RETURNING has no order; ids follow arrival (and FIFO order)
            source_of = cache(partial(find_by_id, tx))  # dead letters share a few sources
            got = [_received(queue, nonce, row, source_of) for row in rows]
        if len(got) < limit:  # it took all there was: the next look may find nothing
            self._drained.add(queue.name)
        else:
            self._drained.discard(queue.name)
        return queue, got

    def _sweep(self, tx: Transaction, queue: Queue, now: float) -> None:
        """Deletes messages past their retention period, at most once a second per queue:
        every read already skips them, so this only reclaims space."""
        if now - self._swept.get(queue.id, 0.0) >= SWEEP_EVERY:
            tx.execute("expire_messages", (queue.id, now))
            if queue.fifo:
                tx.execute("forget_fifo_dedup", (queue.id, now))
            self._swept[queue.id] = now

    def _dead_letter_exhausted(self, tx: Transaction, queue: Queue, limit: int, now: float) -> int:
        """Moves the messages this receive would take for the (maxReceiveCount+1)th time to
        the dead-letter queue; returns the receive count below which messages may be taken.
        Without a redrive policy, or when its dead-letter queue is gone, there is no limit.

        Each look is at the next ``limit`` messages, so every message moved comes before the
        last one the receive takes, as if they had been met one by one."""
        redrive = queue.redrive
        if redrive is None:
            return NO_LIMIT
        most = redrive.max_receive_count
        dead_letter: Queue | None = None
        while True:
            if queue.fifo:
                ready = tx.fetch("fifo_next_ready", (queue.id, now, now, now, limit))
            else:
                ready = tx.fetch("next_ready", (queue.id, now, now, limit))
            exhausted = [(rid,) for rid, count in ready if count >= most]
            if not exhausted:
                return most
            dead_letter = dead_letter or find_optional(tx, redrive.dead_letter_queue)
            if dead_letter is None:
                return NO_LIMIT
            retention = dead_letter.number("MessageRetentionPeriod")
            tx.notify(channel(dead_letter.id))
            tx.executemany(
                "dead_letter",
                [(dead_letter.id, queue.id, retention, now, rid) for (rid,) in exhausted],
            )

    def delete_message(self, ref: str, handle: str) -> None:
        """Delete the message ``handle`` was given for. A handle from an earlier receive
        than the latest deletes nothing (the message is someone else's now); deleting a
        message that is already gone succeeds, as in SQS."""
        _raise_first(self.delete_messages(ref, [handle]))

    def delete_messages(self, ref: str, handles: list[str]) -> list[QueueError | None]:
        """Delete several messages in one transaction; each handle's outcome, in order."""
        rows: list[tuple[int, int, str]] = []
        out: list[QueueError | None] = []
        with self.db.transaction(durable=False) as tx:
            queue = self.find(tx, ref)
            for handle in handles:
                try:
                    qid, rid, nonce = parse_receipt(handle)
                except QueueError as exc:
                    out.append(exc)
                    continue
                if qid != queue.id:
                    out.append(_foreign(handle))
                    continue
                out.append(None)
                rows.append((rid, qid, nonce))
            if rows:
                tx.executemany("delete_message", rows)
                if queue.fifo:  # the next message of each group it held back is free now
                    tx.notify(channel(queue.id))
        return out

    def change_visibility(self, ref: str, handle: str, timeout: int) -> None:
        _raise_first(self.change_visibilities(ref, [(handle, timeout)]))

    def change_visibilities(
        self, ref: str, changes: list[tuple[str, Any]]
    ) -> list[QueueError | None]:
        """Change several messages' visibility timeouts in one transaction; each change's
        outcome, in order."""
        now = self.now()
        with self.db.transaction(durable=False) as tx:
            queue = self.find(tx, ref)
            out = [_attempt(partial(self._change, tx, queue, h, t, now)) for h, t in changes]
            if any(t == 0 for _, t in changes):
                tx.notify(channel(queue.id))
        return out

    def _change(self, tx: Transaction, queue: Queue, handle: str, timeout: Any, now: float) -> None:
        _in_range("VisibilityTimeout", timeout, 43_200, required=True)
        qid, rid, nonce = parse_receipt(handle)
        if qid != queue.id:
            raise _foreign(handle)
        if not tx.execute("change_visibility", (now + timeout, rid, queue.id, nonce, now, now)):
            raise QueueError(
                "MessageNotInflight",
                "The message referred to isn't in flight (or the receipt handle is no "
                "longer its latest).",
            )


def channel(queue_id: int) -> str:
    """The channel that a commit adding visible messages to a queue notifies."""
    return f"{MESSAGES}/{queue_id}"


def _new_sent(message_id: str, text: str, attrs: dict[str, dict[str, Any]]) -> Sent:
    """A new message's id and digests."""
    return Sent(message_id, md5_of_body(text), md5_of_attributes(attrs) if attrs else None)


def _row(
    queue: Queue,
    sent: Sent,
    text: str,
    attrs: dict[str, dict[str, Any]],
    now: float,
    expires: float,
    visible: float,
    tenant: str,
    group: str | None,
) -> tuple[Any, ...]:
    """A message's columns as insert_message (and, followed by its deduplication id,
    insert_fifo_message) take them."""
    return (
        queue.id,
        sent.message_id,
        text,
        _stored(attrs),
        sent.md5_body,
        sent.md5_attributes,
        now,
        expires,
        visible,
        tenant,
        group,
    )


def _received(
    queue: Queue,
    nonce: str,
    row: tuple[Any, ...],
    source_of: Callable[[int | None], Queue | None],
) -> Received:
    rid, mid, body, attrs, md5b, md5a, sent_at, count, first, source, group, dedup = row
    return Received(
        mid,
        receipt_handle(queue.id, rid, nonce),
        body,
        md5b,
        orjson.loads(attrs) if attrs else {},
        md5a,
        sent_at,
        count,
        first,
        dead_letter_source.arn if (dead_letter_source := source_of(source)) else None,
        group,
        dedup,
        fifo.sequence_number(rid) if queue.fifo else None,
    )


def _attempt(action: Callable[[], T]) -> T | QueueError:
    """What ``action`` returns, or the QueueError it raised: one outcome of a batch."""
    try:
        return action()
    except QueueError as exc:
        return exc


def _raise_first(outcomes: list[QueueError | None]) -> None:
    for exc in outcomes:
        if exc is not None:
            raise exc


def find_optional(tx: Transaction, name: str) -> Queue | None:
    try:
        return find(tx, name)
    except QueueError:
        return None


def _stored(attrs: dict[str, dict[str, Any]]) -> str | None:
    if not attrs:
        return None
    plain = {
        name: (
            {**value, "BinaryValue": _b64(value["BinaryValue"])}
            if "BinaryValue" in value
            else value
        )
        for name, value in attrs.items()
    }
    return orjson.dumps(plain).decode()


def _b64(value: bytes | str) -> str:
    return base64.b64encode(value).decode() if isinstance(value, bytes) else value


def _in_range(name: str, value: Any, high: int, *, required: bool = False) -> None:
    if value is None and not required:
        return
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= high:
        raise invalid(
            f"Value {value} for parameter {name} is invalid. Reason: must be between 0 and {high}."
        )


def _foreign(handle: str) -> QueueError:
    return QueueError(
        "ReceiptHandleIsInvalid",
        f'The input receipt handle "{handle}" is not valid for this queue.',
    )
