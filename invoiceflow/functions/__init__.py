"""The Lambda layer: Python handlers registered by name with Lambda's signature, and
event source mappings that feed queues to them in batches."""

from invoiceflow.functions.client import LambdaClient
from invoiceflow.functions.mappings import Mapping, MappingError, Mappings
from invoiceflow.functions.poller import Poller
from invoiceflow.functions.registry import LambdaContext, Registry, default_registry, handler

__all__ = [
    "LambdaClient",
    "LambdaContext",
    "Mapping",
    "MappingError",
    "Mappings",
    "Poller",
    "Registry",
    "default_registry",
    "handler",
]
