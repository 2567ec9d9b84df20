"""The durable Amazon States Language engine.

``Engine`` ties a database, the compiled definitions, the runtime and the client together;
the pure interpreter is ``invoiceflow.engine.core.advance``.
"""

from __future__ import annotations

from dataclasses import dataclass

from invoiceflow.client_errors import ClientError
from invoiceflow.engine.client import Definitions, StepFunctionsClient
from invoiceflow.engine.durability import BATCHED, DURABILITIES, PER_STEP
from invoiceflow.engine.handlers import Invoker
from invoiceflow.engine.runtime import Clock, Runtime
from invoiceflow.engine.validate import Problem, validate
from invoiceflow.store import Database

__all__ = [
    "BATCHED",
    "DURABILITIES",
    "PER_STEP",
    "ClientError",
    "Clock",
    "Engine",
    "Problem",
    "StepFunctionsClient",
    "validate",
]


@dataclass
class Engine:
    db: Database
    definitions: Definitions
    runtime: Runtime
    client: StepFunctionsClient

    @classmethod
    def open(
        cls,
        db: Database,
        *,
        invoker: Invoker | None = None,
        clock: Clock | None = None,
        durability: str = BATCHED,
    ) -> Engine:
        """``durability``: the default of the state machines that set none of their own
        (``batched`` or ``per-step``, see ``invoiceflow.engine.durability``)."""
        definitions = Definitions(db)
        runtime = Runtime(db, definitions, invoker=invoker, clock=clock, durability=durability)
        return cls(db, definitions, runtime, StepFunctionsClient(db, runtime, definitions))
