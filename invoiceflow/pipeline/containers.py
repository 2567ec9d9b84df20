"""Containers (one per received file) and the invoices created from them, as stored.

State changes are guarded updates: a container moves New -> Processing -> Done | Error (and
Error -> Processing when it is run again), never backwards from Done.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from invoiceflow.digitize import Invoice, to_json
from invoiceflow.store import Database, Transaction


@dataclass(frozen=True, slots=True)
class Container:
    id: str
    tenant: str
    source: str
    name: str
    sha256: str
    size: int
    blob: str
    state: str
    reason: str | None
    parsed_count: int | None
    created_count: int
    execution_arn: str | None
    created: float
    updated: float
    review_count: int = 0  # invoices with error-level problems, counted when it ends
    last_error: str | None = None  # a post-creation action's latest failure, while it retries
    attempts: int = 0  # the attempt that failed so
    last_error_at: float | None = None
    profile_name: str | None = None  # the supplier profile its file is read with
    profile: str | None = None  # that profile's content, a JSON object, as it was chosen

    @property
    def needs_review(self) -> bool:
        return self.review_count > 0

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "tenant": self.tenant,
            "source": self.source,
            "name": self.name,
            "sha256": self.sha256,
            "size": self.size,
            "state": self.state,
            "reason": self.reason,
            "parsed": self.parsed_count,
            "invoices": self.created_count,
            "execution_arn": self.execution_arn,
            "needs_review": self.needs_review,
            "review_count": self.review_count,
            "profile": self.profile_name,
            "last_error": self.last_error,
            "attempts": self.attempts,
            "last_error_at": _iso(self.last_error_at),
            "created": _iso(self.created),
            "updated": _iso(self.updated),
        }


def _iso(when: float | None) -> str | None:
    """A moment as ISO 8601 in UTC, as the API shows it."""
    return datetime.fromtimestamp(when, UTC).isoformat() if when is not None else None


@dataclass(frozen=True, slots=True)
class StoredInvoice:
    id: str
    tenant: str
    container_id: str
    position: int
    number: str
    supplier: str | None
    issue_date: str | None
    currency: str | None
    total: str | None
    invoice: dict[str, Any]
    created: float
    duplicate_of: str | None

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "container": self.container_id,
            "duplicate_of": self.duplicate_of,
            **self.invoice,
        }


def new_id() -> str:
    return str(uuid.uuid4())


def get(tx: Transaction, container_id: str) -> Container | None:
    """A container as people see it: while it is in work, its invoices counted so far."""
    row = tx.fetchone("get_container", (container_id,))
    return Container(*row) if row else None


def stored(tx: Transaction, container_id: str) -> Container | None:
    """A container as stored (its invoice count written when it ends), without the count
    ``get`` makes: for the workflow's steps, which read it once per invoice."""
    row = tx.fetchone("get_stored_container", (container_id,))
    return Container(*row) if row else None


PAGE_QUERIES = {
    None: "page_own_containers",
    True: "page_containers_needing_review",
    False: "page_containers_not_needing_review",
}


def page(
    tx: Transaction,
    tenant: str,
    *,
    state: str | None = None,
    since: float = 0.0,
    needs_review: bool | None = None,
    before: tuple[float, str] = (float("inf"), ""),
    limit: int = 100,
) -> list[Container]:
    """A tenant's containers newest first, those created before ``before`` (the (created,
    id) of the last one of the page before); ``needs_review`` keeps only those that do (or
    do not) have invoices with error-level problems."""
    created, item = before
    rows = tx.fetch(
        PAGE_QUERIES[needs_review],
        (tenant, state, state, since, created, item, limit),
    )
    return [Container(*r) for r in rows]


def listing(
    db: Database,
    tenant: str,
    state: str | None = None,
    since: float = 0.0,
    limit: int = 100,
    needs_review: bool | None = None,
) -> list[Container]:
    with db.transaction(write=False) as tx:
        return page(tx, tenant, state=state, since=since, needs_review=needs_review, limit=limit)


def store_invoice(
    tx: Transaction, container: Container, position: int, invoice: Invoice, now: float
) -> str:
    """Create the invoice at ``position`` of ``container`` unless it exists; its id."""
    seller = invoice.seller
    created = tx.fetchone(
        "insert_invoice",
        (
            new_id(),
            container.tenant,
            container.id,
            position,
            invoice.invoice_number,
            (seller.tax_id or seller.id or seller.name) if seller else None,
            invoice.issue_date.isoformat() if invoice.issue_date else None,
            invoice.currency,
            str(invoice.totals.payable) if invoice.totals.payable is not None else None,
            to_json(invoice).decode(),
            now,
            len(invoice.problems),
            sum(p.severity == "error" for p in invoice.problems),
        ),
    )
    row = created or tx.fetchone("invoice_at", (container.id, position))  # made before
    assert row is not None
    return str(row[0])


def invoice_from_row(row: tuple[Any, ...]) -> StoredInvoice:
    iid, tenant, container, position, number, supplier, issued, currency, total = row[:9]
    body, created, duplicate_of = row[9:]
    return StoredInvoice(
        iid,
        tenant,
        container,
        position,
        number,
        supplier,
        issued,
        currency,
        None if total is None else str(total),  # exact: a Decimal where the store has NUMERIC
        orjson.loads(body),
        created,
        duplicate_of,
    )
