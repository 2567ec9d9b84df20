"""UN/CEFACT Cross Industry Invoice (CII D16B, EN 16931) into the model."""

from __future__ import annotations

from lxml import etree

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
from invoiceflow.digitize.ubl import CREDIT_CODES
from invoiceflow.digitize.xml import Lines, Reader

ROOT = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
NS = {
    "rsm": ROOT,
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
}
_AGREEMENT = "rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeAgreement"
_DELIVERY = "rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeDelivery"
_SETTLEMENT = "rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeSettlement"
_REFERENCES = {
    f"{_DELIVERY}/ram:DespatchAdviceReferencedDocument": "despatch_advice",
    f"{_DELIVERY}/ram:ReceivingAdviceReferencedDocument": "receiving_advice",
    f"{_AGREEMENT}/ram:AdditionalReferencedDocument": "additional",
    f"{_AGREEMENT}/ram:SpecifiedProcuringProject": "project",
    f"{_SETTLEMENT}/ram:InvoiceReferencedDocument": "preceding_invoice",
}


_LINE = "ram:IncludedSupplyChainTradeLineItem"


def line_reader(r: Reader) -> Lines:
    """How ``stream_xml`` finds and maps a CII document's lines (in the trade transaction)."""
    count = 0

    def read(node: etree._Element) -> Line:
        nonlocal count
        count += 1
        r.line = (
            node,
            f"/rsm:CrossIndustryInvoice/rsm:SupplyChainTradeTransaction/{_LINE}[{count}]",
        )
        try:
            return _line(r, node)
        finally:
            r.line = None

    return Lines(3, {f"{{{NS['ram']}}}IncludedSupplyChainTradeLineItem"}, read)


def read_cii(
    root: etree._Element,
    index: int = 0,
    *,
    reader: Reader | None = None,
    lines: list[Line] | None = None,
) -> Invoice:
    """The invoice in a CII document; ``lines`` when ``stream_xml`` has read them already,
    with ``reader`` holding their problems."""
    r = reader or Reader(NS, [])
    problems: list[Problem] = r.problems
    doc = r.one(root, "rsm:ExchangedDocument")
    agreement = r.one(root, _AGREEMENT)
    settlement = r.one(root, _SETTLEMENT)
    delivery = r.one(root, _DELIVERY)
    type_code = r.text(doc, "ram:TypeCode")
    currency = r.text(settlement, "ram:InvoiceCurrencyCode")
    invoice = Invoice(
        invoice_number=r.text(doc, "ram:ID") or "",
        source=Source(format="cii", version="D16B", index=index),
        document_type="credit_note" if type_code in CREDIT_CODES else "invoice",
        type_code=type_code,
        issue_date=r.date(doc, "ram:IssueDateTime/udt:DateTimeString"),
        due_date=r.date(
            settlement, "ram:SpecifiedTradePaymentTerms/ram:DueDateDateTime/udt:DateTimeString"
        ),
        currency=currency,
        tax_currency=r.text(settlement, "ram:TaxCurrencyCode"),
        purchase_order=r.text(agreement, "ram:BuyerOrderReferencedDocument/ram:IssuerAssignedID"),
        buyer_reference=r.text(agreement, "ram:BuyerReference"),
        contract=r.text(agreement, "ram:ContractReferencedDocument/ram:IssuerAssignedID"),
        seller=_party(
            r, r.one(agreement, "ram:SellerTradeParty") if agreement is not None else None
        ),
        buyer=_party(r, r.one(agreement, "ram:BuyerTradeParty") if agreement is not None else None),
        payee=_party(
            r, r.one(settlement, "ram:PayeeTradeParty") if settlement is not None else None
        ),
        ship_to=_party(
            r, r.one(delivery, "ram:ShipToTradeParty") if delivery is not None else None
        ),
        delivery_date=r.date(
            delivery, "ram:ActualDeliverySupplyChainEvent/ram:OccurrenceDateTime/udt:DateTimeString"
        ),
        lines=lines
        if lines is not None
        else [_line(r, n) for n in r.all(root, f"rsm:SupplyChainTradeTransaction/{_LINE}")],
        tax=[_tax(r, n) for n in r.all(root, f"{_SETTLEMENT}/ram:ApplicableTradeTax")],
        allowances_charges=[
            _allowance(r, n)
            for n in r.all(root, f"{_SETTLEMENT}/ram:SpecifiedTradeAllowanceCharge")
        ],
        totals=_totals(r, settlement, currency),
        payment_terms=_terms(r, settlement),
        references=_references(r, root),
        notes=[
            " ".join(n.text.split())
            for n in r.all(root, "rsm:ExchangedDocument/ram:IncludedNote/ram:Content")
            if n.text and n.text.strip()
        ],
        problems=problems,
    )
    complete_totals(invoice, payable=invoice.totals.payable)
    return invoice


