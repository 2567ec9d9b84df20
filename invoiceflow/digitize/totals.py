"""Document totals worked out from lines, allowances, charges and taxes (EN 16931 BG-22),
for formats that send only some of them (X12 sends one total, TDS)."""

from __future__ import annotations

from decimal import Decimal

from invoiceflow.digitize.model import Invoice, Problem


def complete_totals(invoice: Invoice, *, payable: Decimal | None) -> None:
    """Fill in the totals the invoice lacks. A sent ``payable`` is kept as sent, even when it
    disagrees with the parts: the checks report that, for every format alike. An invoice
    that sends no payable amount gets one worked out from its parts, and a ``missing_total``
    warning saying so, since nothing it carries can be reconciled against it."""
    t = invoice.totals
    zero = Decimal(0)
    if t.line_total is None:
        t.line_total = sum((ln.net_amount for ln in invoice.lines), zero)
    if t.allowances is None:
        t.allowances = sum((a.amount for a in invoice.allowances_charges if not a.charge), zero)
    if t.charges is None:
        t.charges = sum((a.amount for a in invoice.allowances_charges if a.charge), zero)
    if t.tax_exclusive is None:
        t.tax_exclusive = t.line_total - t.allowances + t.charges
    if t.tax_total is None:
        t.tax_total = sum((x.tax_amount for x in invoice.tax), zero)
    if t.tax_inclusive is None:
        t.tax_inclusive = t.tax_exclusive + t.tax_total
    if payable is not None:
        t.payable = payable
    elif t.payable is None:
        t.payable = t.tax_inclusive - (t.prepaid or zero) + (t.rounding or zero)
        invoice.problems.append(
            Problem(
                "missing_total",
                f"The invoice states no amount payable; {t.payable} is worked out from its "
                "lines, allowances, charges and taxes.",
                "warning",
                "totals.payable",
            )
        )
