"""The shapes the API answers with, as published in its OpenAPI document. Execution
resources keep the Step Functions field names, so that what people know carries over."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

State = Literal["New", "Processing", "Done", "Error"]


class ContainerOut(BaseModel):
    id: str
    name: str
    source: str
    state: State
    reason: str | None
    size: int
    sha256: str
    parsed: int | None = Field(description="Invoices found in the file, once parsed.")
    invoices: int = Field(description="Invoices created so far.")
    needs_review: bool = Field(
        description="Some of its invoices have error-level problems: a person should look."
    )
    review_count: int = Field(
        description="Its invoices with error-level problems (counted when it ends)."
    )
    last_error: str | None = Field(
        description="What a post-creation action (webhook, export) said when it last failed, "
        "while it is tried again; cleared when the container ends Done, kept when it ends "
        "in Error."
    )
    attempts: int = Field(description="The attempt that failed with last_error (0: none).")
    last_error_at: datetime | None
    profile: str | None = Field(
        description="The supplier profile its file is read with (kept for a retry), if any."
    )
    execution_arn: str | None
    created: datetime
    updated: datetime


class ContainerPage(BaseModel):
    items: list[ContainerOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page.")


class ProfileIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    profile: dict[str, Any] = Field(
        description="How to read the files: `columns` (model field: the file's column "
        "header), `delimiter`, `decimal`, `encoding`, `date_format`, or `jsonata` for JSON."
    )
    match_supplier: str | None = Field(
        default=None,
        max_length=200,
        description="Used when no profile is named for a file whose first 64 KiB name this "
        "supplier (name or id, any case).",
    )
    match_file: str | None = Field(
        default=None,
        max_length=255,
        description="Used when no profile is named for a file whose name matches this "
        "pattern (`*`, `?`, `[...]`; any case), e.g. `acme-*.csv`.",
    )


class ProfileOut(BaseModel):
    name: str
    profile: dict[str, Any]
    match_supplier: str | None
    match_file: str | None
    created: datetime
    updated: datetime


class ProfileList(BaseModel):
    profiles: list[ProfileOut]


class InvoiceOut(BaseModel):
    """The invoice in invoiceflow's JSON form, with where it came from."""

    model_config = ConfigDict(extra="allow")
    id: str
    container: str
    duplicate_of: str | None


class InvoicePage(BaseModel):
    items: list[InvoiceOut]
    next_cursor: str | None


class EventAccepted(BaseModel):
    message_id: str
    state: Literal["Queued"]


class EventOut(BaseModel):
    message_id: str
    state: Literal["Queued", "DeadLettered", "New", "Processing", "Done", "Error"]
    container: str | None
    invoice: str | None
    reason: str | None
    received: datetime


class ExecutionSummary(BaseModel):
    executionArn: str
    stateMachineArn: str
    name: str
    status: str
    startDate: datetime
    stopDate: datetime | None = None
    redriveCount: int = 0


class ExecutionOut(ExecutionSummary):
    input: str
    output: str | None = None
    error: str | None = None
    cause: str | None = None
    redriveStatus: str


class ExecutionPage(BaseModel):
    executions: list[ExecutionSummary]
    nextToken: str | None = None


class HistoryEvent(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: int
    previousEventId: int
    type: str
    timestamp: datetime


class HistoryPage(BaseModel):
    events: list[HistoryEvent]
    nextToken: str | None = None


class Stopped(BaseModel):
    stopDate: datetime


class Redriven(BaseModel):
    redriveDate: datetime


class TaskSuccess(BaseModel):
    model_config = ConfigDict(extra="forbid")
    taskToken: str = Field(max_length=1024)
    output: Any = Field(default=None, description="Any JSON value; the task's result.")


class TaskFailure(BaseModel):
    model_config = ConfigDict(extra="forbid")
    taskToken: str = Field(max_length=1024)
    error: str | None = Field(default=None, max_length=256)
    cause: str | None = Field(default=None, max_length=32768)


class TaskHeartbeat(BaseModel):
    model_config = ConfigDict(extra="forbid")
    taskToken: str = Field(max_length=1024)


class Empty(BaseModel):
    pass


class QueueOut(BaseModel):
    name: str
    url: str
    arn: str
    visible: int = Field(description="Your messages ready to be received.")
    in_flight: int = Field(description="Your messages received and not yet deleted.")
    delayed: int
    oldest_age_seconds: float | None
    dead_letter_queue: str | None = Field(description="Where messages go that keep failing.")


class QueueList(BaseModel):
    queues: list[QueueOut]


class MessageOut(BaseModel):
    message_id: str
    body: str
    attributes: dict[str, Any]
    sent: datetime
    receive_count: int
    dead_letter_source: str | None


class MessageList(BaseModel):
    messages: list[MessageOut]


class QueueRedriven(BaseModel):
    moved: int


class Health(BaseModel):
    status: str