def _party(r: Reader, node: etree._Element | None) -> Party | None:
    """A party: its Name is the legal name (BT-27 / BT-44), SpecifiedLegalOrganization's
    TradingBusinessName the trading name (BT-28 / BT-45)."""
    if node is None:
        return None
    ident = r.one(node, "ram:ID")
    if ident is None:
        ident = r.one(node, "ram:GlobalID")
    contact = r.one(node, "ram:DefinedTradeContact")
    address = r.one(node, "ram:PostalTradeAddress")
    return Party(
        name=r.text(node, "ram:Name"),
        trading_name=r.text(node, "ram:SpecifiedLegalOrganization/ram:TradingBusinessName"),
        id=" ".join(ident.text.split()) if ident is not None and ident.text else None,
        id_scheme=ident.get("schemeID") if ident is not None else None,
        tax_id=r.text(node, "ram:SpecifiedTaxRegistration/ram:ID[@schemeID='VA']"),
        legal_id=r.text(node, "ram:SpecifiedLegalOrganization/ram:ID"),
        address=Address(
            lines=[
                t
                for t in (
                    r.text(address, "ram:LineOne"),
                    r.text(address, "ram:LineTwo"),
                    r.text(address, "ram:LineThree"),
                )
                if t
            ],
            city=r.text(address, "ram:CityName"),
            postal_code=r.text(address, "ram:PostcodeCode"),
            subdivision=r.text(address, "ram:CountrySubDivisionName"),
            country=r.text(address, "ram:CountryID"),
        )
        if address is not None
        else None,
        contact=Contact(
            name=r.text(contact, "ram:PersonName"),
            phone=r.text(contact, "ram:TelephoneUniversalCommunication/ram:CompleteNumber"),
            email=r.text(contact, "ram:EmailURIUniversalCommunication/ram:URIID"),
        )
        if contact is not None
        else None,
    )


def _line(r: Reader, node: etree._Element) -> Line:
    product = r.one(node, "ram:SpecifiedTradeProduct")
    price = r.one(node, "ram:SpecifiedLineTradeAgreement/ram:NetPriceProductTradePrice")
    settlement = r.one(node, "ram:SpecifiedLineTradeSettlement")
    quantity = r.one(node, "ram:SpecifiedLineTradeDelivery/ram:BilledQuantity")
    return Line(
        line_id=r.text(node, "ram:AssociatedDocumentLineDocument/ram:LineID") or "",
        quantity=r.amount(node, "ram:SpecifiedLineTradeDelivery/ram:BilledQuantity"),
        net_amount=r.amount(
            settlement, "ram:SpecifiedTradeSettlementLineMonetarySummation/ram:LineTotalAmount"
        ),
        description=r.text(product, "ram:Name") or r.text(product, "ram:Description"),
        unit=quantity.get("unitCode") if quantity is not None else None,
        unit_price=r.dec(price, "ram:ChargeAmount"),
        price_base_quantity=r.dec(price, "ram:BasisQuantity"),
        seller_item_id=r.text(product, "ram:SellerAssignedID"),
        buyer_item_id=r.text(product, "ram:BuyerAssignedID"),
        standard_item_id=r.text(product, "ram:GlobalID"),
        tax_category=r.text(settlement, "ram:ApplicableTradeTax/ram:CategoryCode"),
        tax_rate=r.dec(settlement, "ram:ApplicableTradeTax/ram:RateApplicablePercent"),
        allowances_charges=[
            _allowance(r, n) for n in r.all(settlement, "ram:SpecifiedTradeAllowanceCharge")
        ]
        if settlement is not None
        else [],
        note=r.text(node, "ram:AssociatedDocumentLineDocument/ram:IncludedNote/ram:Content"),
    )


def _allowance(r: Reader, node: etree._Element) -> AllowanceCharge:
    return AllowanceCharge(
        charge=(r.text(node, "ram:ChargeIndicator/udt:Indicator") or "").lower() == "true",
        amount=r.amount(node, "ram:ActualAmount"),
        base_amount=r.dec(node, "ram:BasisAmount"),
        percentage=r.dec(node, "ram:CalculationPercent"),
        reason=r.text(node, "ram:Reason"),
        reason_code=r.text(node, "ram:ReasonCode"),
        tax_category=r.text(node, "ram:CategoryTradeTax/ram:CategoryCode"),
        tax_rate=r.dec(node, "ram:CategoryTradeTax/ram:RateApplicablePercent"),
    )


def _tax(r: Reader, node: etree._Element) -> TaxSubtotal:
    return TaxSubtotal(
        tax_amount=r.amount(node, "ram:CalculatedAmount"),
        taxable_amount=r.dec(node, "ram:BasisAmount"),
        category=r.text(node, "ram:CategoryCode"),
        rate=r.dec(node, "ram:RateApplicablePercent"),
        exemption_reason=r.text(node, "ram:ExemptionReason"),
        type=r.text(node, "ram:TypeCode"),
    )


def _totals(r: Reader, settlement: etree._Element | None, currency: str | None) -> Totals:
    m = (
        r.one(settlement, "ram:SpecifiedTradeSettlementHeaderMonetarySummation")
        if settlement is not None
        else None
    )
    tax = f"ram:TaxTotalAmount[@currencyID='{currency}']" if currency else "ram:TaxTotalAmount"
    return Totals(
        line_total=r.dec(m, "ram:LineTotalAmount"),
        allowances=r.dec(m, "ram:AllowanceTotalAmount"),
        charges=r.dec(m, "ram:ChargeTotalAmount"),
        tax_exclusive=r.dec(m, "ram:TaxBasisTotalAmount"),
        tax_total=r.dec(m, tax) or r.dec(m, "ram:TaxTotalAmount"),
        tax_inclusive=r.dec(m, "ram:GrandTotalAmount"),
        prepaid=r.dec(m, "ram:TotalPrepaidAmount"),
        rounding=r.dec(m, "ram:RoundingAmount"),
        payable=r.dec(m, "ram:DuePayableAmount"),
    )


def _terms(r: Reader, settlement: etree._Element | None) -> PaymentTerms | None:
    note = r.text(settlement, "ram:SpecifiedTradePaymentTerms/ram:Description")
    return PaymentTerms(description=note) if note else None


def _references(r: Reader, root: etree._Element) -> list[Reference]:
    out = []
    for path, kind in _REFERENCES.items():
        for node in r.all(root, path):
            ident = r.text(node, "ram:IssuerAssignedID") or r.text(node, "ram:ID")
            if ident:
                out.append(Reference(type=r.text(node, "ram:TypeCode") or kind, id=ident))
    return out
