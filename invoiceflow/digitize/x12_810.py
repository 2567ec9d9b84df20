"""X12 810 invoices (004010, 004030, 005010 and their VICS variants) into the model.

One invoice per ST/SE transaction set. Envelope control numbers and counts (SE, GE, IEA) and
the CTT line count are checked; what does not add up becomes a problem on the invoice it
concerns (for a group or an interchange, on its last invoice, which is held back until the
envelope closes so that memory holds at most one invoice).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import BinaryIO

from invoiceflow.digitize import limits
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
)
from invoiceflow.digitize.totals import complete_totals
from invoiceflow.digitize.values import decimal, ymd
from invoiceflow.digitize.x12 import Segment, read_segments

_SELLER = ("SE", "SU", "VN", "II")
_BUYER = ("BY", "BT")
_PAYEE = ("RI", "RE", "PE")
_CREDIT = {"CR", "CN"}
_TAX_SAC = {"D360": "GST", "H850": "Tax", "H770": "State tax", "H740": "County tax"}
_STANDARD_IDS = {"UP", "UA", "UK", "EN", "UI", "UN"}
_SELLER_IDS = {"VN", "VP", "VC", "VA", "MG"}
_BUYER_IDS = {"BP", "IN", "CB", "SK"}
_ID_SCHEMES = {"1": "DUNS", "9": "DUNS+4", "UL": "GLN", "91": "seller", "92": "buyer"}


@dataclass
class _Draft:
    """A transaction set being read."""

    source: Source
    start: int
    problems: list[Problem] = field(default_factory=list)
    number: str = ""
    invoice: Invoice | None = None
    parties: dict[str, Party] = field(default_factory=dict)
    party: Party | None = None  # the N1 loop now open
    line: Line | None = None  # the IT1 loop now open
    lines: list[Line] = field(default_factory=list)
    tax: dict[tuple[str | None, Decimal | None], Decimal] = field(default_factory=dict)
    header_ac: list[AllowanceCharge] = field(default_factory=list)
    references: list[Reference] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    contact: Contact | None = None
    ctt: tuple[str, str] | None = None
    tds: Decimal | None = None
    currency: str | None = None
    terms: PaymentTerms | None = None
    net_days: int | None = None
    due_date_text: str = ""
    delivery: str = ""
    big: Segment | None = None


class X12Reader:
    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.index = 0

    def invoices(self) -> Iterator[Invoice]:
        held: Invoice | None = None  # the last invoice, until its envelope closes
        draft: _Draft | None = None
        isa = gs = None
        groups = sets = 0
        seen_any = False
        for _delims, seg in read_segments(self.stream):
            seen_any = True
            tag = seg.tag
            if draft is not None and tag in ("ST", "GE", "IEA", "GS", "ISA"):
                draft.problems.append(
                    _problem("x12_missing_se", "The transaction set has no SE segment.", seg)
                )
                if held is not None:
                    yield held
                held, draft = self._finish(draft, None), None
            if tag == "ISA":
                if held is not None:
                    yield held
                    held = None
                isa, groups = seg, 0
            elif tag == "GS":
                gs, sets, groups = seg, 0, groups + 1
            elif tag == "ST":
                sets += 1
                if held is not None:
                    yield held
                    held = None
                if seg.get(1) != "810":
                    draft = None
                    continue
                version = (gs.get(8) if gs else "") or (isa.get(12) if isa else "")
                source = Source(
                    format="x12",
                    version=version or None,
                    index=self.index,
                    interchange=isa.get(13) if isa else None,
                    group=gs.get(6) if gs else None,
                    transaction=seg.get(2),
                )
                self.index += 1
                draft = _Draft(source, seg.position)
            elif tag == "SE" and draft is not None:
                held = self._finish(draft, seg)
                draft = None
            elif tag == "GE":
                problems = _envelope(seg, sets, gs.get(6) if gs else "", "GE", "transaction sets")
                held = _with(held, problems)
                gs = None
            elif tag == "IEA":
                problems = _envelope(seg, groups, isa.get(13) if isa else "", "IEA", "groups")
                held = _with(held, problems)
                isa = None
            elif draft is not None:
                _segment(draft, seg)
        if draft is not None:
            draft.problems.append(
                Problem("x12_truncated", "The file ends inside a transaction set.", "error")
            )
            if held is not None:
                yield held
            held = self._finish(draft, None)
        if held is not None:
            yield held
        if not seen_any:
            raise DigitizeError("empty", "The file is empty.")
        if self.index == 0:
            raise DigitizeError(
                "x12_no_invoice", "The interchange holds no 810 invoice transaction set."
            )

    def _finish(self, d: _Draft, se: Segment | None) -> Invoice:
        if se is not None:
            count = se.position - d.start + 1
            if se.get(1) != str(count):
                d.problems.append(
                    _problem(
                        "x12_count_mismatch",
                        f"SE01 says {se.get(1) or 'nothing'} segments; the set has {count}.",
                        se,
                    )
                )
            if se.get(2) != d.source.transaction:
                d.problems.append(
                    _problem(
                        "x12_control_mismatch",
                        f"SE02 {se.get(2)!r} does not match ST02 {d.source.transaction!r}.",
                        se,
                    )
                )
        _close_line(d)
        if d.big is None:
            d.problems.append(
                Problem(
                    "x12_missing_big",
                    "The invoice has no BIG segment (no number, no date).",
                    "error",
                    f"transaction {d.source.transaction}",
                )
            )
        if d.ctt is not None:
            items, hash_text = d.ctt
            if items and items != str(len(d.lines)):
                d.problems.append(
                    Problem(
                        "x12_ctt_mismatch",
                        f"CTT01 says {items} line items; the invoice has {len(d.lines)}.",
                        "error",
                        f"transaction {d.source.transaction}",
                    )
                )
            quantities = sum((ln.quantity for ln in d.lines), Decimal(0))
            hash_total = decimal(hash_text, d.problems, "CTT02")
            if hash_total is not None and hash_total != quantities:
                d.problems.append(
                    Problem(
                        "x12_ctt_mismatch",
                        f"CTT02 hash total {hash_total} differs from the quantities' sum "
                        f"{quantities}.",
                        "warning",
                        f"transaction {d.source.transaction}",
                    )
                )
        return _invoice(d)


def _invoice(d: _Draft) -> Invoice:
    big = d.big
    issue = ymd(big.get(1), d.problems, "BIG01") if big else None
    due = ymd(d.due_date_text, d.problems, "ITD06") if d.due_date_text else None
    if due is None and issue is not None and d.net_days is not None:
        try:
            due = issue + timedelta(days=d.net_days)
        except OverflowError:
            d.problems.append(
                Problem(
                    "bad_number", f"{d.net_days} net days is no payment term.", "error", "ITD07"
                )
            )
    type_code = big.get(7) if big else ""
    references = d.references
    contract = next((r.id for r in references if r.type == "CT"), None)
    purchase_order = (big.get(4) if big else "") or next(
        (r.id for r in references if r.type == "PO"), None
    )
    seller = _first(d.parties, _SELLER)
    if seller is not None and d.contact is not None and seller.contact is None:
        seller.contact = d.contact
    invoice = Invoice(
        invoice_number=(big.get(2) if big else "") or "",
        source=d.source,
        document_type="credit_note" if type_code in _CREDIT else "invoice",
        type_code=type_code or None,
        issue_date=issue,
        due_date=due,
        currency=d.currency,
        purchase_order=purchase_order or None,
        contract=contract,
        seller=seller,
        buyer=_first(d.parties, _BUYER),
        payee=_first(d.parties, _PAYEE),
        ship_to=d.parties.get("ST"),
        delivery_date=ymd(d.delivery, d.problems, "DTM") if d.delivery else None,
        lines=d.lines,
        tax=[
            TaxSubtotal(tax_amount=amount, type=kind, rate=rate)
            for (kind, rate), amount in d.tax.items()
        ],
        allowances_charges=d.header_ac,
        payment_terms=d.terms,
        references=references,
        notes=d.notes,
        problems=d.problems,
    )
    complete_totals(invoice, payable=d.tds)
    return invoice


def _first(parties: dict[str, Party], roles: tuple[str, ...]) -> Party | None:
    return next((parties[r] for r in roles if r in parties), None)


def _segment(d: _Draft, seg: Segment) -> None:
    tag, p, where = seg.tag, d.problems, f"segment {seg.position}"
    if tag == "BIG":
        d.big = seg
    elif tag == "CUR":
        d.currency = seg.get(2) or None
    elif tag == "NTE":
        if seg.get(2):
            d.notes.append(seg.get(2))
    elif tag == "REF":
        if seg.get(2) or seg.get(3):
            d.references.append(Reference(type=seg.get(1), id=seg.get(2) or seg.get(3)))
    elif tag == "PER":
        contact = _contact(seg)
        if d.party is not None:
            d.party.contact = contact
        elif d.contact is None:
            d.contact = contact
    elif tag == "N1":
        _close_line(d)
        qualifier, ident = seg.get(3), seg.get(4)
        d.party = Party(
            name=seg.get(2) or None,
            id=ident or None,
            id_scheme=_ID_SCHEMES.get(qualifier, qualifier) if ident else None,
        )
        d.parties.setdefault(seg.get(1), d.party)
    elif tag == "N2" and d.party is not None:
        d.party.name = d.party.name or seg.get(1) or None
    elif tag == "N3" and d.party is not None:
        address = d.party.address or Address()
        address.lines += [t for t in (seg.get(1), seg.get(2)) if t]
        d.party.address = address
    elif tag == "N4" and d.party is not None:
        address = d.party.address or Address()
        address.city = seg.get(1) or None
        address.subdivision = seg.get(2) or None
        address.postal_code = seg.get(3) or None
        address.country = seg.get(4) or None
        d.party.address = address
    elif tag == "ITD":
        d.party = None
        d.due_date_text = seg.get(6)
        days = seg.get(7)
        d.net_days = _days(days)
        discount_days = seg.get(5)
        d.terms = PaymentTerms(
            description=seg.get(12) or None,
            net_days=d.net_days,
            discount_percent=decimal(seg.get(3), p, where),
            discount_days=_days(discount_days),
            discount_due_date=ymd(seg.get(4), p, where) if seg.get(4) else None,
        )
    elif tag == "DTM":
        d.party = None
        if seg.get(1) in ("011", "035") and not d.delivery:
            d.delivery = seg.get(2)
    elif tag == "IT1":
        _close_line(d)
        d.party = None
        d.line = _line(d, seg)
    elif tag == "CTP" and d.line is not None:
        if d.line.unit_price is None:
            d.line.unit_price = decimal(seg.get(3), p, where)
    elif tag == "PID" and d.line is not None:
        text = seg.get(5)
        if text:
            d.line.description = f"{d.line.description} {text}" if d.line.description else text
    elif tag == "SAC":
        _sac(d, seg)
    elif tag == "TXI":
        amount = decimal(seg.get(2), p, where)
        rate = decimal(seg.get(3), p, where)
        if d.line is not None:
            d.line.tax_category = d.line.tax_category or seg.get(1) or None
            d.line.tax_rate = d.line.tax_rate if d.line.tax_rate is not None else rate
        if amount is not None:
            key = (seg.get(1) or None, rate)
            d.tax[key] = d.tax.get(key, Decimal(0)) + amount
    elif tag == "TDS":
        _close_line(d)
        d.tds = decimal(seg.get(1), p, where, implied=2)
    elif tag == "CTT":
        _close_line(d)
        d.ctt = (seg.get(1), seg.get(2))


def _days(text: str) -> int | None:
    """A number of days, when it is one a calendar can add (a few digits)."""
    return int(text) if text.isdigit() and len(text) <= 6 else None


def _contact(seg: Segment) -> Contact:
    contact = Contact(name=seg.get(2) or None)
    for q, value in ((seg.get(3), seg.get(4)), (seg.get(5), seg.get(6)), (seg.get(7), seg.get(8))):
        if q == "TE" and contact.phone is None:
            contact.phone = value or None
        elif q == "EM" and contact.email is None:
            contact.email = value or None
    return contact


def _line(d: _Draft, seg: Segment) -> Line:
    p, where = d.problems, f"segment {seg.position}"
    quantity = decimal(seg.get(2), p, where) or Decimal(0)
    price = decimal(seg.get(4), p, where)
    line = Line(
        line_id=seg.get(1) or str(len(d.lines) + 1),
        quantity=quantity,
        net_amount=Decimal(0),
        unit=seg.get(3) or None,
        unit_price=price,
    )
    for n in range(6, len(seg.elements) - 1, 2):
        qualifier, ident = seg.get(n), seg.get(n + 1)
        if not ident:
            continue
        if qualifier in _STANDARD_IDS and line.standard_item_id is None:
            line.standard_item_id = ident
        elif qualifier in _SELLER_IDS and line.seller_item_id is None:
            line.seller_item_id = ident
        elif qualifier in _BUYER_IDS and line.buyer_item_id is None:
            line.buyer_item_id = ident
    return line


def _close_line(d: _Draft) -> None:
    """Work out the open line's net amount (quantity x price, plus charges, less
    allowances) and file it."""
    line = d.line
    if line is None:
        return
    amount = line.quantity * (line.unit_price or Decimal(0))
    for ac in line.allowances_charges:
        amount += ac.amount if ac.charge else -ac.amount
    line.net_amount = amount
    d.lines.append(line)
    limits.check_lines(len(d.lines), f"transaction {d.source.transaction}")
    d.line = None


def _sac(d: _Draft, seg: Segment) -> None:
    p, where = d.problems, f"segment {seg.position}"
    indicator, code = seg.get(1), seg.get(2)
    amount = decimal(seg.get(5), p, where, implied=2)
    rate = decimal(seg.get(7), p, where)
    if amount is None or indicator not in ("A", "C"):
        return
    if code in _TAX_SAC:
        key = (_TAX_SAC[code], rate)
        d.tax[key] = d.tax.get(key, Decimal(0)) + (amount if indicator == "C" else -amount)
        if d.line is not None and d.line.tax_rate is None:
            d.line.tax_rate = rate
        return
    ac = AllowanceCharge(
        charge=indicator == "C",
        amount=amount,
        percentage=rate,
        reason=seg.get(15) or None,
        reason_code=code or None,
    )
    if d.line is not None:
        d.line.allowances_charges.append(ac)
    else:
        d.header_ac.append(ac)


def _envelope(seg: Segment, counted: int, control: str, tag: str, what: str) -> list[Problem]:
    out = []
    if seg.get(1) != str(counted):
        out.append(
            _problem(
                "x12_count_mismatch",
                f"{tag}01 says {seg.get(1) or 'nothing'} {what}; there are {counted}.",
                seg,
            )
        )
    if seg.get(2) != control:
        out.append(
            _problem(
                "x12_control_mismatch",
                f"{tag}02 {seg.get(2)!r} does not match the opening control number {control!r}.",
                seg,
            )
        )
    return out


def _with(invoice: Invoice | None, problems: list[Problem]) -> Invoice | None:
    if invoice is not None:
        invoice.problems.extend(problems)
    return invoice


def _problem(code: str, message: str, seg: Segment) -> Problem:
    return segment_problem(code, message, seg.position, seg.tag)
