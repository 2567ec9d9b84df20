-- Faces: API keys and the first answers to idempotent requests.

-- name: insert_api_key
-- A new API key for a tenant, stored as the SHA-256 digest of the key, never the key itself.
INSERT INTO api_keys (id, tenant, digest, prefix, created) VALUES (?, ?, ?, ?, ?)

-- name: delete_api_keys
-- All of a tenant's keys, active and revoked, forgotten.
DELETE FROM api_keys WHERE tenant = ?

-- name: list_api_keys
-- A tenant's keys, revoked ones included, oldest first: never the key, only its prefix.
SELECT id, tenant, prefix, created, revoked FROM api_keys WHERE tenant = ? ORDER BY created

-- name: revoke_api_key
-- Revoke one of a tenant's keys once: a key already revoked keeps its first revocation time.
UPDATE api_keys SET revoked = ? WHERE id = ? AND tenant = ? AND revoked IS NULL

-- name: api_key_tenant
-- The tenant a presented key's digest belongs to, unless that key was revoked.
SELECT tenant FROM api_keys WHERE digest = ? AND revoked IS NULL

-- name: idempotent_response
-- The first response to a request with this Idempotency-Key, and the digest of that request.
SELECT status, body, headers, digest FROM idempotent_responses
WHERE tenant = ? AND route = ? AND key = ?

-- name: insert_idempotent_response
-- Record the first response to a key: a second request with it breaks the primary key.
INSERT INTO idempotent_responses (tenant, route, key, status, body, headers, created, digest)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)

-- name: page_invoices
-- A page of a tenant's invoices, newest first, filtered; totals compared as exact numbers.
SELECT id, tenant, container_id, position, number, supplier, issue_date, currency, total,
       invoice, created, duplicate_of
FROM invoices
WHERE tenant = :tenant AND (:container IS NULL OR container_id = :container)
  AND (:supplier IS NULL OR supplier = :supplier)
  AND (:issued_from IS NULL OR issue_date >= :issued_from)
  AND (:issued_to IS NULL OR issue_date <= :issued_to)
  AND (:total_min IS NULL OR CAST(total AS NUMERIC) >= CAST(:total_min AS NUMERIC))
  AND (:total_max IS NULL OR CAST(total AS NUMERIC) <= CAST(:total_max AS NUMERIC))
  AND (:duplicate IS NULL OR CAST(duplicate_of IS NOT NULL AS INTEGER) = :duplicate)
  AND (created < :before OR (created = :before AND id < :before_id))
ORDER BY created DESC, id DESC LIMIT :limit

-- name: executions_by_status
-- How many executions there are in each status, for metrics and the info command.
SELECT status, COUNT(*) FROM executions GROUP BY status

-- name: containers_by_state
-- How many containers there are in each state, for metrics and the info command.
SELECT state, COUNT(*) FROM containers GROUP BY state

-- name: invoices_created
-- How many invoices the store holds, of every tenant (none is ever deleted).
SELECT COUNT(*) FROM invoices

-- name: messages_per_queue
-- Every queue by name with the messages it holds, empty queues included.
SELECT q.name, COUNT(m.id) FROM queues q
LEFT JOIN messages m ON m.queue_id = q.id GROUP BY q.id, q.name ORDER BY q.name
