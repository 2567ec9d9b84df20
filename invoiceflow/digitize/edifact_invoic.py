"""EDIFACT INVOIC (D96A EANCOM, D97A, D01B, D14B, D16B) into the model.

One invoice per UNH/UNT message; segment groups are followed by their trigger segments
(NAD, LIN, TAX, ALC) and the summary section by UNS. UNT and UNZ counts and references are
checked; a mismatch is a problem on the message concerned (for UNZ, on the last one, held
back until the interchange closes).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import BinaryIO

from invoiceflow.digitize import limits
from invoiceflow.digitize.edifact import Segment, Service, read_segments
from invoiceflow.digitize.errors import DigitizeError, segment_problem
from invoiceflow.digitize.model import (
    Address,
    AllowanceCharge,
    Contact,
    Invoice,
    Line,
    Party,
    PaymentTerms,
    Problem,
    Reference,
    Source,
    TaxSubtotal,
    Totals,
)
from invoiceflow.digitize.totals import complete_totals
from invoiceflow.digitize.values import decimal, ymd

CREDIT_CODES = {"381", "396", "532", "83"}
_SELLER = ("SE", "SU", "II")
_BUYER = ("BY", "IV", "BT")
_PAYEE = ("PE", "RE")
_SHIP_TO = ("DP", "ST")
_STANDARD_IDS = {"EN", "SRV", "UP", "GTIN", "0160"}
_SUMMARY = {
    "79": "line_total",
    "260": "allowances",
    "259": "charges",
    "389": "tax_exclusive",
    "176": "tax_total",
    "388": "tax_inclusive",
    "113": "prepaid",
    "366": "rounding",
    "9": "payable",
}
_REFERENCES = {"DQ": "despatch_advice", "ALO": "receiving_advice", "IV": "preceding_invoice"}


@dataclass
class _Draft:
    source: Source
    start: int
    problems: list[Problem] = field(default_factory=list)
    invoice_number: str = ""
    type_code: str | None = None
    dates: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    references: list[Reference] = field(default_factory=list)
    parties: dict[str, Party] = field(default_factory=dict)
    party: Party | None = None
    currency: str | None = None
    terms: PaymentTerms | None = None
    lines: list[Line] = field(default_factory=list)
    line: Line | None = None
    ac: AllowanceCharge | None = None  # the ALC group now open
    header_ac: list[AllowanceCharge] = field(default_factory=list)
    tax: TaxSubtotal | None = None  # the summary TAX group now open
    taxes: list[TaxSubtotal] = field(default_factory=list)
    totals: Totals = field(default_factory=Totals)
    summary: bool = False
    fallback_total: Decimal | None = None  # MOA 77/86 when 388/9 are absent
    line_orders: list[str] = field(default_factory=list)
    group: str = ""  # "" header, "PAT", "NAD", "RFF"
    en16931: bool = False  # the message follows the EN 16931 binding (CEN/TS 16931-3-4)


class EdifactReader:
    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.index = 0

    def invoices(self) -> Iterator[Invoice]:
        held: Invoice | None = None
        draft: _Draft | None = None
        unb: Segment | None = None
        messages = 0
        service = Service()
        for service, seg in read_segments(self.stream):
            tag = seg.tag
            if tag == "UNB":
                unb, messages = seg, 0
            elif tag == "UNH":
                if held is not None:
                    yield held
                    held = None
                messages += 1
                if seg.get(2) != "INVOIC":
                    draft = None
                    continue
                version = f"{seg.get(2, 2)}{seg.get(2, 3)}"
                association = seg.get(2, 5) or seg.get(2, 6)
                self.index += 1
                draft = _Draft(
                    Source(
                        format="edifact",
                        version=f"{version} {association}".strip(),
                        index=self.index - 1,
                        interchange=unb.get(5) if unb else None,
                        transaction=seg.get(1),
                    ),
                    seg.position,
                    en16931="16B" in (seg.get(2, 3), seg.get(2, 5), seg.get(2, 6)),
                )
            elif tag == "UNT" and draft is not None:
                count = seg.position - draft.start + 1
                if seg.get(1) != str(count):
                    draft.problems.append(
                        _problem(
                            "edifact_count_mismatch",
                            f"UNT01 says {seg.get(1) or 'nothing'} segments; the message has "
                            f"{count}.",
                            seg,
                        )
                    )
                if seg.get(2) != draft.source.transaction:
                    draft.problems.append(
                        _problem(
                            "edifact_control_mismatch",
                            f"UNT02 {seg.get(2)!r} does not match UNH01 "
                            f"{draft.source.transaction!r}.",
                            seg,
                        )
                    )
                held, draft = _invoice(draft), None
            elif tag == "UNZ":
                if held is not None:
                    if seg.get(1) != str(messages):
                        held.problems.append(
                            _problem(
                                "edifact_count_mismatch",
                                f"UNZ01 says {seg.get(1) or 'nothing'} messages; there are "
                                f"{messages}.",
                                seg,
                            )
                        )
                    if unb is not None and seg.get(2) != unb.get(5):
                        held.problems.append(
                            _problem(
                                "edifact_control_mismatch",
                                f"UNZ02 {seg.get(2)!r} does not match UNB05 {unb.get(5)!r}.",
                                seg,
                            )
                        )
                unb = None
            elif draft is not None:
                _segment(draft, seg, service)
        if draft is not None:
            draft.problems.append(
                Problem("edifact_truncated", "The file ends inside a message (no UNT).")
            )
            if held is not None:
                yield held
            held = _invoice(draft)
        if held is not None:
            yield held
        elif self.index == 0:
            raise DigitizeError("edifact_no_invoic", "The interchange holds no INVOIC message.")


def _number(d: _Draft, text: str, service: Service, where: str) -> Decimal | None:
    if service.decimal == ",":
        text = text.replace(",", ".")
    return decimal(text, d.problems, where)


def _segment(d: _Draft, seg: Segment, service: Service) -> None:
    tag, where = seg.tag, f"segment {seg.position} ({seg.tag})"
    if tag == "BGM":
        d.type_code = seg.get(1) or None
        d.invoice_number = seg.get(2)
    elif tag == "DTM":
        qualifier, value = seg.get(1, 1), seg.get(1, 2)
        if d.line is None and d.group in ("", "PAT") and qualifier not in d.dates:
            d.dates[qualifier] = value[:8]
    elif tag == "FTX":
        text = " ".join(p for p in seg.elements[4] if p) if len(seg.elements) > 4 else ""
        if seg.get(1) == "DOC" and "en16931" in text.lower():
            d.en16931 = True  # BT-24, the specification the invoice follows
        if seg.get(1) != "DOC" and text:
            (d.line.__setattr__("note", text) if d.line is not None else d.notes.append(text))
    elif tag == "RFF":
        _reference(d, seg)
    elif tag == "NAD":
        d.group = "NAD"
        d.party = _party(seg, trading=d.en16931 and seg.get(1) == "SE")
        d.parties.setdefault(seg.get(1), d.party)
    elif tag in ("CTA", "COM") and d.party is not None:
        contact = d.party.contact or Contact()
        if tag == "CTA":
            contact.name = seg.get(2, 2) or seg.get(2, 1) or None
        elif seg.get(1, 2) == "TE":
            contact.phone = seg.get(1, 1) or None
        elif seg.get(1, 2) == "EM":
            contact.email = seg.get(1, 1) or None
        d.party.contact = contact
    elif tag == "CUX":
        d.group, d.party = "", None
        d.currency = d.currency or seg.get(1, 2) or None
    elif tag in ("PAT", "PYT"):
        d.group, d.party = "PAT", None
        d.terms = d.terms or PaymentTerms()
    elif tag == "PCD" and d.ac is not None:
        d.ac.percentage = _number(d, seg.get(1, 2), service, where)
    elif tag == "ALC":
        _close_ac(d)
        d.ac = AllowanceCharge(
            charge=seg.get(1) == "C",
            amount=Decimal(0),
            reason_code=seg.get(5, 1) or None,
            reason=seg.get(5, 4) or None,
        )
    elif tag == "LIN":
        _close_ac(d)
        _close_line(d)
        d.group, d.party = "LIN", None
        d.line = Line(
            line_id=seg.get(1) or str(len(d.lines) + 1), quantity=Decimal(0), net_amount=Decimal(0)
        )
        if seg.get(3, 1) and seg.get(3, 2) in _STANDARD_IDS:
            d.line.standard_item_id = seg.get(3, 1)
        elif seg.get(3, 1):
            _item_id(d.line, seg.get(3, 1), seg.get(3, 2))
    elif tag == "PIA" and d.line is not None:
        for n in range(2, len(seg.elements)):
            _item_id(d.line, seg.get(n, 1), seg.get(n, 2))
    elif tag == "IMD" and d.line is not None:
        text = " ".join(t for t in (seg.get(3, 4), seg.get(3, 5)) if t)
        d.line.description = d.line.description or text or None
    elif tag == "QTY" and d.line is not None:
        if seg.get(1, 1) in ("47", "12", "46") and (seg.get(1, 1) == "47" or not d.line.quantity):
            d.line.quantity = _number(d, seg.get(1, 2), service, where) or Decimal(0)
            d.line.unit = seg.get(1, 3) or d.line.unit
    elif tag == "PRI" and d.line is not None:
        if seg.get(1, 1) == "AAA" or d.line.unit_price is None:
            d.line.unit_price = _number(d, seg.get(1, 2), service, where)
            base = seg.get(1, 5)
            d.line.price_base_quantity = _number(d, base, service, where) if base else None
    elif tag == "TAX":
        _tax(d, seg, service, where)
    elif tag == "MOA":
        _amount(d, seg, service, where)
    elif tag == "UNS":
        _close_ac(d)
        _close_line(d)
        d.summary = True


def _item_id(line: Line, ident: str, kind: str) -> None:
    if not ident:
        return
    if kind in _STANDARD_IDS:
        line.standard_item_id = line.standard_item_id or ident
    elif kind in ("SA", "VN", "VP"):
        line.seller_item_id = line.seller_item_id or ident
    elif kind in ("IN", "BP"):
        line.buyer_item_id = line.buyer_item_id or ident


def _reference(d: _Draft, seg: Segment) -> None:
    qualifier, ident = seg.get(1, 1), seg.get(1, 2)
    if not ident:
        return
    if d.group == "NAD" and d.party is not None:
        if qualifier == "VA":
            d.party.tax_id = ident
        elif qualifier in ("GN", "XA", "FC"):
            d.party.legal_id = d.party.legal_id or ident
        return
    if d.line is not None:
        if qualifier == "ON" and ident not in d.line_orders:
            d.line_orders.append(ident)  # the order a line delivers on
        return
    kind = {"ON": "order", "CT": "contract", "VN": "order"}.get(qualifier)
    d.references.append(Reference(type=_REFERENCES.get(qualifier, kind or qualifier), id=ident))


def _party(seg: Segment, *, trading: bool = False) -> Party:
    """A NAD segment's party. Its name (C080) is one name written over up to five 3036
    components, joined, except for the seller of a message following the EN 16931 binding
    (``trading``): there the first component is the legal name (BT-27) and the second the
    trading name (BT-28), which that binding gives no other party."""
    street = [p for p in (seg.elements[5] if len(seg.elements) > 5 else []) if p.strip()]
    unstructured = [p for p in (seg.elements[3] if len(seg.elements) > 3 else []) if p.strip()]
    names = [p.strip() for p in (seg.elements[4] if len(seg.elements) > 4 else [])][:5]
    trading_name = names.pop(1) if trading and len(names) > 1 else ""
    has_address = street or unstructured or seg.get(6) or seg.get(8) or seg.get(9)
    return Party(
        name=" ".join(p for p in names if p) or None,
        trading_name=trading_name or None,
        id=seg.get(2, 1) or None,
        id_scheme=(seg.get(2, 3) or seg.get(2, 2) or None) if seg.get(2, 1) else None,
        address=Address(
            lines=street or unstructured,
            city=seg.get(6) or None,
            subdivision=seg.get(7) or None,
            postal_code=seg.get(8) or None,
            country=seg.get(9) or None,
        )
        if has_address
        else None,
    )


def _tax(d: _Draft, seg: Segment, service: Service, where: str) -> None:
    rate = _number(d, seg.get(5, 4), service, where) if seg.get(5, 4) else None
    category = seg.get(6) or None
    if d.ac is not None:
        d.ac.tax_category, d.ac.tax_rate = category, rate
    elif d.line is not None:
        d.line.tax_category, d.line.tax_rate = category, rate
    elif d.summary:
        d.tax = TaxSubtotal(
            tax_amount=Decimal(0), category=category, rate=rate, type=seg.get(2) or None
        )
        d.taxes.append(d.tax)


def _amount(d: _Draft, seg: Segment, service: Service, where: str) -> None:
    qualifier = seg.get(1, 1)
    value = _number(d, seg.get(1, 2), service, where)
    if value is None:
        return
    if d.ac is not None and qualifier in ("8", "204", "23", "131"):
        d.ac.amount = value
    elif d.ac is not None and qualifier == "25":
        d.ac.base_amount = value
    elif d.line is not None and qualifier == "203":
        d.line.net_amount = value
    elif d.summary and d.tax is not None and qualifier in ("124", "125", "150"):
        if qualifier == "125":
            d.tax.taxable_amount = value
        else:
            d.tax.tax_amount = value
    elif d.summary and qualifier in _SUMMARY:
        setattr(d.totals, _SUMMARY[qualifier], value)
    elif d.summary and qualifier in ("77", "86"):
        d.fallback_total = d.fallback_total if d.fallback_total is not None else value


def _close_ac(d: _Draft) -> None:
    if d.ac is None:
        return
    if d.line is not None:
        d.line.allowances_charges.append(d.ac)
    else:
        d.header_ac.append(d.ac)
    d.ac = None


def _close_line(d: _Draft) -> None:
    if d.line is not None:
        if d.line.net_amount == 0 and d.line.unit_price is not None:
            base = d.line.price_base_quantity or Decimal(1)
            d.line.net_amount = d.line.quantity * d.line.unit_price / base
        d.lines.append(d.line)
        d.line = None
        limits.check_lines(len(d.lines), f"message {d.source.transaction}")


def _invoice(d: _Draft) -> Invoice:
    _close_ac(d)
    _close_line(d)
    dates = d.dates
    issue = ymd(dates["137"], d.problems, "DTM+137") if "137" in dates else None
    due_text = dates.get("13") or dates.get("140")
    invoice = Invoice(
        invoice_number=d.invoice_number,
        source=d.source,
        document_type="credit_note" if d.type_code in CREDIT_CODES else "invoice",
        type_code=d.type_code,
        issue_date=issue,
        due_date=ymd(due_text, d.problems, "DTM+13") if due_text else None,
        currency=d.currency,
        purchase_order=next((r.id for r in d.references if r.type == "order"), None)
        or (d.line_orders[0] if d.line_orders else None),
        contract=next((r.id for r in d.references if r.type == "contract"), None),
        seller=next((d.parties[r] for r in _SELLER if r in d.parties), None),
        buyer=next((d.parties[r] for r in _BUYER if r in d.parties), None),
        payee=next((d.parties[r] for r in _PAYEE if r in d.parties), None),
        ship_to=next((d.parties[r] for r in _SHIP_TO if r in d.parties), None),
        delivery_date=ymd(dates["35"], d.problems, "DTM+35") if "35" in dates else None,
        lines=d.lines,
        tax=d.taxes,
        allowances_charges=d.header_ac,
        totals=d.totals,
        payment_terms=d.terms if d.terms != PaymentTerms() else None,
        references=[r for r in d.references if r.type not in ("order", "contract")],
        notes=d.notes,
        problems=d.problems,
    )
    if invoice.totals.tax_inclusive is None and d.fallback_total is not None:
        invoice.totals.tax_inclusive = d.fallback_total
    complete_totals(invoice, payable=invoice.totals.payable)
    return invoice


def _problem(code: str, message: str, seg: Segment) -> Problem:
    return segment_problem(code, message, seg.position, seg.tag)
