"""Invoices: search a tenant's invoices, read one in invoiceflow's JSON form."""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query

from invoiceflow.api import paging
from invoiceflow.api.context import Services, Svc, Tenant
from invoiceflow.api.errors import ApiError, not_found, responses
from invoiceflow.api.json_body import JsonRoute
from invoiceflow.api.models import InvoiceOut, InvoicePage
from invoiceflow.pipeline import containers

router = APIRouter(prefix="/v1/invoices", tags=["invoices"], route_class=JsonRoute)
PAGE_QUERIES = {
    None: "page_invoices",
    True: "page_invoices_with_problems",
    False: "page_invoices_without_problems",
}


def invoice_out(row: tuple[object, ...]) -> InvoiceOut:
    return InvoiceOut(**containers.invoice_from_row(row).describe())


def invoice_page(
    svc: Services,
    tenant: str,
    cursor: str | None,
    limit: int,
    *,
    container: str | None = None,
    supplier: str | None = None,
    issued_from: date | None = None,
    issued_to: date | None = None,
    total_min: Decimal | None = None,
    total_max: Decimal | None = None,
    duplicate: bool | None = None,
    has_problems: bool | None = None,
) -> InvoicePage:
    before, before_id = paging.decode(cursor)
    filters = {
        "tenant": tenant,
        "container": container,
        "supplier": supplier,
        "issued_from": issued_from.isoformat() if issued_from else None,
        "issued_to": issued_to.isoformat() if issued_to else None,
        "total_min": _bound(total_min),
        "total_max": _bound(total_max),
        "duplicate": None if duplicate is None else int(duplicate),
        "before": before,
        "before_id": before_id,
        "limit": limit + 1,
    }
    with svc.db.transaction(write=False) as tx:
        rows = tx.fetch(PAGE_QUERIES[has_problems], filters)
    page = rows[:limit]
    last = page[-1] if page else None
    return InvoicePage(
        items=[invoice_out(r) for r in page],
        next_cursor=paging.encode(float(last[10]), str(last[0]))
        if last is not None and len(rows) > limit
        else None,
    )


def _bound(total: Decimal | None) -> float | None:
    """A total as the store compares it; 400 for one no float can hold (1e999999999)."""
    if total is None:
        return None
    value = float(total)
    if not math.isfinite(value):
        raise ApiError(400, "InvalidTotal", "Totals must be numbers a float can hold.")
    return value


@router.get("", response_model=InvoicePage, responses=responses(400, 401, 422))
def list_invoices(
    svc: Svc,
    tenant: Tenant,
    supplier: Annotated[str | None, Query(description="Seller tax id, id or name.")] = None,
    issued_from: date | None = None,
    issued_to: date | None = None,
    total_min: Annotated[Decimal | None, Query(allow_inf_nan=False)] = None,
    total_max: Annotated[Decimal | None, Query(allow_inf_nan=False)] = None,
    duplicate: Annotated[bool | None, Query(description="Only (or no) likely duplicates.")] = None,
    has_problems: Annotated[
        bool | None,
        Query(
            description="Only invoices with problems of any severity, warnings included "
            "(true), or only those without any (false)."
        ),
    ] = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> InvoicePage:
    return invoice_page(
        svc,
        tenant,
        cursor,
        limit,
        supplier=supplier,
        issued_from=issued_from,
        issued_to=issued_to,
        total_min=total_min,
        total_max=total_max,
        duplicate=duplicate,
        has_problems=has_problems,
    )


@router.get("/{invoice_id}", response_model=InvoiceOut, responses=responses(401, 404))
def get_invoice(svc: Svc, tenant: Tenant, invoice_id: str) -> InvoiceOut:
    with svc.db.transaction(write=False) as tx:
        row = tx.fetchone("get_invoice", (invoice_id,))
    if row is None or row[1] != tenant:
        raise not_found("invoice")
    return invoice_out(row)
