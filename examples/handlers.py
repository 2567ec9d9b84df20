"""Handlers for count_invoices.asl.json and the create-invoice queue, registered by name
when this module is imported: ``invoiceflow worker --handlers examples.handlers``."""

import json

from invoiceflow.digitize import parse
from invoiceflow.functions import handler


@handler("parse-file")  # the name a Task state gives as its Resource
def parse_file(event, context):
    return [
        {"number": invoice.invoice_number, "payable": str(invoice.totals.payable)}
        for invoice in parse(event["file"])
    ]


@handler("create-invoice")  # fed by a queue: a batch of SQS records
def create_invoice(event, context):
    failed = []
    for record in event["Records"]:
        invoice = json.loads(record["body"])
        if "number" not in invoice:  # only this message is received again
            failed.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failed}
