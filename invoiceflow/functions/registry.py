"""Handlers registered by name, called as Lambda calls them: ``handler(event, context)``.

An exception becomes an error named by its class, with Lambda's JSON error document
(errorMessage, errorType, requestId, stackTrace) as the cause, exactly what Step Functions
shows for a failed Python function.
"""

from __future__ import annotations

import importlib
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from invoiceflow.limits import TooDeep, check_depth

Handler = Callable[[Any, "LambdaContext"], Any]
Observer = Callable[[str, float, bool], None]  # (handler name, seconds, succeeded)
DEFAULT_TIMEOUT = 900.0  # Lambda's ceiling, for handlers a Task gives no timeout


@dataclass(slots=True)
class LambdaContext:
    """The subset of Lambda's context object that handlers commonly use."""

    function_name: str
    aws_request_id: str
    invoked_function_arn: str
    deadline: float
    memory_limit_in_mb: int = 128
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = ""
    execution_arn: str = ""

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.time()) * 1000))


@dataclass
class Registry:
    handlers: dict[str, Handler] = field(default_factory=dict)
    region: str = "us-east-1"
    account: str = "000000000000"
    # Told of every invocation (for metrics); an observer must be quick and must not raise.
    observers: list[Observer] = field(default_factory=list)

    def register(self, name: str, fn: Handler | str) -> None:
        """Register ``fn``, or the dotted ``"module.function"`` path Lambda would use."""
        if isinstance(fn, str):
            module, _, attr = fn.rpartition(".")
            fn = getattr(importlib.import_module(module), attr)
        self.handlers[name] = fn  # type: ignore[assignment]

    def has(self, name: str) -> bool:
        return name in self.handlers

    def invoke(
        self, name: str, event: Any, *, timeout: float | None, execution: str
    ) -> dict[str, Any]:
        fn = self.handlers[name]
        request_id = str(uuid.uuid4())
        context = LambdaContext(
            function_name=name,
            aws_request_id=request_id,
            invoked_function_arn=f"arn:aws:lambda:{self.region}:{self.account}:function:{name}",
            deadline=time.time() + (timeout or DEFAULT_TIMEOUT),
            execution_arn=execution,
        )
        began = time.perf_counter()
        try:
            output = fn(event, context)
        except Exception as exc:
            self._observe(name, began, False)
            return {
                "ok": False,
                "error": type(exc).__name__,
                "cause": error_document(exc, request_id),
            }
        try:
            # What a handler returns must be JSON, as with Lambda, and no deeper than any
            # other value the engine takes in.
            orjson.dumps(output)
            check_depth(output)
        except (TypeError, TooDeep) as exc:
            self._observe(name, began, False)
            problem = MarshalError(f"Unable to marshal response: {exc}")
            return {
                "ok": False,
                "error": "Runtime.MarshalError",
                "cause": error_document(problem, request_id),
            }
        self._observe(name, began, True)
        return {"ok": True, "output": output}

    def _observe(self, name: str, began: float, ok: bool) -> None:
        if self.observers:
            took = time.perf_counter() - began
            for observer in self.observers:
                observer(name, took, ok)


class MarshalError(Exception):
    """A handler's return value that cannot be passed on as JSON."""


def error_document(exc: BaseException, request_id: str) -> str:
    frames = traceback.format_tb(exc.__traceback__)
    return orjson.dumps(
        {
            "errorMessage": str(exc),
            "errorType": type(exc).__name__,
            "requestId": request_id,
            "stackTrace": frames,
        }
    ).decode()


_DEFAULT = Registry()


def default_registry() -> Registry:
    return _DEFAULT


def handler(name: str, registry: Registry | None = None) -> Callable[[Handler], Handler]:
    """Decorator: ``@handler("parse-file")`` registers a function under a name."""

    def register(fn: Handler) -> Handler:
        (registry or _DEFAULT).register(name, fn)
        return fn

    return register
