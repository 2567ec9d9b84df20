"""The error a client raises, shaped like botocore's ClientError."""

from __future__ import annotations

from typing import Any


class ClientError(Exception):
    """``response["Error"]["Code"]`` names the error as the AWS API does."""

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
