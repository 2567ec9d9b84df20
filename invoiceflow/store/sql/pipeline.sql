-- name: insert_container
-- A received file, New, with the profile (name and content) it is to be read with, if any.
INSERT INTO containers
    (id, tenant, source, name, sha256, size, blob, state, created, updated, profile_name,
     profile)
VALUES (?, ?, ?, ?, ?, ?, ?, 'New', ?, ?, ?, ?)

-- name: get_container
-- One container (see container_view: a container in work counts its invoices so far).
SELECT * FROM container_view WHERE id = ?

-- name: get_stored_container
-- One container as stored, its count the one written when it ended: what the workflow's
-- steps read, once per invoice, where the view's live count would cost a count per step.
SELECT id, tenant, source, name, sha256, size, blob, state, reason, parsed_count,
       created_count, execution_arn, created, updated, review_count, last_error, attempts,
       last_error_at, profile_name, profile
FROM containers WHERE id = ?

-- name: container_state
-- Only a container's state: what a waiting process looks at many times a second, without
-- the invoice count the view makes for a container in work.
SELECT state FROM containers WHERE id = ?

-- name: page_own_containers
-- A tenant's containers newest first after a cursor (created, id), walking the index unsorted.
SELECT * FROM container_view
WHERE tenant = ? AND (? IS NULL OR state = ?) AND created >= ? AND (created, id) < (?, ?)
ORDER BY created DESC, id DESC LIMIT ?

-- name: page_containers_needing_review
-- The same, only those with invoices carrying error-level problems (a partial index holds them).
SELECT * FROM container_view
WHERE tenant = ? AND (? IS NULL OR state = ?) AND created >= ? AND (created, id) < (?, ?)
  AND review_count > 0
ORDER BY created DESC, id DESC LIMIT ?

-- name: page_containers_not_needing_review
-- The same, only those with no invoice carrying an error-level problem.
SELECT * FROM container_view
WHERE tenant = ? AND (? IS NULL OR state = ?) AND created >= ? AND (created, id) < (?, ?)
  AND review_count = 0
ORDER BY created DESC, id DESC LIMIT ?

-- name: set_execution
-- The execution now working on a container: only its end may end the container in Error.
UPDATE containers SET execution_arn = ?, updated = ? WHERE id = ?

-- name: start_processing
-- A run begins (or begins again): the trouble an earlier run recorded no longer applies.
UPDATE containers
SET state = 'Processing', reason = NULL, last_error = NULL, attempts = 0, last_error_at = NULL,
    updated = ?
WHERE id = ? AND state IN ('New', 'Error', 'Processing')

-- name: finish_container
-- Done or Error, with the invoices created and those of them that need a person's review.
UPDATE containers
SET state = ?, reason = ?, created_count = ?, updated = ?,
    review_count = (SELECT COUNT(*) FROM invoices WHERE container_id = containers.id AND errors > 0)
WHERE id = ? AND state = 'Processing'

-- name: clear_action_error
-- Every post-creation action went through in the end: what failed on the way is history.
UPDATE containers SET last_error = NULL, attempts = 0, last_error_at = NULL WHERE id = ?

-- name: record_action_error
-- A post-creation action failed and will be tried again: what it said, and which attempt.
UPDATE containers SET last_error = ?, attempts = ?, last_error_at = ?, updated = ?
WHERE id = ? AND state = 'Processing'

-- name: set_parsed_count
-- How many invoices the file holds, written once all of them are stored in parsed_invoices.
UPDATE containers SET parsed_count = ?, updated = ? WHERE id = ?

-- name: insert_parsed
-- One parsed invoice of a container by position, once: a parse run again skips what it has.
INSERT INTO parsed_invoices (container_id, position, invoice) VALUES (?, ?, ?)
ON CONFLICT (container_id, position) DO NOTHING

-- name: parsed_count
-- How many parsed invoices of a container are stored: a run again reuses them if all are.
SELECT COUNT(*) FROM parsed_invoices WHERE container_id = ?

-- name: get_parsed
-- The parsed invoice at a position of a container, to create the invoice from.
SELECT invoice FROM parsed_invoices WHERE container_id = ? AND position = ?

-- name: insert_invoice
-- Once per container and position; with its problems counted (all, and error-level ones).
INSERT INTO invoices
    (id, tenant, container_id, position, number, supplier, issue_date, currency, total,
     invoice, created, problems, errors)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (container_id, position) DO NOTHING
RETURNING id

-- name: invoice_at
-- The invoice created from a container's position, if any: one created before is reused.
SELECT id FROM invoices WHERE container_id = ? AND position = ?

-- name: count_invoices
-- How many invoices a container has: checked against the file's count as it ends.
SELECT COUNT(*) FROM invoices WHERE container_id = ?

-- name: get_invoice
-- One invoice by id, of any tenant (the API then checks that it is the caller's).
SELECT id, tenant, container_id, position, number, supplier, issue_date, currency, total,
       invoice, created, duplicate_of
FROM invoices WHERE id = ?

-- name: list_invoices
-- A tenant's newest invoices, of one container if given (the CLI's listing).
SELECT id, tenant, container_id, position, number, supplier, issue_date, currency, total,
       invoice, created, duplicate_of
FROM invoices WHERE tenant = ? AND (? IS NULL OR container_id = ?)
ORDER BY created DESC, id DESC LIMIT ?

-- name: list_invoices_with_problems
-- Newest first, only invoices with problems of any severity (a partial index holds them).
SELECT id, tenant, container_id, position, number, supplier, issue_date, currency, total,
       invoice, created, duplicate_of
