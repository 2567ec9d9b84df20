"""FIFO queues: what a message's group and deduplication ids mean.

A FIFO queue delivers each message group in the order it was sent, and holds a group back
while any of its messages is in flight. A message whose deduplication id was seen in the
last five minutes is accepted and answered as the first one was, but not stored again; the
id is remembered even after that message is deleted. Without an explicit id, a queue with
ContentBasedDeduplication uses the SHA-256 of the body.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from invoiceflow.queues.errors import QueueError, invalid

DEDUPLICATION_INTERVAL = 300.0  # seconds
_ID = re.compile(r"^[!-~]{1,128}$")  # alphanumerics and punctuation, as SQS allows


def missing(parameter: str) -> QueueError:
    return QueueError("MissingParameter", f"The request must contain the parameter {parameter}.")


def group_id(value: Any) -> str:
    if value is None:
        raise missing("MessageGroupId")
    if not isinstance(value, str) or not _ID.match(value):
        raise invalid(
            f"Value {value} for parameter MessageGroupId is invalid. Reason: 1 to 128 "
            "alphanumeric or punctuation characters."
        )
    return value


def dedup_key(attributes: dict[str, str], body: str, group: str, explicit: Any) -> tuple[str, str]:
    """(the message's deduplication id, the key it is remembered under)."""
    if explicit is not None:
        if not isinstance(explicit, str) or not _ID.match(explicit):
            raise invalid(
                f"Value {explicit} for parameter MessageDeduplicationId is invalid. Reason: 1 "
                "to 128 alphanumeric or punctuation characters."
            )
        dedup = explicit
    elif attributes.get("ContentBasedDeduplication") == "true":
        dedup = hashlib.sha256(body.encode("utf-8")).hexdigest()
    else:
        raise invalid(
            "The queue should either have ContentBasedDeduplication enabled or "
            "MessageDeduplicationId provided explicitly"
        )
    scoped = attributes.get("DeduplicationScope") == "messageGroup"
    return dedup, f"{group} {dedup}" if scoped else dedup  # a space is in no id


def sequence_number(row_id: int) -> str:
    """A message's SequenceNumber: increasing in the order messages were stored."""
    return f"{row_id:020d}"


def not_for_standard(parameter: str, value: Any) -> QueueError:
    return invalid(
        f"Value {value} for parameter {parameter} is invalid. Reason: The request include "
        "parameter that is not valid for this queue type."
    )
