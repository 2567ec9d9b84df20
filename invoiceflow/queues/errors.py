"""What the queue layer refuses, named by the SQS error code a client would see."""

from __future__ import annotations


class QueueError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def invalid(message: str) -> QueueError:
    return QueueError("InvalidParameterValue", message)
