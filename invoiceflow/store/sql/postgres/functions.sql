-- PostgreSQL versions of event source mapping queries.

-- name: claim_slot
-- A free slot, locked while it is taken: the shared form lets two pollers pick the same
-- free slot, the second overwriting the first's claim after waiting for it.
WITH free AS (
    SELECT mapping_id, slot FROM mapping_slots
    WHERE mapping_id = ?4 AND (owner IS NULL OR until < ?5)
    ORDER BY slot LIMIT 1
    FOR UPDATE SKIP LOCKED
)
UPDATE mapping_slots SET owner = ?1, until = ?2
FROM free
WHERE mapping_slots.mapping_id = ?3 AND mapping_slots.mapping_id = free.mapping_id
  AND mapping_slots.slot = free.slot
RETURNING mapping_slots.slot