FROM invoices WHERE tenant = ? AND problems > 0 AND (? IS NULL OR container_id = ?)
ORDER BY created DESC, id DESC LIMIT ?

-- name: page_invoices_with_problems
-- As page_invoices, only invoices with problems of any severity.
SELECT id, tenant, container_id, position, number, supplier, issue_date, currency, total,
       invoice, created, duplicate_of
FROM invoices
WHERE tenant = :tenant AND problems > 0 AND (:container IS NULL OR container_id = :container)
  AND (:supplier IS NULL OR supplier = :supplier)
  AND (:issued_from IS NULL OR issue_date >= :issued_from)
  AND (:issued_to IS NULL OR issue_date <= :issued_to)
  AND (:total_min IS NULL OR CAST(total AS NUMERIC) >= CAST(:total_min AS NUMERIC))
  AND (:total_max IS NULL OR CAST(total AS NUMERIC) <= CAST(:total_max AS NUMERIC))
  AND (:duplicate IS NULL OR CAST(duplicate_of IS NOT NULL AS INTEGER) = :duplicate)
  AND (created < :before OR (created = :before AND id < :before_id))
ORDER BY created DESC, id DESC LIMIT :limit

-- name: page_invoices_without_problems
-- As page_invoices, only invoices without any problem.
SELECT id, tenant, container_id, position, number, supplier, issue_date, currency, total,
       invoice, created, duplicate_of
FROM invoices
WHERE tenant = :tenant AND problems = 0 AND (:container IS NULL OR container_id = :container)
  AND (:supplier IS NULL OR supplier = :supplier)
  AND (:issued_from IS NULL OR issue_date >= :issued_from)
  AND (:issued_to IS NULL OR issue_date <= :issued_to)
  AND (:total_min IS NULL OR CAST(total AS NUMERIC) >= CAST(:total_min AS NUMERIC))
  AND (:total_max IS NULL OR CAST(total AS NUMERIC) <= CAST(:total_max AS NUMERIC))
  AND (:duplicate IS NULL OR CAST(duplicate_of IS NOT NULL AS INTEGER) = :duplicate)
  AND (created < :before OR (created = :before AND id < :before_id))
ORDER BY created DESC, id DESC LIMIT :limit

-- name: possible_duplicates
-- The earliest invoice stored before this one, from another file of the same supplier,
-- with the same number or the same date and total.
SELECT id FROM invoices
WHERE tenant = :tenant AND supplier = :supplier AND container_id <> :container
  AND (created < :created OR (created = :created AND id < :id))
  AND (number = :number OR (issue_date = :issue_date AND total = :total))
ORDER BY created, id LIMIT 1

-- name: flag_duplicate
-- Mark an invoice as a possible duplicate of an earlier one, unless it is marked already.
UPDATE invoices SET duplicate_of = ? WHERE id = ? AND duplicate_of IS NULL

-- name: get_settings
-- A tenant's settings (export format, webhook), as JSON.
SELECT settings FROM tenant_settings WHERE tenant = ?

-- name: put_settings
-- A tenant's settings, created or replaced.
INSERT INTO tenant_settings (tenant, settings) VALUES (?, ?)
ON CONFLICT (tenant) DO UPDATE SET settings = excluded.settings

-- name: insert_invoice_event
-- An invoice event accepted, by its message id: no container made of it yet.
INSERT INTO invoice_events (message_id, tenant, received) VALUES (?, ?, ?)

-- name: invoice_event
-- An invoice event by message id, of any tenant: whether a container was made of it yet.
SELECT message_id, tenant, container_id, received FROM invoice_events WHERE message_id = ?

-- name: get_invoice_event
-- An invoice event of a tenant by message id, for its status.
SELECT message_id, tenant, container_id, received FROM invoice_events
WHERE message_id = ? AND tenant = ?

-- name: claim_invoice_event
-- The container made of an invoice event, recorded only by the first that claims it.
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
    created_count = (SELECT COUNT(*) FROM invoices WHERE container_id = containers.id),
    review_count = (SELECT COUNT(*) FROM invoices WHERE container_id = containers.id AND errors > 0)
WHERE id = ? AND execution_arn = ? AND state IN ('New', 'Processing')

-- name: put_profile
-- A tenant's profile by name, created or replaced (keeping when it was first made).
INSERT INTO profiles (tenant, name, profile, match_supplier, match_file, created, updated)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (tenant, name) DO UPDATE SET
    profile = excluded.profile, match_supplier = excluded.match_supplier,
    match_file = excluded.match_file, updated = excluded.updated

-- name: get_profile
-- One of a tenant's profiles by name.
SELECT tenant, name, profile, match_supplier, match_file, created, updated
FROM profiles WHERE tenant = ? AND name = ?

-- name: list_profiles
-- A tenant's profiles by name (the order in which automatic matches are tried).
SELECT tenant, name, profile, match_supplier, match_file, created, updated
FROM profiles WHERE tenant = ? ORDER BY name

-- name: profile_matchers
-- What automatic matching needs of a tenant's profiles, in the order they are tried: their
-- patterns, not their content (read for the one that matches).
SELECT name, match_supplier, match_file FROM profiles
WHERE tenant = ? AND (match_file IS NOT NULL OR match_supplier IS NOT NULL) ORDER BY name

-- name: count_other_profiles
-- How many profiles a tenant has besides the one named (which a put would replace).
SELECT COUNT(*) FROM profiles WHERE tenant = ? AND name <> ?

-- name: delete_profile
-- Forget a tenant's profile; containers read with it keep their copy.
DELETE FROM profiles WHERE tenant = ? AND name = ?
