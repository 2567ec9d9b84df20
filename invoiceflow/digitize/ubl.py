"""UBL 2.1 Invoice and CreditNote (EN 16931, Peppol BIS 3) into the model."""

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
from invoiceflow.digitize.xml import Lines, Reader

INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
CREDIT_NOTE = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
NS = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
CREDIT_CODES = {"381", "396", "532"}
_REFERENCES = {
    "cac:DespatchDocumentReference": "despatch_advice",
    "cac:ReceiptDocumentReference": "receiving_advice",
    "cac:OriginatorDocumentReference": "tender",
    "cac:ProjectReference": "project",
    "cac:BillingReference/cac:InvoiceDocumentReference": "preceding_invoice",
    "cac:AdditionalDocumentReference": "additional",
}


def line_reader(r: Reader) -> Lines:
    """How ``stream_xml`` finds and maps a UBL document's lines (children of the root)."""
    count = 0

    def read(node: etree._Element) -> Line:
        nonlocal count
        count += 1
        r.line = (node, f"/Invoice/cac:{etree.QName(node).localname}[{count}]")
        try:
            return _line(r, node)
        finally:
            r.line = None

    return Lines(2, {f"{{{NS['cac']}}}InvoiceLine", f"{{{NS['cac']}}}CreditNoteLine"}, read)


def read_ubl(
    root: etree._Element,
    index: int = 0,
    *,
    reader: Reader | None = None,
    lines: list[Line] | None = None,
) -> Invoice:
    """The invoice in a UBL document; ``lines`` when ``stream_xml`` has read them already,
    with ``reader`` holding their problems."""
    r = reader or Reader(NS, [])
    problems: list[Problem] = r.problems
    credit = etree.QName(root).namespace == CREDIT_NOTE
    type_code = r.text(root, "cbc:CreditNoteTypeCode" if credit else "cbc:InvoiceTypeCode")
    currency = r.text(root, "cbc:DocumentCurrencyCode")
    invoice = Invoice(
        invoice_number=r.text(root, "cbc:ID") or "",
        source=Source(format="ubl", version=r.text(root, "cbc:UBLVersionID") or "2.1", index=index),
        document_type="credit_note" if credit or type_code in CREDIT_CODES else "invoice",
        type_code=type_code,
        issue_date=r.date(root, "cbc:IssueDate"),
        due_date=r.date(root, "cbc:DueDate") or r.date(root, "cac:PaymentMeans/cbc:PaymentDueDate"),
        currency=currency,
        tax_currency=r.text(root, "cbc:TaxCurrencyCode"),
        purchase_order=r.text(root, "cac:OrderReference/cbc:ID"),
        buyer_reference=r.text(root, "cbc:BuyerReference"),
        contract=r.text(root, "cac:ContractDocumentReference/cbc:ID"),
        seller=_party(r, r.one(root, "cac:AccountingSupplierParty/cac:Party")),
        buyer=_party(r, r.one(root, "cac:AccountingCustomerParty/cac:Party")),
        payee=_party(r, r.one(root, "cac:PayeeParty"), legal=False),
        ship_to=_ship_to(r, r.one(root, "cac:Delivery")),
        delivery_date=r.date(root, "cac:Delivery/cbc:ActualDeliveryDate"),
        lines=lines
        if lines is not None
        else [_line(r, n) for n in r.all(root, "cac:InvoiceLine | cac:CreditNoteLine")],
        tax=[_tax(r, n) for n in r.all(root, "cac:TaxTotal/cac:TaxSubtotal")],
        allowances_charges=[_allowance(r, n) for n in r.all(root, "cac:AllowanceCharge")],
        totals=_totals(r, root, currency),
        payment_terms=_terms(r, root),
        references=_references(r, root),
        notes=[n.text.strip() for n in r.all(root, "cbc:Note") if n.text and n.text.strip()],
        problems=problems,
    )
    complete_totals(invoice, payable=invoice.totals.payable)
    return invoice


def _party(r: Reader, node: etree._Element | None, *, legal: bool = True) -> Party | None:
    """A party: for the seller and the buyer (``legal``), PartyLegalEntity's
    RegistrationName is the legal name (BT-27 / BT-44) and PartyName the trading name
    (BT-28 / BT-45); the payee has one name (BT-59), in PartyName."""
    if node is None:
        return None
    ident = r.one(node, "cac:PartyIdentification/cbc:ID")
    if ident is None:
        ident = r.one(node, "cbc:EndpointID")
    tax_id = r.text(node, "cac:PartyTaxScheme[cac:TaxScheme/cbc:ID='VAT']/cbc:CompanyID") or r.text(
        node, "cac:PartyTaxScheme/cbc:CompanyID"
    )
    contact = r.one(node, "cac:Contact")
    registered = r.text(node, "cac:PartyLegalEntity/cbc:RegistrationName")
    named = r.text(node, "cac:PartyName/cbc:Name")
    return Party(
        name=registered if legal else named or registered,
        trading_name=named if legal else None,
        id=" ".join(ident.text.split()) if ident is not None and ident.text else None,
        id_scheme=ident.get("schemeID") if ident is not None else None,
        tax_id=tax_id,
        legal_id=r.text(node, "cac:PartyLegalEntity/cbc:CompanyID"),
        address=_address(r, r.one(node, "cac:PostalAddress")),
        contact=Contact(
            name=r.text(contact, "cbc:Name"),
            phone=r.text(contact, "cbc:Telephone"),
            email=r.text(contact, "cbc:ElectronicMail"),
        )
        if contact is not None
        else None,
    )


