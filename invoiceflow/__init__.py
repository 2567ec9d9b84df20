"""invoiceflow: durable invoice digitization on Amazon States Language workflows.

``invoiceflow.client("stepfunctions")`` gives a boto3-compatible client on the embedded store
(or the one ``database_url``/``INVOICEFLOW_DATABASE_URL`` names); ``invoiceflow.validate``
lists every problem of a definition.
"""

from __future__ import annotations

from typing import Any

from invoiceflow.engine.validate import Problem, validate

__all__ = ["Problem", "client", "validate"]


def client(service: str, database_url: str | None = None) -> Any:
    """A client for ``service`` ("stepfunctions"), in-process, with boto3's interface.

    Lambda tasks run the handlers registered with ``invoiceflow.functions.handler``.
    """
    from invoiceflow.engine import Engine
    from invoiceflow.functions import default_registry
    from invoiceflow.store import open_database

    if service != "stepfunctions":
        raise ValueError(f"unknown service {service!r}; invoiceflow offers 'stepfunctions'")
    engine = Engine.open(open_database(database_url), invoker=default_registry())
    return engine.client
