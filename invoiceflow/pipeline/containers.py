"""Containers (one per received file) and the invoices created from them, as stored.

State changes are guarded updates: a container moves New -> Processing -> Done | Error (and
Error -> Processing when it is run again), never backwards from Done.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
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
            "created": self.created,
            "updated": self.updated,
        }


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
    row = tx.fetchone("get_container", (container_id,))
    return Container(*row) if row else None


def listing(
    db: Database, tenant: str, state: str | None = None, since: float = 0.0, limit: int = 100
) -> list[Container]:
    with db.transaction(write=False) as tx:
        rows = tx.fetch("list_containers", (tenant, state, state, since, limit))
    return [Container(*r) for r in rows]


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
        total,
        orjson.loads(body),
        created,
        duplicate_of,
    )
