"""A Lambda client with boto3's names for what invoiceflow's function layer offers: event
source mappings from queues, and invoking a registered handler."""

from __future__ import annotations

import io
from typing import Any

import orjson

from invoiceflow.client_errors import ClientError, Exceptions, operation
from invoiceflow.functions.mappings import REPORT_FAILURES, Mappings
from invoiceflow.functions.registry import Registry


class LambdaClient:
    exceptions = Exceptions()

    def __init__(self, mappings: Mappings, registry: Registry) -> None:
        self.mappings = mappings
        self.registry = registry

    @operation("CreateEventSourceMapping")
    def create_event_source_mapping(
        self,
        EventSourceArn: str,
        FunctionName: str,
        BatchSize: int = 10,
        MaximumBatchingWindowInSeconds: int = 0,
        ScalingConfig: dict[str, Any] | None = None,
        FunctionResponseTypes: list[str] | None = None,
        Enabled: bool = True,
        **_: Any,
    ) -> dict[str, Any]:
        m = self.mappings.create(
            EventSourceArn,
            FunctionName,
            batch_size=BatchSize,
            batch_window=MaximumBatchingWindowInSeconds,
            max_concurrency=(ScalingConfig or {}).get("MaximumConcurrency"),
            report_failures=REPORT_FAILURES in (FunctionResponseTypes or []),
            enabled=Enabled,
        )
        return m.describe()

    @operation("GetEventSourceMapping")
    def get_event_source_mapping(self, UUID: str, **_: Any) -> dict[str, Any]:
        return self.mappings.get(UUID).describe()

    @operation("ListEventSourceMappings")
    def list_event_source_mappings(
        self, EventSourceArn: str | None = None, FunctionName: str | None = None, **_: Any
    ) -> dict[str, Any]:
        described = (m.describe() for m in self.mappings.all())
        found = [
            d
            for d in described
            if EventSourceArn in (None, d["EventSourceArn"])
            and (
                FunctionName is None
                or FunctionName in (d["FunctionArn"].rsplit(":", 1)[-1], d["FunctionArn"])
            )
        ]
        return {"EventSourceMappings": found}

    @operation("UpdateEventSourceMapping")
    def update_event_source_mapping(self, UUID: str, **params: Any) -> dict[str, Any]:
        changes: dict[str, Any] = {}
        if "BatchSize" in params:
            changes["batch_size"] = params["BatchSize"]
        if "MaximumBatchingWindowInSeconds" in params:
            changes["batch_window"] = float(params["MaximumBatchingWindowInSeconds"])
        if "ScalingConfig" in params:
            changes["max_concurrency"] = (params["ScalingConfig"] or {}).get("MaximumConcurrency")
        if "FunctionResponseTypes" in params:
            changes["report_failures"] = REPORT_FAILURES in params["FunctionResponseTypes"]
        if "Enabled" in params:
            changes["enabled"] = bool(params["Enabled"])
        return self.mappings.update(UUID, **changes).describe()

    @operation("DeleteEventSourceMapping")
    def delete_event_source_mapping(self, UUID: str, **_: Any) -> dict[str, Any]:
        return {**self.mappings.delete(UUID).describe(), "State": "Deleting"}

    @operation("Invoke")
    def invoke(self, FunctionName: str, Payload: bytes | str = b"{}", **_: Any) -> dict[str, Any]:
        """Run a registered handler now (RequestResponse); a handler error is reported as
        Lambda reports it: FunctionError "Unhandled" and the error document as payload.
        ``Payload`` is readable like botocore's streaming body."""
        if not self.registry.has(FunctionName):
            raise ClientError(
                "ResourceNotFoundException", f"Function not found: {FunctionName}", "Invoke"
            )
        outcome = self.registry.invoke(
            FunctionName, orjson.loads(Payload or b"null"), timeout=None, execution=""
        )
        out: dict[str, Any] = {"StatusCode": 200, "ExecutedVersion": "$LATEST"}
        if outcome["ok"]:
            out["Payload"] = io.BytesIO(orjson.dumps(outcome["output"]))
        else:
            out["FunctionError"] = "Unhandled"
            out["Payload"] = io.BytesIO(outcome["cause"].encode())
        return out
