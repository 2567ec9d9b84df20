"""Queues with SQS semantics on the invoiceflow store.

``Queues`` holds the semantics (and sends inside a caller's transaction, so a workflow's
transition and its messages commit together); ``SQSClient`` is the boto3-shaped face.
"""

from invoiceflow.queues.client import SQSClient
from invoiceflow.queues.errors import QueueError
from invoiceflow.queues.manager import Queues, Received, Sent
from invoiceflow.queues.queue import Queue

__all__ = ["Queue", "QueueError", "Queues", "Received", "SQSClient", "Sent"]
