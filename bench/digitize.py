"""Parsing speed and memory for large files: a CSV export and an X12 810 file of ~35 MB
(and a fifth of that, to show memory does not grow with the file), and the worst shapes
under the 50 MB upload limit: one invoice of a million lines in CSV and in X12 (refused at
the line limit), a 50 MB JSON file and a 30 MB UBL invoice (read). Every peak RSS should
stay under 250 MB.

Each file is parsed in a fresh process that reports its own peak RSS. ``--scale 0.02`` runs
everything at a fiftieth of the size in seconds. Prints human lines, then one JSON object
as the last line.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from machine import machine

LINES_PER_INVOICE = 10


def write_csv(path: Path, target: int) -> None:
    header = (
        "invoice_number,invoice_date,due_date,currency,supplier,supplier_vat,customer,"
        "po_number,line,description,sku,qty,unit_price,amount,vat_rate\n"
    )
    with path.open("w", encoding="utf-8") as out:
        out.write(header)
        n = 0
        while out.tell() < target:
            n += 1
            for line in range(1, LINES_PER_INVOICE + 1):
                qty, price = line % 7 + 1, f"{(n * 13 + line) % 1000 / 10 + 1:.2f}"
                amount = f"{qty * float(price):.2f}"
                out.write(
                    f"INV-{n:08d},2024-03-{n % 28 + 1:02d},2024-04-{n % 28 + 1:02d},EUR,"
                    f"Supplier {n % 97} B.V.,NL{n % 97:09d}B01,Customer {n % 89} GmbH,"
                    f"PO-{n:07d},{line},Article {line} of invoice {n},SKU-{line:05d},"
                    f"{qty},{price},{amount},21\n"
                )


def write_x12(path: Path, target: int) -> None:
    with path.open("w", encoding="ascii") as out:
        out.write(
            "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       "
            "*240301*1200*U*00401*000000001*0*P*>~\nGS*IN*SENDER*RECEIVER*20240301*1200*1*X*004010~\n"
        )
        n = 0
        while out.tell() < target:
            n += 1
            segments = [
                f"ST*810*{n:09d}",
                f"BIG*20240301*INV{n:08d}*20240220*PO{n:07d}",
                "CUR*SE*USD",
                f"N1*SE*SUPPLIER {n % 97}*92*{n % 97:06d}",
                "N3*1 MAIN STREET",
                "N4*SPRINGFIELD*IL*62701*US",
                f"N1*BY*CUSTOMER {n % 89}*92*{n % 89:06d}",
                "ITD*01*3*2**10**30",
            ]
            total = 0
            for line in range(1, LINES_PER_INVOICE + 1):
                qty, cents = line % 7 + 1, (n * 13 + line) % 100000 + 100
                total += qty * cents
                segments += [
                    f"IT1*{line}*{qty}*EA*{cents / 100:.2f}**VP*SKU{line:05d}*UP*0123456{line:05d}",
                    f"PID*F****ARTICLE {line} OF INVOICE {n}",
                ]
            segments += [f"TDS*{total}", f"CTT*{LINES_PER_INVOICE}"]
            segments.append(f"SE*{len(segments) + 1}*{n:09d}")
            out.write("~\n".join(segments) + "~\n")
        out.write(f"GE*{n}*1~\nIEA*1*000000001~\n")


def write_one_invoice_csv(path: Path, lines: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write("invoice_number,invoice_date,currency,supplier,line,description,qty,price\n")
        for n in range(1, lines + 1):
            out.write(f"INV-1,2024-03-01,EUR,Supplier B.V.,{n},Article {n},{n % 7 + 1},1.25\n")


def write_one_invoice_x12(path: Path, lines: int) -> None:
    with path.open("w", encoding="ascii") as out:
        out.write(
            "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       "
            "*240301*1200*U*00401*000000001*0*P*>~GS*IN*S*R*20240301*1200*1*X*004010~"
            "ST*810*0001~BIG*20240301*INV1~CUR*SE*USD~N1*SE*SUPPLIER~"
        )
        for n in range(1, lines + 1):
            out.write(f"IT1*{n}*{n % 7 + 1}*EA*1.25**VP*SKU{n:07d}~")
        out.write(f"CTT*{lines}~SE*{lines + 6}*0001~GE*1*1~IEA*1*000000001~")


def write_json(path: Path, target: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write("[")
        n = 0
        while out.tell() < target:
            n += 1
            lines = [
                {
                    "line_id": str(k),
                    "quantity": str(k % 7 + 1),
                    "unit_price": "1.25",
                    "net_amount": f"{(k % 7 + 1) * 1.25:.2f}",
                    "description": f"Article {k} of invoice {n}",
                }
                for k in range(1, LINES_PER_INVOICE + 1)
            ]
            invoice = {
                "invoice_number": f"INV-{n:08d}",
                "issue_date": "2024-03-01",
                "currency": "EUR",
                "seller": {"name": f"Supplier {n % 97}"},
                "lines": lines,
            }
            out.write(("," if n > 1 else "") + json.dumps(invoice))
        out.write("]")


def write_ubl(path: Path, target: int) -> None:
    ns = "urn:oasis:names:specification:ubl:schema:xsd"
    with path.open("w", encoding="utf-8") as out:
        out.write(
            f'<Invoice xmlns="{ns}:Invoice-2" xmlns:cac="{ns}:CommonAggregateComponents-2" '
            f'xmlns:cbc="{ns}:CommonBasicComponents-2"><cbc:ID>INV-1</cbc:ID>'
            "<cbc:IssueDate>2024-03-01</cbc:IssueDate>"
            "<cbc:DocumentCurrencyCode>EUR</cbc:DocumentCurrencyCode>"
            "<cac:AccountingSupplierParty><cac:Party><cac:PartyName><cbc:Name>Supplier"
            "</cbc:Name></cac:PartyName></cac:Party></cac:AccountingSupplierParty>"
        )
        n = 0
        while out.tell() < target:
            n += 1
            out.write(
                f"<cac:InvoiceLine><cbc:ID>{n}</cbc:ID>"
                '<cbc:InvoicedQuantity unitCode="C62">2</cbc:InvoicedQuantity>'
                '<cbc:LineExtensionAmount currencyID="EUR">2.50</cbc:LineExtensionAmount>'
                f"<cac:Item><cbc:Name>Article {n}</cbc:Name><cac:SellersItemIdentification>"
                f"<cbc:ID>SKU{n:07d}</cbc:ID></cac:SellersItemIdentification>"
                "<cac:ClassifiedTaxCategory><cbc:ID>S</cbc:ID><cbc:Percent>0</cbc:Percent>"
                "</cac:ClassifiedTaxCategory></cac:Item><cac:Price>"
                '<cbc:PriceAmount currencyID="EUR">1.25</cbc:PriceAmount></cac:Price>'
                "</cac:InvoiceLine>\n"
            )
        out.write("</Invoice>")


def parse_one(path: str) -> None:
    """Child mode: parse ``path`` and print what it took, or why it was refused."""
    from invoiceflow.digitize import DigitizeError, parse

    began = time.perf_counter()
    invoices = problems = 0
    refused = None
    try:
        for invoice in parse(path):
            invoices += 1
            problems += sum(p.severity == "error" for p in invoice.problems)
    except DigitizeError as exc:
        refused = exc.problem.code
    seconds = time.perf_counter() - began
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "invoices": invoices,
                "errors": problems,
                "refused": refused,
                "seconds": seconds,
                "peak_rss_mb": peak,
            }
        )
    )


def measure(path: Path) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--parse", str(path)], capture_output=True, text=True, check=True
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    size = path.stat().st_size / 1e6
    assert result["errors"] == 0, result
    return {
        "file_mb": round(size, 1),
        "invoices": result["invoices"],
        "refused": result["refused"],
        "seconds": round(result["seconds"], 2),
        "mb_per_s": round(size / result["seconds"], 1),
        "invoices_per_s": round(result["invoices"] / result["seconds"]),
        "peak_rss_mb": round(result["peak_rss_mb"], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--parse", help=argparse.SUPPRESS)
    parser.add_argument("--mb", type=float, default=35.0)
    parser.add_argument(
        "--scale", type=float, default=1.0, help="fraction of the full sizes (0.02: seconds)"
    )
    args = parser.parse_args()
    if args.parse:
        parse_one(args.parse)
        return
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="invoiceflow-bench-") as tmp:
        results["machine"] = machine(Path(tmp))
        worst = (
            ("csv_1m_lines", write_one_invoice_csv, int(1_000_000 * args.scale)),
            ("x12_1m_lines", write_one_invoice_x12, int(1_000_000 * args.scale)),
            ("json_50mb", write_json, int(50e6 * args.scale)),
            ("ubl_30mb", write_ubl, int(30e6 * args.scale)),
        )
        for name, write_worst, size in worst:
            path = Path(tmp) / name
            write_worst(path, size)
            results[name] = measure(path)
            print(f"{name}:", results[name], flush=True)
            path.unlink()
        for kind, write in (("csv", write_csv), ("x12", write_x12)):
            mb_full = args.mb * args.scale
            for label, mb in (("small", mb_full / 5), ("large", mb_full)):
                path = Path(tmp) / f"{label}.{kind}"
                write(path, int(mb * 1e6))
                results[f"{kind}_{label}"] = measure(path)
                print(f"{kind} {label}:", results[f"{kind}_{label}"], flush=True)
                path.unlink()
    print(json.dumps(results))


if __name__ == "__main__":
    main()
