"""What an accounts-payable clerk checks before an invoice is created, as problems with a
code, a severity and the place they concern. Checks never change the invoice's data."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from decimal import Decimal

from invoiceflow.digitize.currencies import CURRENCIES
from invoiceflow.digitize.model import Invoice, Problem

TOLERANCE = Decimal("0.01")  # rounding one cent either way is not a mistake


def check(invoice: Invoice) -> list[Problem]:
    return [*_required(invoice), *_dates(invoice), *_sums(invoice)]


def _required(inv: Invoice) -> Iterator[Problem]:
    if not inv.invoice_number.strip():
        yield Problem(
            "missing_invoice_number", "The invoice has no number.", "error", "invoice_number"
        )
    if inv.issue_date is None:
        yield Problem("missing_issue_date", "The invoice has no issue date.", "error", "issue_date")
    if not inv.currency:
        yield Problem("missing_currency", "The invoice names no currency.", "warning", "currency")
    elif inv.currency.upper() not in CURRENCIES:
        yield Problem(
            "unknown_currency",
            f"{inv.currency!r} is not an ISO 4217 currency code.",
            "error",
            "currency",
        )
    if inv.seller is None or not (inv.seller.name or inv.seller.id or inv.seller.tax_id):
        yield Problem(
            "missing_seller", "The invoice does not say who the seller is.", "warning", "seller"
        )
    if not inv.lines:
        yield Problem("no_lines", "The invoice has no lines.", "warning", "lines")


def _dates(inv: Invoice) -> Iterator[Problem]:
    if inv.issue_date and inv.due_date and inv.due_date < inv.issue_date:
        yield Problem(
            "due_before_issue",
            f"The due date {inv.due_date} is before the issue date {inv.issue_date}.",
            "warning",
            "due_date",
        )


def _sums(inv: Invoice) -> Iterator[Problem]:
    t = inv.totals
    zero = Decimal(0)
    lines = sum((ln.net_amount for ln in inv.lines), zero)
    yield from _compare(
        "line_total_mismatch", "the lines' net amounts", lines, t.line_total, "totals.line_total"
    )
    if t.line_total is not None and t.tax_exclusive is not None:
        expected = t.line_total - (t.allowances or zero) + (t.charges or zero)
        yield from _compare(
            "tax_exclusive_mismatch",
            "lines less allowances plus charges",
            expected,
            t.tax_exclusive,
            "totals.tax_exclusive",
        )
    if inv.tax and t.tax_total is not None:
        taxes = sum((x.tax_amount for x in inv.tax), zero)
        yield from _compare(
            "tax_total_mismatch", "the tax breakdown", taxes, t.tax_total, "totals.tax_total"
        )
    if t.tax_exclusive is not None and t.tax_total is not None and t.tax_inclusive is not None:
        yield from _compare(
            "tax_inclusive_mismatch",
            "the amount without tax plus the tax",
            t.tax_exclusive + t.tax_total,
            t.tax_inclusive,
            "totals.tax_inclusive",
        )
    if t.tax_inclusive is not None and t.payable is not None:
        expected = t.tax_inclusive - (t.prepaid or zero) + (t.rounding or zero)
        yield from _compare(
            "payable_mismatch",
            "the total less prepaid amounts",
            expected,
            t.payable,
            "totals.payable",
        )


def _compare(
    code: str, what: str, expected: Decimal, sent: Decimal | None, where: str
) -> Iterator[Problem]:
    if sent is not None and abs(sent - expected) > TOLERANCE:
        yield Problem(
            code,
            f"{where.split('.')[-1]} is {sent}, but {what} come to {expected} "
            f"({sent - expected:+} difference).",
            "error",
            where,
        )


class DuplicateNumbers:
    """Flags an invoice number seen earlier in the same file (one set of numbers per file)."""

    def __init__(self) -> None:
        self.seen: dict[str, int] = {}

    def check(self, invoice: Invoice) -> Iterable[Problem]:
        key = invoice.invoice_number.strip()
        if not key:
            return ()
        first = self.seen.setdefault(key, invoice.source.index)
        if first == invoice.source.index:
            return ()
        return (
            Problem(
                "duplicate_in_file",
                f"Invoice number {key} already appeared as invoice {first + 1} of this file.",
                "error",
                "invoice_number",
            ),
        )
