-- PostgreSQL versions of queue queries. A receive locks the messages it takes with
-- FOR UPDATE SKIP LOCKED (see engine.sql for why a plain UPDATE ... IN (SELECT ...) is not
-- enough); what a FIFO queue promises per group and per deduplication id needs more than
-- a row lock, so those queries first take an advisory lock for the transaction, in a
-- statement of its own: the statement after it sees whatever the previous holder
-- committed. Parameters keep the shared order, numbered where a statement reorders them.

-- name: receive_messages
-- As shared, but the messages are locked FOR UPDATE SKIP LOCKED: a concurrent receive skips them.
WITH ready AS (
    SELECT id FROM messages
    WHERE queue_id = ?4 AND visible_at <= ?5 AND expires_at > ?6 AND receive_count < ?7
    ORDER BY visible_at, id LIMIT ?8
    FOR UPDATE SKIP LOCKED
)
UPDATE messages
SET receive_count = receive_count + 1, receipt = ?1, visible_at = ?2,
    first_receive_at = COALESCE(first_receive_at, ?3)
FROM ready WHERE messages.id = ready.id
RETURNING messages.id, message_id, body, attributes, md5_body, md5_attributes, sent_at,
          receive_count, first_receive_at, source_queue_id, group_id, dedup_id

-- name: fifo_receive_messages
-- One receive at a time per FIFO queue: another receive's messages in flight, committed
-- before this one gets the lock, hold their groups back. Skipping locked rows alone would
-- let two receives take two messages of one group.
SELECT pg_advisory_xact_lock(hashtextextended('invoiceflow fifo receive ' || CAST(?4 AS TEXT), 0));
WITH ready AS (
    SELECT id FROM messages m
    WHERE queue_id = ?4 AND visible_at <= ?5 AND expires_at > ?6 AND receive_count < ?7
      AND NOT EXISTS (SELECT 1 FROM messages f
                      WHERE f.queue_id = m.queue_id AND f.group_id = m.group_id
                        AND f.receipt IS NOT NULL AND f.visible_at > ?8)
    ORDER BY id LIMIT ?9
    FOR UPDATE SKIP LOCKED
)
UPDATE messages
SET receive_count = receive_count + 1, receipt = ?1, visible_at = ?2,
    first_receive_at = COALESCE(first_receive_at, ?3)
FROM ready WHERE messages.id = ready.id
RETURNING messages.id, message_id, body, attributes, md5_body, md5_attributes, sent_at,
          receive_count, first_receive_at, source_queue_id, group_id, dedup_id

-- name: fifo_duplicate
-- One send at a time per FIFO queue and deduplication key, until the first commits: the
-- second then finds the first's record and answers as its duplicate.
SELECT pg_advisory_xact_lock(hashtextextended(
    'invoiceflow fifo dedup ' || CAST(?1 AS TEXT) || ' ' || ?2, 0));
SELECT message_id, sequence FROM fifo_deduplication
WHERE queue_id = ?1 AND dedup_key = ?2 AND expires > ?3

-- name: dead_letter
-- Only a message still visible in the queue it was found in: another receive may have
-- moved or taken it since it was read.
UPDATE messages
SET queue_id = ?1, source_queue_id = ?2, expires_at = sent_at + ?3, visible_at = ?4,
    receipt = NULL
WHERE id = ?5 AND queue_id = ?2 AND visible_at <= ?4

-- name: movable_messages
-- Locked until the move commits: two workers carrying the same move task on move
-- different messages, never one twice.
SELECT id, body, attributes, md5_body, md5_attributes, source_queue_id
FROM messages WHERE queue_id = ? AND visible_at <= ? AND expires_at > ?
ORDER BY sent_at, id LIMIT ?
FOR UPDATE SKIP LOCKED

-- name: tenant_movable_messages
-- As shared, FOR UPDATE SKIP LOCKED: two redrives of one dead-letter queue move a message once.
SELECT id, source_queue_id FROM messages
WHERE queue_id = ? AND tenant = ? AND visible_at <= ? AND expires_at > ?
  AND source_queue_id IS NOT NULL
ORDER BY id LIMIT ?
FOR UPDATE SKIP LOCKED
