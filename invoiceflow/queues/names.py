"""Queue URLs and ARNs in AWS's forms; any of them, or the bare name, names a queue."""

from __future__ import annotations

import re
from functools import lru_cache

REGION = "us-east-1"
ACCOUNT = "000000000000"

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
_FIFO_NAME = re.compile(r"^[A-Za-z0-9_-]{1,75}\.fifo$")
# The account segment is not checked: one store is one account, and definitions written for
# AWS often carry placeholders such as <aws_account_id> there.
_URL = re.compile(r"^https?://[^/]+/[^/]+/([^/?#]+)/?$")
_ARN = re.compile(r"^arn:aws[\w-]*:sqs:[^:]*:[^:]*:([^:]+)$")


def valid_name(name: str, fifo: bool = False) -> bool:
    """SQS's rule: up to 80 characters, and a FIFO queue's (only) end in ".fifo"."""
    return bool((_FIFO_NAME if fifo else _NAME).match(name))


def queue_url(name: str) -> str:
    return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{name}"


def queue_arn(name: str) -> str:
    return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"


@lru_cache(maxsize=1024)
def name_of(ref: str) -> str | None:
    """The queue name in a URL, an ARN or a bare name; None if ``ref`` is none of these."""
    for pattern in (_URL, _ARN):
        m = pattern.match(ref)
        if m:
            return m.group(1)
    return ref if _NAME.match(ref) or _FIFO_NAME.match(ref) else None
