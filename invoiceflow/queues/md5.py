"""The MD5 digests SQS returns, computed as SQS computes them, so SDKs that verify them pass.

The attribute digest covers, for each attribute in name order: the length-prefixed name,
the length-prefixed data type, one transport byte (1 string, 2 binary) and the
length-prefixed value. Lengths are 4-byte big-endian.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from typing import Any


def md5_of_body(body: str) -> str:
    return hashlib.md5(body.encode("utf-8"), usedforsecurity=False).hexdigest()


def _field(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def md5_of_attributes(attributes: dict[str, dict[str, Any]]) -> str:
    out = bytearray()
    for name in sorted(attributes):
        value = attributes[name]
        out += _field(name.encode("utf-8"))
        out += _field(value["DataType"].encode("utf-8"))
        if "BinaryValue" in value:
            out += b"\x02" + _field(binary(value["BinaryValue"]))
        else:
            out += b"\x01" + _field(value["StringValue"].encode("utf-8"))
    return hashlib.md5(bytes(out), usedforsecurity=False).hexdigest()


def binary(value: bytes | str) -> bytes:
    """Binary values arrive as bytes (boto3) or base64 text (JSON)."""
    return value if isinstance(value, bytes) else base64.b64decode(value)
