"""A queue as stored: its row, its attributes, and the receipt handles it hands out."""

from __future__ import annotations

import base64
import binascii
import secrets
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson

from invoiceflow.queues import names
from invoiceflow.queues.attributes import Redrive, redrive_policy
from invoiceflow.queues.errors import QueueError
from invoiceflow.store import Transaction

QUEUE_DOES_NOT_EXIST = "QueueDoesNotExist"


@dataclass(frozen=True, slots=True)
class Queue:
    id: int
    name: str
    attributes: dict[str, str]
    tags: dict[str, str]
    created: float
    modified: float

    @property
    def url(self) -> str:
        return names.queue_url(self.name)

    @property
    def arn(self) -> str:
        return names.queue_arn(self.name)

    def number(self, attribute: str) -> int:
        return int(self.attributes[attribute])

    @property
    def fifo(self) -> bool:
        return self.attributes.get("FifoQueue") == "true"

    @property
    def redrive(self) -> Redrive | None:
        return _redrive(self.attributes.get("RedrivePolicy"))


@lru_cache(maxsize=256)
def _redrive(text: str | None) -> Redrive | None:
    return redrive_policy(text)


@lru_cache(maxsize=256)
def from_row(row: tuple[Any, ...]) -> Queue:
    """A queue from its row; an unchanged row gives the same (immutable) object, so hot paths
    do not parse its attributes again on every message."""
    qid, name, attributes, tags, created, modified = row
    return Queue(qid, name, orjson.loads(attributes), orjson.loads(tags), created, modified)


def find(tx: Transaction, ref: str) -> Queue:
    """The queue a URL, ARN or name refers to; QueueDoesNotExist otherwise."""
    name = names.name_of(ref) if isinstance(ref, str) else None
    row = tx.fetchone("get_queue", (name,)) if name else None
    if row is None:
        raise QueueError(QUEUE_DOES_NOT_EXIST, "The specified queue does not exist.")
    return from_row(row)


def find_by_id(tx: Transaction, queue_id: int | None) -> Queue | None:
    """The queue with this id, if there is one (a message's source queue may be gone)."""
    if queue_id is None:
        return None
    row = tx.fetchone("get_queue_by_id", (queue_id,))
    return from_row(row) if row else None


def find_all(tx: Transaction) -> list[Queue]:
    """Every queue, by name."""
    return [from_row(row) for row in tx.fetch("all_queues")]


def dead_letter_sources(tx: Transaction, queue: Queue) -> list[Queue]:
    """The queues whose RedrivePolicy names ``queue`` as their dead-letter queue."""
    return [q for q in find_all(tx) if q.redrive and q.redrive.dead_letter_queue == queue.name]


def new_nonce() -> str:
    """The random part of a receive's receipt handles: stored with the message, so only
    the handle of its latest receive matches."""
    return secrets.token_urlsafe(12)


_VARIANT = "89ab" * 4  # a random hex digit's low two bits under RFC 4122's variant bits


def message_ids(count: int) -> list[str]:
    """``count`` random (version 4) UUIDs as text, from one read of the system's random
    source: uuid.uuid4 reads it once per id, which cost more than storing the message."""
    h = secrets.token_hex(16 * count)
    return [
        f"{h[i : i + 8]}-{h[i + 8 : i + 12]}-4{h[i + 13 : i + 16]}-"
        f"{_VARIANT[int(h[i + 16], 16)]}{h[i + 17 : i + 20]}-{h[i + 20 : i + 32]}"
        for i in range(0, 32 * count, 32)
    ]


def receipt_handle(queue_id: int, row_id: int, nonce: str) -> str:
    return base64.urlsafe_b64encode(f"{queue_id}.{row_id}.{nonce}".encode()).decode()


_FROM_URLSAFE = bytes.maketrans(b"-_", b"+/")


def parse_receipt(handle: Any) -> tuple[int, int, str]:
    """(queue id, message row id, nonce) of a receipt handle; ReceiptHandleIsInvalid if it
    is not one of ours."""
    try:
        text = binascii.a2b_base64(str(handle).encode("ascii").translate(_FROM_URLSAFE)).decode()
        qid, rid, nonce = text.split(".", 2)
        return int(qid), int(rid), nonce
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise QueueError(
            "ReceiptHandleIsInvalid",
            f'The input receipt handle "{handle}" is not a valid receipt handle.',
        ) from None
