"""The error a client raises, shaped like botocore's ClientError.

As with boto3, ``client.exceptions.TaskTimedOut`` (or any other error code) is a subclass
of ClientError that catches exactly that code, so both styles of handling carry over.
"""

from __future__ import annotations

from functools import cache
from typing import Any


class ClientError(Exception):
    """``response["Error"]["Code"]`` names the error as the AWS API does."""

    def __new__(cls, code: str, message: str, operation: str) -> ClientError:
        return super().__new__(error_class(code) if cls is ClientError else cls)

    def __init__(self, code: str, message: str, operation: str) -> None:
        super().__init__(
            f"An error occurred ({code}) when calling the {operation} operation: {message}"
        )
        self.operation_name = operation
        self.response: dict[str, Any] = {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": 400},
        }

    @property
    def code(self) -> str:
        return str(self.response["Error"]["Code"])


@cache
def error_class(code: str) -> type[ClientError]:
    return type(code, (ClientError,), {"__module__": __name__})


class Exceptions:
    """``client.exceptions``: error classes by code, made on first use; ``ClientError``
    itself catches them all."""

    def __getattr__(self, code: str) -> type[ClientError]:
        if code.startswith("_"):
            raise AttributeError(code)
        return ClientError if code == "ClientError" else error_class(code)
