"""Invoice files of a chosen size in every format, for the scaling, limit and fuzz tests."""

from __future__ import annotations

import json

from invoiceflow.digitize import DigitizeError, parse


def read_all(data: bytes) -> None:
    """Read every invoice in ``data``, or up to the DigitizeError that refuses it."""
    try:
        for _invoice in parse(data):
            pass
    except DigitizeError:
        pass


UBL_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2" '
    'xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2" '
    'xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">'
    "<cbc:ID>INV-1</cbc:ID><cbc:IssueDate>2024-01-15</cbc:IssueDate>"
    "<cbc:DocumentCurrencyCode>EUR</cbc:DocumentCurrencyCode>"
    "<cac:AccountingSupplierParty><cac:Party><cac:PartyName><cbc:Name>Seller</cbc:Name>"
    "</cac:PartyName></cac:Party></cac:AccountingSupplierParty>"
)


def ubl(lines: int, amount: str = "2.00") -> bytes:
    """A UBL invoice with ``lines`` lines of quantity 1 and ``amount`` each."""
    body = "".join(
        f"<cac:InvoiceLine><cbc:ID>{n}</cbc:ID>"
        f'<cbc:InvoicedQuantity unitCode="C62">1</cbc:InvoicedQuantity>'
        f'<cbc:LineExtensionAmount currencyID="EUR">{amount}</cbc:LineExtensionAmount>'
        f"<cac:Item><cbc:Name>Item {n}</cbc:Name><cac:ClassifiedTaxCategory><cbc:ID>S</cbc:ID>"
        "<cbc:Percent>0</cbc:Percent></cac:ClassifiedTaxCategory></cac:Item>"
        f'<cac:Price><cbc:PriceAmount currencyID="EUR">{amount}</cbc:PriceAmount></cac:Price>'
        "</cac:InvoiceLine>"
        for n in range(1, lines + 1)
    )
    return (UBL_HEAD + body + "</Invoice>").encode()


def cii(lines: int, amount: str = "2.00") -> bytes:
    """A CII invoice with ``lines`` lines."""
    ram = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
    items = "".join(
        "<ram:IncludedSupplyChainTradeLineItem><ram:AssociatedDocumentLineDocument>"
        f"<ram:LineID>{n}</ram:LineID></ram:AssociatedDocumentLineDocument>"
        f"<ram:SpecifiedTradeProduct><ram:Name>Item {n}</ram:Name></ram:SpecifiedTradeProduct>"
        "<ram:SpecifiedLineTradeDelivery><ram:BilledQuantity unitCode='C62'>1"
        "</ram:BilledQuantity></ram:SpecifiedLineTradeDelivery><ram:SpecifiedLineTradeSettlement>"
        "<ram:SpecifiedTradeSettlementLineMonetarySummation>"
        f"<ram:LineTotalAmount>{amount}</ram:LineTotalAmount>"
        "</ram:SpecifiedTradeSettlementLineMonetarySummation></ram:SpecifiedLineTradeSettlement>"
        "</ram:IncludedSupplyChainTradeLineItem>"
        for n in range(1, lines + 1)
    )
    return (
        "<rsm:CrossIndustryInvoice "
        'xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100" '
        f'xmlns:ram="{ram}" '
        'xmlns:udt="urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100">'
        "<rsm:ExchangedDocument><ram:ID>C-1</ram:ID></rsm:ExchangedDocument>"
        f"<rsm:SupplyChainTradeTransaction>{items}<ram:ApplicableHeaderTradeSettlement>"
        "<ram:InvoiceCurrencyCode>EUR</ram:InvoiceCurrencyCode>"
        "</ram:ApplicableHeaderTradeSettlement></rsm:SupplyChainTradeTransaction>"
        "</rsm:CrossIndustryInvoice>"
    ).encode()


ISA = (
    "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       "
    "*240101*1200*U*00401*000000001*0*P*>~"
)


def x12(lines: int, invoices: int = 1, amount: str = "2.00") -> bytes:
    """An X12 810 interchange of ``invoices`` sets with ``lines`` lines each."""
    sets = []
    for k in range(1, invoices + 1):
        body = [f"ST*810*{k:04d}", f"BIG*20240115*INV-{k}", "CUR*SE*EUR", "N1*SE*Seller"]
        body += [f"IT1*{n}*1*EA*{amount}" for n in range(1, lines + 1)]
        body += [f"CTT*{lines}"]
        body.append(f"SE*{len(body) + 1}*{k:04d}")
        sets.append("~".join(body) + "~")
    return (
        f"{ISA}GS*IN*S*R*20240101*1200*7*X*004010~{''.join(sets)}GE*{invoices}*7~IEA*1*000000001~"
    ).encode()


def edifact(lines: int, invoices: int = 1, amount: str = "2.00") -> bytes:
    """An EDIFACT interchange of ``invoices`` INVOIC messages with ``lines`` lines each."""
    messages = []
    for k in range(1, invoices + 1):
        body = [
            f"UNH+{k}+INVOIC:D:96A:UN:EAN008",
            f"BGM+380+INV-{k}",
            "DTM+137:20240115:102",
            "NAD+SE+++Seller",
            "CUX+2:EUR:4",
        ]
        for n in range(1, lines + 1):
            body += [f"LIN+{n}", "QTY+47:1", f"MOA+203:{amount}", f"PRI+AAA:{amount}"]
        body += ["UNS+S"]
        body.append(f"UNT+{len(body) + 1}+{k}")
        messages.append("'".join(body) + "'")
    return f"UNB+UNOC:3+S+R+240101:1200+1'{''.join(messages)}UNZ+{invoices}+1'".encode()


CSV_HEADER = "invoice_number,invoice_date,currency,supplier,line,description,qty,unit_price,amount"


def csv(lines: int, invoices: int = 1, amount: str = "2.00") -> bytes:
    """A CSV export of ``invoices`` invoices with ``lines`` rows each."""
    rows = [CSV_HEADER]
    for k in range(1, invoices + 1):
        rows += [
            f"INV-{k},2024-01-15,EUR,Seller,{n},Item {n},1,{amount},{amount}"
            for n in range(1, lines + 1)
        ]
    return ("\n".join(rows) + "\n").encode()


def json_invoice(k: int, lines: int, amount: str = "2.00") -> dict[str, object]:
    return {
        "invoice_number": f"INV-{k}",
        "issue_date": "2024-01-15",
        "currency": "EUR",
        "seller": {"name": "Seller"},
        "lines": [
            {"line_id": str(n), "quantity": "1", "net_amount": amount, "description": f"Item {n}"}
            for n in range(1, lines + 1)
        ],
    }


def json_file(lines: int, invoices: int = 1, amount: str = "2.00") -> bytes:
    """A JSON list of ``invoices`` invoices with ``lines`` lines each."""
    return json.dumps([json_invoice(k, lines, amount) for k in range(1, invoices + 1)]).encode()


FORMATS = {"ubl": ubl, "cii": cii, "x12": x12, "edifact": edifact, "csv": csv, "json": json_file}
