"""The HTTP face of invoiceflow (FastAPI): see ``create_app``."""

from invoiceflow.api.app import create_app

__all__ = ["create_app"]
