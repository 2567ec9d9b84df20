"""The Task resources invoiceflow understands, and how each one appears in history.

A definition naming any other resource is refused by the validator, not discovered at run time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

REQUEST_RESPONSE = "response"
SYNC = "sync"
SYNC2 = "sync:2"
TOKEN = "token"

_LAMBDA_ARN = re.compile(r"^arn:aws:lambda:[^:]*:[^:]*:function:([^:]+)(?::[^:]+)?$")
_SHORT_NAME = re.compile(r"^[A-Za-z0-9_-]{1,140}$")
_INTEGRATION = re.compile(
    r"^arn:aws:states:[^:]*:[^:]*:(lambda|states|sqs):([A-Za-z]+)"
    r"(?:\.(sync|sync:2|waitForTaskToken))?$"
)
_SUPPORTED = {
    ("lambda", "invoke"): {REQUEST_RESPONSE, TOKEN},
    ("states", "startExecution"): {REQUEST_RESPONSE, SYNC, SYNC2, TOKEN},
    ("sqs", "sendMessage"): {REQUEST_RESPONSE, TOKEN},
}


@dataclass(frozen=True, slots=True)
class Resource:
    """A parsed Task resource.

    ``service``/``action`` name the integration ("lambda"/"invoke", "states"/"startExecution",
    "sqs"/"sendMessage"); a direct Lambda ARN has service "lambda-function" and the function
    name as action. ``history_type`` and ``history_name`` are what the history shows as
    resourceType/resource.
    """

    arn: str
    service: str
    action: str
    pattern: str

    @property
    def direct_lambda(self) -> bool:
        return self.service == "lambda-function"

    @property
    def history_name(self) -> str:
        if self.pattern == REQUEST_RESPONSE:
            return self.action
        suffix = "waitForTaskToken" if self.pattern == TOKEN else self.pattern
        return f"{self.action}.{suffix}"


@lru_cache(maxsize=1024)
def parse_resource(arn: str) -> Resource | None:
    """The resource named by ``arn``, or None if invoiceflow does not support it."""
    m = _LAMBDA_ARN.match(arn)
    if m:
        return Resource(arn, "lambda-function", m.group(1), REQUEST_RESPONSE)
    if _SHORT_NAME.match(arn):
        return Resource(arn, "lambda-function", arn, REQUEST_RESPONSE)
    m = _INTEGRATION.match(arn)
    if not m:
        return None
    service, action, suffix = m.group(1), m.group(2), m.group(3)
    pattern = {None: REQUEST_RESPONSE, "waitForTaskToken": TOKEN}.get(suffix, suffix or "")
    if pattern not in _SUPPORTED.get((service, action), set()):
        return None
    return Resource(arn, service, action, pattern)
