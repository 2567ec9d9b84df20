-- name: insert_container
INSERT INTO containers
    (id, tenant, source, name, sha256, size, blob, state, created, updated)
VALUES (?, ?, ?, ?, ?, ?, ?, 'New', ?, ?)

-- name: get_container
SELECT id, tenant, source, name, sha256, size, blob, state, reason, parsed_count,
       created_count, execution_arn, created, updated
FROM containers WHERE id = ?

-- name: list_containers
SELECT id, tenant, source, name, sha256, size, blob, state, reason, parsed_count,
       created_count, execution_arn, created, updated
FROM containers
WHERE tenant = ? AND (? IS NULL OR state = ?) AND created >= ?
ORDER BY created DESC, id DESC LIMIT ?

-- name: set_execution
UPDATE containers SET execution_arn = ?, updated = ? WHERE id = ?

-- name: start_processing
UPDATE containers SET state = 'Processing', reason = NULL, updated = ?
WHERE id = ? AND state IN ('New', 'Error', 'Processing')

-- name: finish_container
UPDATE containers SET state = ?, reason = ?, created_count = ?, updated = ?
WHERE id = ? AND state = 'Processing'

-- name: set_parsed_count
UPDATE containers SET parsed_count = ?, updated = ? WHERE id = ?

-- name: insert_parsed
INSERT INTO parsed_invoices (container_id, position, invoice) VALUES (?, ?, ?)
ON CONFLICT (container_id, position) DO NOTHING

-- name: parsed_count
SELECT COUNT(*) FROM parsed_invoices WHERE container_id = ?

-- name: get_parsed
SELECT invoice FROM parsed_invoices WHERE container_id = ? AND position = ?

-- name: insert_invoice
INSERT INTO invoices
    (id, tenant, container_id, position, number, supplier, issue_date, currency, total,
     invoice, created)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (container_id, position) DO NOTHING
RETURNING id

-- name: invoice_at
SELECT id FROM invoices WHERE container_id = ? AND position = ?

-- name: count_invoices
SELECT COUNT(*) FROM invoices WHERE container_id = ?

-- name: get_invoice
SELECT id, tenant, container_id, position, number, supplier, issue_date, currency, total,
       invoice, created, duplicate_of
FROM invoices WHERE id = ?

-- name: list_invoices
SELECT id, tenant, container_id, position, number, supplier, issue_date, currency, total,
       invoice, created, duplicate_of
FROM invoices WHERE tenant = ? AND (? IS NULL OR container_id = ?)
ORDER BY created DESC, id DESC LIMIT ?

-- name: possible_duplicates
SELECT id FROM invoices
WHERE tenant = ? AND supplier = ? AND container_id <> ?
  AND (created < ? OR (created = ? AND id < ?))
  AND (number = ? OR (issue_date = ? AND total = ?))
ORDER BY created, id LIMIT 1

-- name: flag_duplicate
UPDATE invoices SET duplicate_of = ? WHERE id = ? AND duplicate_of IS NULL

-- name: get_settings
SELECT settings FROM tenant_settings WHERE tenant = ?

-- name: put_settings
INSERT INTO tenant_settings (tenant, settings) VALUES (?, ?)
ON CONFLICT (tenant) DO UPDATE SET settings = excluded.settings

-- name: insert_invoice_event
INSERT INTO invoice_events (message_id, tenant, received) VALUES (?, ?, ?)

-- name: invoice_event
SELECT message_id, tenant, container_id, received FROM invoice_events WHERE message_id = ?

-- name: get_invoice_event
SELECT message_id, tenant, container_id, received FROM invoice_events
WHERE message_id = ? AND tenant = ?

-- name: claim_invoice_event
UPDATE invoice_events SET container_id = ? WHERE message_id = ? AND container_id IS NULL

-- name: event_dead_lettered
-- An invoice event's message, if it waits in the dead-letter queue (named in its attributes).
SELECT m.receive_count FROM messages m JOIN queues q ON q.id = m.queue_id
WHERE q.name = ? AND m.attributes LIKE ?

-- name: end_unfinished_container
-- Its workflow ended without finishing it (stopped, timed out, an uncatchable error): the
-- container ends in Error. Only for the container's current execution, and never over a
-- container that already ended.
UPDATE containers
SET state = 'Error', reason = ?, updated = ?,
    created_count = (SELECT COUNT(*) FROM invoices WHERE container_id = containers.id)
WHERE id = ? AND execution_arn = ? AND state IN ('New', 'Processing')
