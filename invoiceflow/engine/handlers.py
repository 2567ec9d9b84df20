"""How the engine calls handler code without knowing where handlers live.

The functions layer registers handlers and implements ``Invoker``; the engine only asks
whether a name is known and gets back an outcome: ``{"ok": True, "output": ...}`` or
``{"ok": False, "error": ..., "cause": ...}``.
"""

from __future__ import annotations

from typing import Any, Protocol

from invoiceflow.engine.commands import Invoke

Outcome = dict[str, Any]


class Invoker(Protocol):
    def has(self, name: str) -> bool: ...

    def invoke(self, name: str, event: Any, *, timeout: float | None, execution: str) -> Outcome:
        """Run handler ``name`` on ``event``; never raises for the handler's own errors."""
        ...


def function_call(cmd: Invoke) -> tuple[str, Any]:
    """The handler name and the event a Lambda task passes to it."""
    if cmd.resource.direct_lambda:
        return cmd.resource.action, cmd.payload
    payload = cmd.payload if isinstance(cmd.payload, dict) else {}
    name = str(payload.get("FunctionName", ""))
    if name.startswith("arn:"):
        parts = name.split(":")
        name = parts[6] if len(parts) > 6 else parts[-1]
    return name, payload.get("Payload", {})


def run(invoker: Invoker, cmd: Invoke, execution: str) -> Outcome:
    """Invoke the handler behind a Lambda task and shape the outcome as Step Functions does:
    a direct function ARN returns the handler's value; ``lambda:invoke`` returns Lambda's
    Invoke response with the value under ``Payload``."""
    name, event = function_call(cmd)
    if not invoker.has(name):
        return {
            "ok": False,
            "error": "Lambda.ResourceNotFoundException",
            "cause": f"Function not found: {name}",
        }
    outcome = invoker.invoke(name, event, timeout=cmd.timeout, execution=execution)
    if outcome["ok"] and not cmd.resource.direct_lambda:
        outcome = {
            "ok": True,
            "output": {
                "ExecutedVersion": "$LATEST",
                "Payload": outcome.get("output"),
                "SdkHttpMetadata": {"HttpStatusCode": 200},
                "SdkResponseMetadata": {},
                "StatusCode": 200,
            },
        }
    return outcome
