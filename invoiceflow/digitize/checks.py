"""What an accounts-payable clerk checks before an invoice is created, as problems with a
code, a severity and the place they concern. Checks never change the invoice's data."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from decimal import ROUND_HALF_UP, Decimal, DecimalException

from invoiceflow.digitize.currencies import CURRENCIES
from invoiceflow.digitize.model import Invoice, Problem

TOLERANCE = Decimal("0.01")  # rounding one cent either way is not a mistake
_CENT = Decimal("0.01")


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
    if t.payable is None:
        yield Problem(
            "missing_total",
            "The invoice states no amount payable, so its totals cannot be reconciled.",
            "warning",
            "totals.payable",
        )
        return
    # BT-115 = BT-112 - BT-113 + BT-114; when the intermediate totals were not sent, they are
    # worked out from what the invoice carries: BT-112 = BT-109 + BT-110 and
    # BT-109 = BT-106 - BT-107 + BT-108, each of them from its parts when it is missing too.
    if t.tax_inclusive is not None:
        inclusive, what = t.tax_inclusive, "the total with tax less prepaid amounts"
    else:
        tax = t.tax_total if t.tax_total is not None else sum((x.tax_amount for x in inv.tax), zero)
        if t.tax_exclusive is not None:
            inclusive, what = t.tax_exclusive + tax, "the amount without tax plus tax less prepaid"
        else:
            base = t.line_total if t.line_total is not None else lines
            allowances, charges = t.allowances, t.charges
            if allowances is None:
                allowances = sum((a.amount for a in inv.allowances_charges if not a.charge), zero)
            if charges is None:
                charges = sum((a.amount for a in inv.allowances_charges if a.charge), zero)
            inclusive = base - allowances + charges + tax
            what = "the lines plus tax less allowances plus charges less prepaid"
    yield from _compare(
        "payable_mismatch",
        what,
        inclusive - (t.prepaid or zero) + (t.rounding or zero),
        t.payable,
        "totals.payable",
    )


def _cents(value: Decimal) -> Decimal:
    """``value`` rounded to the cent as EN 16931 rounds amounts (half up); a value too large
    to round is compared as it is."""
    try:
        return value.quantize(_CENT, ROUND_HALF_UP)
    except DecimalException:
        return value


def _compare(
    code: str, what: str, expected: Decimal, sent: Decimal | None, where: str
) -> Iterator[Problem]:
    """A problem when ``sent`` and ``expected``, each rounded to the cent, differ by more
    than a cent: every amount of the sum may have been rounded on its own."""
    if sent is not None and abs(_cents(sent) - _cents(expected)) > TOLERANCE:
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
