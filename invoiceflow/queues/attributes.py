"""Queue attributes and message attributes: SQS's defaults, limits and validation."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from invoiceflow.queues import names
from invoiceflow.queues.errors import QueueError, invalid
from invoiceflow.queues.md5 import binary

MAX_MESSAGE_SIZE = 1_048_576  # SQS's ceiling for one message and for one batch request

# name: (default, low, high) for the integer attributes.
_INTEGERS: dict[str, tuple[int, int, int]] = {
    "DelaySeconds": (0, 0, 900),
    "MaximumMessageSize": (MAX_MESSAGE_SIZE, 1024, MAX_MESSAGE_SIZE),
    "MessageRetentionPeriod": (345_600, 60, 1_209_600),
    "ReceiveMessageWaitTimeSeconds": (0, 0, 20),
    "VisibilityTimeout": (30, 0, 43_200),
}
_OPAQUE = {"Policy", "KmsMasterKeyId", "KmsDataKeyReusePeriodSeconds", "SqsManagedSseEnabled"}
# FIFO-only attributes: their allowed values, the first being the default.
_FIFO: dict[str, tuple[str, ...]] = {
    "ContentBasedDeduplication": ("false", "true"),
    "DeduplicationScope": ("queue", "messageGroup"),
    "FifoThroughputLimit": ("perQueue", "perMessageGroupId"),
}
SETTABLE = set(_INTEGERS) | _OPAQUE | {"RedrivePolicy", "RedriveAllowPolicy"}


@dataclass(frozen=True, slots=True)
class Redrive:
    dead_letter_queue: str  # its name
    max_receive_count: int


def defaults(fifo: bool = False) -> dict[str, str]:
    out = {name: str(default) for name, (default, _, _) in _INTEGERS.items()}
    if fifo:
        out["FifoQueue"] = "true"
        out.update({name: values[0] for name, values in _FIFO.items()})
    return out


def is_fifo(given: dict[str, Any]) -> bool:
    """Whether CreateQueue's attributes ask for a FIFO queue."""
    value = str(given.get("FifoQueue", "false")).lower()
    if value not in ("true", "false"):
        raise QueueError(
            "InvalidAttributeValue", "Invalid value for the parameter FifoQueue: true or false."
        )
    return value == "true"


def validated(given: dict[str, Any], *, fifo: bool, creating: bool) -> dict[str, str]:
    """The attributes of a CreateQueue or SetQueueAttributes request for a (``fifo``) queue,
    checked and as text; the empty string removes RedrivePolicy/RedriveAllowPolicy, as with
    SQS. A queue's type is chosen when it is created and never changes."""
    out: dict[str, str] = {}
    for name, raw in given.items():
        value = str(raw)
        if name == "FifoQueue":
            if not creating:
                raise QueueError(
                    "InvalidAttributeName", "FifoQueue is chosen when a queue is created."
                )
            continue  # see is_fifo
        if name in _FIFO:
            if not fifo:
                raise QueueError("InvalidAttributeName", f"{name} applies only to FIFO queues.")
            if value not in _FIFO[name]:
                raise QueueError(
                    "InvalidAttributeValue",
                    f"Invalid value for the parameter {name}: one of {', '.join(_FIFO[name])}.",
                )
            out[name] = value
            continue
        if name not in SETTABLE:
            raise QueueError("InvalidAttributeName", f"Unknown Attribute {name}.")
        if name in _INTEGERS:
            _, low, high = _INTEGERS[name]
            if not value.isdigit() or not low <= int(value) <= high:
                raise QueueError(
                    "InvalidAttributeValue",
                    f"Invalid value for the parameter {name}: must be an integer "
                    f"from {low} to {high}.",
                )
        elif name == "RedrivePolicy" and value:
            redrive_policy(value)
        elif name == "RedriveAllowPolicy" and value:
            _check_allow_policy(value)
        out[name] = value
    return out


def redrive_policy(text: str | None) -> Redrive | None:
    if not text:
        return None
    bad = QueueError(
        "InvalidAttributeValue",
        "Value for parameter RedrivePolicy is invalid. Reason: it must be JSON with "
        "deadLetterTargetArn (a queue ARN) and maxReceiveCount (1 to 1000).",
    )
    try:
        policy = json.loads(text)
        target = names.name_of(str(policy["deadLetterTargetArn"]))
        count = int(policy["maxReceiveCount"])
    except (ValueError, KeyError, TypeError):
        raise bad from None
    if target is None or not 1 <= count <= 1000:
        raise bad
    return Redrive(target, count)


