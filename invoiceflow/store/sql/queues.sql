-- name: insert_queue
INSERT INTO queues (name, attributes, tags, created, modified) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (name) DO NOTHING
RETURNING id

-- name: get_queue
SELECT id, name, attributes, tags, created, modified FROM queues WHERE name = ?

-- name: get_queue_by_id
SELECT id, name, attributes, tags, created, modified FROM queues WHERE id = ?

-- name: list_queues
SELECT name FROM queues WHERE name >= ? AND name > ? ORDER BY name LIMIT ?

-- name: update_queue_attributes
UPDATE queues SET attributes = ?, modified = ? WHERE id = ?

-- name: update_queue_tags
UPDATE queues SET tags = ? WHERE id = ?

-- name: delete_queue
DELETE FROM queues WHERE id = ?

-- name: delete_queue_messages
DELETE FROM messages WHERE queue_id = ?

-- name: insert_message
INSERT INTO messages
    (queue_id, message_id, body, attributes, md5_body, md5_attributes, sent_at, expires_at,
     visible_at, tenant, group_id)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)

-- name: expire_messages
DELETE FROM messages WHERE queue_id = ? AND expires_at <= ?

-- name: next_ready
-- The messages a receive would take next, with how often each was received.
SELECT id, receive_count FROM messages
WHERE queue_id = ? AND visible_at <= ? AND expires_at > ?
ORDER BY visible_at, id LIMIT ?

-- name: receive_messages
-- Takes the next messages received fewer than the given number of times, as one statement.
UPDATE messages
SET receive_count = receive_count + 1, receipt = ?, visible_at = ?,
    first_receive_at = COALESCE(first_receive_at, ?)
WHERE id IN (SELECT id FROM messages
             WHERE queue_id = ? AND visible_at <= ? AND expires_at > ? AND receive_count < ?
             ORDER BY visible_at, id LIMIT ?)
RETURNING id, message_id, body, attributes, md5_body, md5_attributes, sent_at, receive_count,
          first_receive_at, source_queue_id, group_id, dedup_id

-- name: dead_letter
UPDATE messages
SET queue_id = ?, source_queue_id = ?, expires_at = sent_at + ?, visible_at = ?, receipt = NULL
WHERE id = ?

-- name: delete_message
DELETE FROM messages WHERE id = ? AND queue_id = ? AND receipt = ?

-- name: change_visibility
UPDATE messages SET visible_at = ?
WHERE id = ? AND queue_id = ? AND receipt = ? AND visible_at > ? AND expires_at > ?

-- name: purge_queue
DELETE FROM messages WHERE queue_id = ?

-- name: queue_counts
SELECT
    COALESCE(SUM(CASE WHEN visible_at <= ? THEN 1 ELSE 0 END), 0),
    COALESCE(SUM(CASE WHEN visible_at > ? AND receive_count > 0 THEN 1 ELSE 0 END), 0),
    COALESCE(SUM(CASE WHEN visible_at > ? AND receive_count = 0 THEN 1 ELSE 0 END), 0),
    MIN(sent_at)
FROM messages WHERE queue_id = ? AND expires_at > ?

-- name: next_visible
SELECT MIN(visible_at) FROM messages WHERE queue_id = ?

-- name: all_queues
SELECT id, name, attributes, tags, created, modified FROM queues ORDER BY name

-- name: insert_move_task
INSERT INTO message_move_tasks
    (handle, source_queue_id, destination_queue_id, rate, status, started, to_move)
VALUES (?, ?, ?, ?, 'RUNNING', ?, ?)

-- name: list_move_tasks
SELECT handle, source_queue_id, destination_queue_id, rate, status, started, to_move, moved,
       failure_reason
FROM message_move_tasks WHERE source_queue_id = ? ORDER BY started DESC, id DESC LIMIT ?

-- name: running_move_tasks
SELECT id, handle, source_queue_id, destination_queue_id, rate, started, to_move, moved
FROM message_move_tasks WHERE status = 'RUNNING'

-- name: get_move_task
SELECT id, source_queue_id, status FROM message_move_tasks WHERE handle = ?

-- name: update_move_task
UPDATE message_move_tasks SET moved = ?, status = ?, failure_reason = ? WHERE id = ?

