"""What the queue layer refuses, named by the SQS error code a client would see."""

from __future__ import annotations

from invoiceflow.client_errors import ServiceError


class QueueError(ServiceError):
    pass


def invalid(message: str) -> QueueError:
    return QueueError("InvalidParameterValue", message)
