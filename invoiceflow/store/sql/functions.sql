-- name: insert_mapping
INSERT INTO event_source_mappings
    (uuid, queue, function, batch_size, batch_window, max_concurrency, report_failures,
     enabled, modified)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
RETURNING id

-- name: get_mapping
SELECT id, uuid, queue, function, batch_size, batch_window, max_concurrency,
       report_failures, enabled, modified
FROM event_source_mappings WHERE uuid = ?

-- name: list_mappings
SELECT id, uuid, queue, function, batch_size, batch_window, max_concurrency,
       report_failures, enabled, modified
FROM event_source_mappings ORDER BY id

-- name: update_mapping
UPDATE event_source_mappings
SET batch_size = ?, batch_window = ?, max_concurrency = ?, report_failures = ?, enabled = ?,
    modified = ?
WHERE id = ?

-- name: delete_mapping
DELETE FROM event_source_mappings WHERE id = ?

-- name: delete_slots
DELETE FROM mapping_slots WHERE mapping_id = ?

-- name: insert_slot
INSERT INTO mapping_slots (mapping_id, slot) VALUES (?, ?)

-- name: claim_slot
UPDATE mapping_slots SET owner = ?, until = ?
WHERE mapping_id = ? AND slot = (
    SELECT slot FROM mapping_slots
    WHERE mapping_id = ? AND (owner IS NULL OR until < ?)
    ORDER BY slot LIMIT 1
)
RETURNING slot

-- name: release_slot
UPDATE mapping_slots SET owner = NULL, until = NULL
WHERE mapping_id = ? AND slot = ? AND owner = ?