-- name: movable_messages
SELECT id, body, attributes, md5_body, md5_attributes, source_queue_id
FROM messages WHERE queue_id = ? AND visible_at <= ? AND expires_at > ?
ORDER BY sent_at, id LIMIT ?

-- name: move_message
UPDATE messages
SET queue_id = ?, message_id = ?, sent_at = ?, expires_at = ?, visible_at = ?,
    receive_count = 0, first_receive_at = NULL, receipt = NULL, source_queue_id = NULL
WHERE id = ?

-- name: queues_with_visible_messages
SELECT q.id, q.name, q.attributes, q.tags, q.created, q.modified FROM queues q
WHERE EXISTS (SELECT 1 FROM messages m WHERE m.queue_id = q.id AND m.visible_at <= ?)

-- name: tenant_queue_counts
-- A tenant's messages in every queue that holds some, in one pass.
SELECT
    queue_id,
    COALESCE(SUM(CASE WHEN visible_at <= ? THEN 1 ELSE 0 END), 0),
    COALESCE(SUM(CASE WHEN visible_at > ? AND receive_count > 0 THEN 1 ELSE 0 END), 0),
    COALESCE(SUM(CASE WHEN visible_at > ? AND receive_count = 0 THEN 1 ELSE 0 END), 0),
    MIN(sent_at)
FROM messages WHERE tenant = ? AND expires_at > ?
GROUP BY queue_id

-- name: peek_messages
SELECT message_id, body, attributes, sent_at, receive_count, source_queue_id
FROM messages WHERE queue_id = ? AND tenant = ? AND expires_at > ?
ORDER BY id LIMIT ?

-- name: tenant_movable_messages
SELECT id, source_queue_id FROM messages
WHERE queue_id = ? AND tenant = ? AND visible_at <= ? AND expires_at > ?
  AND source_queue_id IS NOT NULL
ORDER BY id LIMIT ?

-- name: queue_names
SELECT id, name FROM queues

-- name: insert_fifo_message
INSERT INTO messages
    (queue_id, message_id, body, attributes, md5_body, md5_attributes, sent_at, expires_at,
     visible_at, tenant, group_id, dedup_id)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
RETURNING id

-- name: fifo_duplicate
SELECT message_id, sequence FROM fifo_deduplication
WHERE queue_id = ? AND dedup_key = ? AND expires > ?

-- name: remember_fifo_dedup
INSERT INTO fifo_deduplication (queue_id, dedup_key, message_id, sequence, expires)
VALUES (?, ?, ?, ?, ?)
ON CONFLICT (queue_id, dedup_key) DO UPDATE
SET message_id = excluded.message_id, sequence = excluded.sequence, expires = excluded.expires

-- name: forget_fifo_dedup
DELETE FROM fifo_deduplication WHERE queue_id = ? AND expires <= ?

-- name: fifo_next_ready
-- The messages a receive would take next from a FIFO queue: in order, and none of a group
-- that has a message in flight.
SELECT id, receive_count FROM messages m
WHERE queue_id = ? AND visible_at <= ? AND expires_at > ?
  AND NOT EXISTS (SELECT 1 FROM messages f
                  WHERE f.queue_id = m.queue_id AND f.group_id = m.group_id
                    AND f.receipt IS NOT NULL AND f.visible_at > ?)
ORDER BY id LIMIT ?

-- name: fifo_receive_messages
UPDATE messages
SET receive_count = receive_count + 1, receipt = ?, visible_at = ?,
    first_receive_at = COALESCE(first_receive_at, ?)
WHERE id IN (SELECT id FROM messages m
             WHERE queue_id = ? AND visible_at <= ? AND expires_at > ? AND receive_count < ?
               AND NOT EXISTS (SELECT 1 FROM messages f
                               WHERE f.queue_id = m.queue_id AND f.group_id = m.group_id
                                 AND f.receipt IS NOT NULL AND f.visible_at > ?)
             ORDER BY id LIMIT ?)
RETURNING id, message_id, body, attributes, md5_body, md5_attributes, sent_at, receive_count,
          first_receive_at, source_queue_id, group_id, dedup_id
