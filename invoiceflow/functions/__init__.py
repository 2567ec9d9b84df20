"""The Lambda layer: Python handlers registered by name with Lambda's signature."""

from invoiceflow.functions.registry import LambdaContext, Registry, default_registry, handler

__all__ = ["LambdaContext", "Registry", "default_registry", "handler"]
