"""The error a client raises, shaped like botocore's ClientError.

As with boto3, ``client.exceptions.TaskTimedOut`` (or any other error code) is a subclass
of ClientError that catches exactly that code, so both styles of handling carry over. The
layers below the clients raise ``ServiceError`` named by the same codes; ``operation``
turns it into the ClientError of the API call it happened in.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


class ServiceError(Exception):
    """A refusal by a service's own layer (queues, functions), named by its AWS error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def operation(name: str) -> Callable[[F], F]:
    """Report a ServiceError raised inside the decorated client method as the ClientError
    boto3 would raise for API operation ``name``."""

    def wrap(fn: F) -> F:
        @functools.wraps(fn)
        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except ServiceError as exc:
                raise ClientError(exc.code, exc.message, name) from None

        return call  # type: ignore[return-value]

    return wrap


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