def _check_allow_policy(text: str) -> None:
    try:
        policy = json.loads(text)
        permission = policy["redrivePermission"]
        sources = policy.get("sourceQueueArns", [])
    except (ValueError, KeyError, TypeError):
        permission, sources = None, None
    ok = permission in ("allowAll", "denyAll", "byQueue") and isinstance(sources, list)
    if ok and permission == "byQueue":
        ok = 1 <= len(sources) <= 10
    elif ok:
        ok = not sources
    if not ok:
        raise QueueError(
            "InvalidAttributeValue",
            "Value for parameter RedriveAllowPolicy is invalid. Reason: redrivePermission "
            "must be allowAll, denyAll or byQueue (with 1 to 10 sourceQueueArns).",
        )


def allows_source(dead_letter_attributes: dict[str, str], source_name: str) -> bool:
    text = dead_letter_attributes.get("RedriveAllowPolicy")
    if not text:
        return True
    policy = json.loads(text)
    permission = policy["redrivePermission"]
    if permission == "byQueue":
        return source_name in {names.name_of(a) for a in policy.get("sourceQueueArns", [])}
    return bool(permission == "allowAll")


# -- messages -----------------------------------------------------------------------------
_BAD_CHARS = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# For ASCII text the only bad characters are controls other than tab, LF and CR; deleting
# them with bytes.translate is several times faster than any regular expression.
_ASCII_CONTROLS = bytes(c for c in range(32) if c not in (9, 10, 13))
_ATTRIBUTE_NAME = re.compile(r"^[A-Za-z0-9_\-.]{1,256}$")
_DATA_TYPE = re.compile(r"^(String|Number|Binary)(\.[^\s]{1,250})?$")


def check_body(body: Any) -> str:
    if not isinstance(body, str) or not body:
        raise QueueError("MissingParameter", "The request must contain the parameter MessageBody.")
    if body.isascii():
        clean = len(body.encode("ascii").translate(None, _ASCII_CONTROLS)) == len(body)
    else:
        clean = _BAD_CHARS.search(body) is None
    if not clean:
        raise QueueError(
            "InvalidMessageContents",
            "Invalid characters found: a message may hold only #x9, #xA, #xD, #x20 to "
            "#xD7FF, #xE000 to #xFFFD and #x10000 to #x10FFFF.",
        )
    return body


def check_message_attributes(attributes: Any) -> dict[str, dict[str, Any]]:
    """Validated MessageAttributes (binary values kept as given); raises on the first fault."""
    if not attributes:
        return {}
    if not isinstance(attributes, dict):
        raise invalid("MessageAttributes must be a map of name to value.")
    if len(attributes) > 10:
        raise invalid(f"Number of message attributes [{len(attributes)}] exceeds the limit of 10.")
    out: dict[str, dict[str, Any]] = {}
    for name, value in attributes.items():
        lowered = str(name).lower()
        if (
            not _ATTRIBUTE_NAME.match(str(name))
            or lowered.startswith(("aws.", "amazon."))
            or ".." in name
            or name.startswith(".")
            or name.endswith(".")
        ):
            raise invalid(f"Message attribute name '{name}' is invalid.")
        if not isinstance(value, dict) or not _DATA_TYPE.match(str(value.get("DataType", ""))):
            raise invalid(
                f"Message attribute '{name}' must have a DataType of String, Number or Binary."
            )
        kind = value["DataType"].split(".", 1)[0]
        if kind == "Binary":
            if "BinaryValue" not in value:
                raise invalid(f"Message attribute '{name}' must contain a BinaryValue.")
            try:
                binary(value["BinaryValue"])
            except (ValueError, TypeError):
                raise invalid(
                    f"Message attribute '{name}' has a BinaryValue that is not base64."
                ) from None
            out[name] = {"DataType": value["DataType"], "BinaryValue": value["BinaryValue"]}
            continue
        text = value.get("StringValue")
        if not isinstance(text, str) or not text:
            raise invalid(f"Message attribute '{name}' must contain a non-empty StringValue.")
        if kind == "Number":
            try:
                Decimal(text)
            except InvalidOperation:
                raise invalid(
                    f"Message attribute '{name}' has an invalid Number '{text}'."
                ) from None
        out[name] = {"DataType": value["DataType"], "StringValue": text}
    return out


def message_size(body: str, attributes: dict[str, dict[str, Any]]) -> int:
    size = len(body.encode("utf-8"))
    for name, value in attributes.items():
        size += len(name.encode("utf-8")) + len(value["DataType"].encode("utf-8"))
        if "BinaryValue" in value:
            size += len(binary(value["BinaryValue"]))
        else:
            size += len(value["StringValue"].encode("utf-8"))
    return size
