"""invoiceflow: durable invoice digitization on Amazon States Language workflows.

``invoiceflow.client("stepfunctions")`` and ``invoiceflow.client("sqs")`` give
boto3-compatible clients on the embedded store (or the one ``database_url`` or
``INVOICEFLOW_DATABASE_URL`` names); ``invoiceflow.validate`` lists every problem of a
definition.
"""

from __future__ import annotations

from typing import Any

from invoiceflow.engine.validate import Problem, validate

__all__ = ["Problem", "client", "validate"]


def client(service: str, database_url: str | None = None) -> Any:
    """A client for ``service`` ("stepfunctions", "sqs" or "lambda"), in-process, with
    boto3's interface.

    Lambda tasks run the handlers registered with ``invoiceflow.functions.handler``.
    """
    from invoiceflow.store import open_database

    if service == "sqs":
        from invoiceflow.queues import Queues, SQSClient

        return SQSClient(Queues(open_database(database_url)))
    if service == "lambda":
        from invoiceflow.functions import LambdaClient, Mappings, default_registry
        from invoiceflow.queues import Queues

        db = open_database(database_url)
        return LambdaClient(Mappings(db, Queues(db)), default_registry())
    if service == "stepfunctions":
        from invoiceflow.engine import Engine
        from invoiceflow.functions import default_registry

        return Engine.open(open_database(database_url), invoker=default_registry()).client
    raise ValueError(
        f"unknown service {service!r}; invoiceflow offers 'stepfunctions', 'sqs', 'lambda'"
    )
