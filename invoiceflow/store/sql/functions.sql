-- name: insert_mapping
-- A new event source mapping from a queue to a function: one per pair (a unique key).
INSERT INTO event_source_mappings
    (uuid, queue, function, batch_size, batch_window, max_concurrency, report_failures,
     enabled, modified)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
RETURNING id

-- name: get_mapping
-- One event source mapping by its UUID, the id the API shows.
SELECT id, uuid, queue, function, batch_size, batch_window, max_concurrency,
       report_failures, enabled, modified
FROM event_source_mappings WHERE uuid = ?

-- name: list_mappings
-- Every event source mapping, in the order they were made.
SELECT id, uuid, queue, function, batch_size, batch_window, max_concurrency,
       report_failures, enabled, modified
FROM event_source_mappings ORDER BY id

-- name: update_mapping
-- A mapping's settings changed, queue and function kept: its slots are then made anew.
UPDATE event_source_mappings
SET batch_size = ?, batch_window = ?, max_concurrency = ?, report_failures = ?, enabled = ?,
    modified = ?
WHERE id = ?

-- name: delete_mapping
-- Forget a mapping, in the transaction that deletes its concurrency slots (delete_slots).
DELETE FROM event_source_mappings WHERE id = ?

-- name: delete_slots
-- All of a mapping's concurrency slots, held or free: before they are made anew, or it goes.
DELETE FROM mapping_slots WHERE mapping_id = ?

-- name: insert_slot
-- One concurrency slot of a mapping, free: a mapping has one per batch it may run at once.
INSERT INTO mapping_slots (mapping_id, slot) VALUES (?, ?)

-- name: claim_slot
-- A mapping's lowest free slot (never held, or its hold ran out), taken until a given time.
UPDATE mapping_slots SET owner = ?, until = ?
WHERE mapping_id = ? AND slot = (
    SELECT slot FROM mapping_slots
    WHERE mapping_id = ? AND (owner IS NULL OR until < ?)
    ORDER BY slot LIMIT 1
)
RETURNING slot

-- name: release_slot
-- Give a slot back once its batch is done, only if this poller still holds it.
UPDATE mapping_slots SET owner = NULL, until = NULL
WHERE mapping_id = ? AND slot = ? AND owner = ?