def _address(r: Reader, node: etree._Element | None) -> Address | None:
    if node is None:
        return None
    lines = [
        t
        for t in (
            r.text(node, "cbc:StreetName"),
            r.text(node, "cbc:AdditionalStreetName"),
            *(" ".join((e.text or "").split()) for e in r.all(node, "cac:AddressLine/cbc:Line")),
        )
        if t
    ]
    return Address(
        lines=lines,
        city=r.text(node, "cbc:CityName"),
        postal_code=r.text(node, "cbc:PostalZone"),
        subdivision=r.text(node, "cbc:CountrySubentity"),
        country=r.text(node, "cac:Country/cbc:IdentificationCode"),
    )


def _ship_to(r: Reader, node: etree._Element | None) -> Party | None:
    if node is None:
        return None
    location = r.one(node, "cac:DeliveryLocation")
    name = r.text(node, "cac:DeliveryParty/cac:PartyName/cbc:Name")
    address = _address(r, r.one(location, "cac:Address")) if location is not None else None
    ident = r.one(location, "cbc:ID") if location is not None else None
    if name is None and address is None and ident is None:
        return None
    return Party(
        name=name,
        id=ident.text.strip() if ident is not None and ident.text else None,
        id_scheme=ident.get("schemeID") if ident is not None else None,
        address=address,
    )


def _line(r: Reader, node: etree._Element) -> Line:
    quantity = r.one(node, "cbc:InvoicedQuantity | cbc:CreditedQuantity")
    item = r.one(node, "cac:Item")
    return Line(
        line_id=r.text(node, "cbc:ID") or "",
        quantity=r.amount(node, "cbc:InvoicedQuantity | cbc:CreditedQuantity"),
        net_amount=r.amount(node, "cbc:LineExtensionAmount"),
        description=r.text(item, "cbc:Name") or r.text(item, "cbc:Description"),
        unit=quantity.get("unitCode") if quantity is not None else None,
        unit_price=r.dec(node, "cac:Price/cbc:PriceAmount"),
        price_base_quantity=r.dec(node, "cac:Price/cbc:BaseQuantity"),
        seller_item_id=r.text(item, "cac:SellersItemIdentification/cbc:ID"),
        buyer_item_id=r.text(item, "cac:BuyersItemIdentification/cbc:ID"),
        standard_item_id=r.text(item, "cac:StandardItemIdentification/cbc:ID"),
        tax_category=r.text(item, "cac:ClassifiedTaxCategory/cbc:ID"),
        tax_rate=r.dec(item, "cac:ClassifiedTaxCategory/cbc:Percent"),
        allowances_charges=[_allowance(r, n) for n in r.all(node, "cac:AllowanceCharge")],
        note=r.text(node, "cbc:Note"),
    )


def _allowance(r: Reader, node: etree._Element) -> AllowanceCharge:
    return AllowanceCharge(
        charge=(r.text(node, "cbc:ChargeIndicator") or "").lower() == "true",
        amount=r.amount(node, "cbc:Amount"),
        base_amount=r.dec(node, "cbc:BaseAmount"),
        percentage=r.dec(node, "cbc:MultiplierFactorNumeric"),
        reason=r.text(node, "cbc:AllowanceChargeReason"),
        reason_code=r.text(node, "cbc:AllowanceChargeReasonCode"),
        tax_category=r.text(node, "cac:TaxCategory/cbc:ID"),
        tax_rate=r.dec(node, "cac:TaxCategory/cbc:Percent"),
    )


def _tax(r: Reader, node: etree._Element) -> TaxSubtotal:
    return TaxSubtotal(
        tax_amount=r.amount(node, "cbc:TaxAmount"),
        taxable_amount=r.dec(node, "cbc:TaxableAmount"),
        category=r.text(node, "cac:TaxCategory/cbc:ID"),
        rate=r.dec(node, "cac:TaxCategory/cbc:Percent"),
        exemption_reason=r.text(node, "cac:TaxCategory/cbc:TaxExemptionReason"),
        type=r.text(node, "cac:TaxCategory/cac:TaxScheme/cbc:ID"),
    )


def _totals(r: Reader, root: etree._Element, currency: str | None) -> Totals:
    m = r.one(root, "cac:LegalMonetaryTotal")
    tax_path = (
        f"cac:TaxTotal/cbc:TaxAmount[@currencyID='{currency}']"
        if currency
        else "cac:TaxTotal/cbc:TaxAmount"
    )
    return Totals(
        line_total=r.dec(m, "cbc:LineExtensionAmount"),
        allowances=r.dec(m, "cbc:AllowanceTotalAmount"),
        charges=r.dec(m, "cbc:ChargeTotalAmount"),
        tax_exclusive=r.dec(m, "cbc:TaxExclusiveAmount"),
        tax_total=r.dec(root, tax_path),
        tax_inclusive=r.dec(m, "cbc:TaxInclusiveAmount"),
        prepaid=r.dec(m, "cbc:PrepaidAmount"),
        rounding=r.dec(m, "cbc:PayableRoundingAmount"),
        payable=r.dec(m, "cbc:PayableAmount"),
    )


def _terms(r: Reader, root: etree._Element) -> PaymentTerms | None:
    note = r.text(root, "cac:PaymentTerms/cbc:Note")
    return PaymentTerms(description=note) if note else None


def _references(r: Reader, root: etree._Element) -> list[Reference]:
    out = []
    for path, kind in _REFERENCES.items():
        for node in r.all(root, path):
            ident = r.text(node, "cbc:ID")
            if ident:
                out.append(Reference(type=r.text(node, "cbc:DocumentTypeCode") or kind, id=ident))
    return out
