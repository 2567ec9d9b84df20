"""invoiceflow: durable invoice digitization on Amazon States Language workflows."""
