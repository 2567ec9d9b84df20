"""What happens after an invoice is created, as each tenant configures it.

- ``webhook``: the invoice's JSON is POSTed to a URL, signed with HMAC-SHA256 of the body
  (``X-Invoiceflow-Signature: sha256=<hex>``) and carrying ``Idempotency-Key: <invoice id>``,
  since a delivery may be repeated. A receiver that is down, or answers other than 2xx, makes
  the step fail and the queue try again later.
- ``export``: the invoice is written to a folder as JSON, or as CSV in the one-row-per-line
  shape invoiceflow reads back; CSV cells that a spreadsheet would run as a formula are
  escaped, numbers are not.
- ``flag_duplicates``: an invoice whose supplier sent the same number, or the same date and
  total, in another file created earlier is marked as a likely duplicate of that one.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import os
import re
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import orjson

from invoiceflow.digitize import Invoice, to_json
from invoiceflow.pipeline.containers import StoredInvoice
from invoiceflow.store import Database

WEBHOOK_TIMEOUT = 10.0
_FORMULA = re.compile(r"^[=+\-@\t\r]")
_NUMBER = re.compile(r"^[-+]?\d+(\.\d+)?$")


class Webhook(msgspec.Struct, forbid_unknown_fields=True):
    url: str
    secret: str


class Export(msgspec.Struct, forbid_unknown_fields=True):
    folder: str
    format: str = "json"


class Settings(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    webhook: Webhook | None = None
    export: Export | None = None
    flag_duplicates: bool = False


class DeliveryFailed(Exception):
    """The webhook receiver did not take the invoice; the queue will try again."""


class ActionFailed(Exception):
    """An action did not go through: ``action`` names it, the message says what it met."""

    def __init__(self, action: str, message: str) -> None:
        super().__init__(f"{action}: {message}")
        self.action = action


def load_settings(db: Database, tenant: str) -> Settings:
    with db.transaction(write=False) as tx:
        row = tx.fetchone("get_settings", (tenant,))
    return msgspec.json.decode(row[0], type=Settings) if row else Settings()


def save_settings(db: Database, tenant: str, settings: Settings) -> None:
    if settings.export and settings.export.format not in ("json", "csv"):
        raise ValueError("export format must be json or csv")
    if settings.webhook and not settings.webhook.url.startswith(("http://", "https://")):
        raise ValueError("webhook url must be http or https")
    with db.transaction() as tx:
        tx.execute("put_settings", (tenant, msgspec.json.encode(settings).decode()))


def run(db: Database, stored: StoredInvoice, settings: Settings) -> None:
    """Every configured action for ``stored``; each is safe to repeat. The first that fails
    raises ``ActionFailed`` naming it (the later ones wait for the next attempt)."""
    steps: list[tuple[str, Callable[[], object]]] = []
    if settings.flag_duplicates:
        steps.append(("flag_duplicates", lambda: flag_duplicate(db, stored)))
    if settings.export is not None:
        target = settings.export
        steps.append(("export", lambda: export(stored, target)))
    if settings.webhook is not None:
        hook = settings.webhook
        steps.append(("webhook", lambda: deliver(stored, hook)))
    for action, step in steps:
        try:
            step()
        except Exception as exc:
            raise ActionFailed(action, _what(exc)) from exc


def _what(exc: Exception) -> str:
    """An action's failure in one line."""
    if isinstance(exc, DeliveryFailed):
        return str(exc)
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror
    return f"{type(exc).__name__}: {exc}"


def flag_duplicate(db: Database, stored: StoredInvoice) -> str | None:
    if stored.supplier is None:
        return None
    with db.transaction() as tx:
        row = tx.fetchone(
            "possible_duplicates",
            {
                "tenant": stored.tenant,
                "supplier": stored.supplier,
                "container": stored.container_id,
                "created": stored.created,
                "id": stored.id,
                "number": stored.number,
                "issue_date": stored.issue_date,
                "total": stored.total,
            },
        )
        if row is None:
            return None
        tx.execute("flag_duplicate", (row[0], stored.id))
    return str(row[0])


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def deliver(stored: StoredInvoice, hook: Webhook) -> None:
    body = orjson.dumps(stored.describe())
    request = urllib.request.Request(
        hook.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "invoiceflow",
            "X-Invoiceflow-Signature": signature(hook.secret, body),
            "Idempotency-Key": stored.id,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        raise DeliveryFailed(f"{hook.url} answered {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise DeliveryFailed(f"{hook.url} cannot be reached: {exc}") from None
    if not 200 <= status < 300:
        raise DeliveryFailed(f"{hook.url} answered {status}")


def export(stored: StoredInvoice, target: Export) -> Path:
    folder = Path(target.folder) / stored.tenant
    folder.mkdir(parents=True, exist_ok=True)
    invoice = msgspec.convert(stored.invoice, Invoice, strict=False)
    data = csv_rows(invoice).encode("utf-8") if target.format == "csv" else to_json(invoice)
    path = folder / f"{stored.id}.{target.format}"
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".export-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


CSV_COLUMNS = (
    "invoice_number",
    "document_type",
    "issue_date",
    "due_date",
    "currency",
    "supplier",
    "supplier_vat",
    "customer",
    "po_number",
    "line",
    "description",
    "sku",
    "qty",
    "unit",
    "unit_price",
    "amount",
    "vat_rate",
    "invoice_total",
)


def csv_rows(invoice: Invoice) -> str:
    """The invoice as CSV, one row per line with the invoice's fields repeated."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    seller, buyer = invoice.seller, invoice.buyer
    head = [
        invoice.invoice_number,
        invoice.document_type,
        invoice.issue_date,
        invoice.due_date,
        invoice.currency,
        seller.name if seller else None,
        seller.tax_id if seller else None,
        buyer.name if buyer else None,
        invoice.purchase_order,
    ]
    for line in invoice.lines:
        row: list[Any] = [
            *head,
            line.line_id,
            line.description,
            line.seller_item_id,
            line.quantity,
            line.unit,
            line.unit_price,
            line.net_amount,
            line.tax_rate,
            invoice.totals.payable,
        ]
        writer.writerow([safe_cell(v) for v in row])
    return out.getvalue()


def safe_cell(value: Any) -> str:
    """A CSV cell a spreadsheet will show, not run: text that starts like a formula gets a
    leading apostrophe; numbers, even negative ones, stay numbers."""
    if value is None:
        return ""
    text = str(value)
    if _FORMULA.match(text) and not _NUMBER.match(text):
        return "'" + text
    return text
