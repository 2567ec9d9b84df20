-- name: insert_queue
-- A new queue, unless the name is taken: then no id comes back and the attributes are compared.
INSERT INTO queues (name, attributes, tags, created, modified) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (name) DO NOTHING
RETURNING id

-- name: get_queue
-- One queue by name (a URL or ARN is reduced to its name first).
SELECT id, name, attributes, tags, created, modified FROM queues WHERE name = ?

-- name: get_queue_by_id
-- One queue by id: a dead letter's source queue, or a move's target, which may be gone.
SELECT id, name, attributes, tags, created, modified FROM queues WHERE id = ?

-- name: list_queues
-- Queue names from the prefix on and after the last name of the previous page, in order.
SELECT name FROM queues WHERE name >= ? AND name > ? ORDER BY name LIMIT ?

-- name: update_queue_attributes
-- A queue's attributes, replaced by the merged set, and when they were changed.
UPDATE queues SET attributes = ?, modified = ? WHERE id = ?

-- name: update_queue_tags
-- A queue's tags, replaced by the merged set (changing tags leaves modified as it was).
UPDATE queues SET tags = ? WHERE id = ?

-- name: delete_queue
-- Forget a queue, after its messages (delete_queue_messages, same transaction).
DELETE FROM queues WHERE id = ?

-- name: delete_queue_messages
-- Every message of a queue that is being deleted, in flight ones included.
DELETE FROM messages WHERE queue_id = ?

-- name: insert_message
-- One message sent to a standard queue, run once per message of a batch.
INSERT INTO messages
    (queue_id, message_id, body, attributes, md5_body, md5_attributes, sent_at, expires_at,
     visible_at, tenant, group_id)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)

-- name: expire_messages
-- A queue's messages past their retention period: reads skip them already, this frees space.
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
-- A message received too often, moved to the dead-letter queue, keeping its first send time.
UPDATE messages
SET queue_id = ?, source_queue_id = ?, expires_at = sent_at + ?, visible_at = ?, receipt = NULL
WHERE id = ?

-- name: delete_message
-- A message, by the receipt of its latest receive: an older receipt deletes nothing.
DELETE FROM messages WHERE id = ? AND queue_id = ? AND receipt = ?

-- name: change_visibility
-- A new visibility timeout for a message in flight, by its latest receipt, unless expired.
UPDATE messages SET visible_at = ?
WHERE id = ? AND queue_id = ? AND receipt = ? AND visible_at > ? AND expires_at > ?

-- name: purge_queue
-- Every message of a queue, in flight ones included (PurgeQueue).
DELETE FROM messages WHERE queue_id = ?

-- name: queue_counts
-- A queue's visible, in-flight and delayed message counts, and its oldest send time.
SELECT
    COALESCE(SUM(CASE WHEN visible_at <= ? THEN 1 ELSE 0 END), 0),
    COALESCE(SUM(CASE WHEN visible_at > ? AND receive_count > 0 THEN 1 ELSE 0 END), 0),
    COALESCE(SUM(CASE WHEN visible_at > ? AND receive_count = 0 THEN 1 ELSE 0 END), 0),
    MIN(sent_at)
FROM messages WHERE queue_id = ? AND expires_at > ?

-- name: next_visible
-- When a queue's next message becomes visible by itself (a delay or visibility timeout ending).
SELECT MIN(visible_at) FROM messages WHERE queue_id = ?

-- name: next_hidden_visible
-- When the earliest of a queue's hidden messages (delayed or in flight) becomes visible.
SELECT MIN(visible_at) FROM messages WHERE queue_id = ? AND visible_at > ?

-- name: all_queues
-- Every queue, by name.
SELECT id, name, attributes, tags, created, modified FROM queues ORDER BY name

-- name: insert_move_task
-- A message move task, running from now, with how many messages it has to move.
INSERT INTO message_move_tasks
    (handle, source_queue_id, destination_queue_id, rate, status, started, to_move)
VALUES (?, ?, ?, ?, 'RUNNING', ?, ?)

-- name: list_move_tasks
-- A source queue's move tasks, newest first (a running one is always the newest).
SELECT handle, source_queue_id, destination_queue_id, rate, status, started, to_move, moved,
       failure_reason
FROM message_move_tasks WHERE source_queue_id = ? ORDER BY started DESC, id DESC LIMIT ?

-- name: running_move_tasks
-- Every move task still running, for the step that carries each a little further.
SELECT id, handle, source_queue_id, destination_queue_id, rate, started, to_move, moved
FROM message_move_tasks WHERE status = 'RUNNING'

-- name: get_move_task
-- A move task by the handle the API gave for it, to cancel it.
SELECT id, source_queue_id, status FROM message_move_tasks WHERE handle = ?

-- name: update_move_task
-- A move task's progress: how many moved, and its status (with why, when it failed).
UPDATE message_move_tasks SET moved = ?, status = ?, failure_reason = ? WHERE id = ?

-- name: movable_messages
-- A source queue's visible messages, oldest sent first: the next a move task takes.
SELECT id, body, attributes, md5_body, md5_attributes, source_queue_id
FROM messages WHERE queue_id = ? AND visible_at <= ? AND expires_at > ?
ORDER BY sent_at, id LIMIT ?

-- name: move_message
-- A message moved to another queue as a new one: new id, sent now, never received.
UPDATE messages
SET queue_id = ?, message_id = ?, sent_at = ?, expires_at = ?, visible_at = ?,
    receive_count = 0, first_receive_at = NULL, receipt = NULL, source_queue_id = NULL
WHERE id = ?

-- name: queues_with_visible_messages
-- The queues that have a message to receive now.
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
-- A tenant's messages in a queue, in arrival order, read without receiving them.
SELECT message_id, body, attributes, sent_at, receive_count, source_queue_id
FROM messages WHERE queue_id = ? AND tenant = ? AND expires_at > ?
ORDER BY id LIMIT ?

-- name: tenant_movable_messages
-- A tenant's visible dead letters that know their source queue: what a redrive takes back.
SELECT id, source_queue_id FROM messages
WHERE queue_id = ? AND tenant = ? AND visible_at <= ? AND expires_at > ?
  AND source_queue_id IS NOT NULL
ORDER BY id LIMIT ?

-- name: queue_names
-- Every queue's name by id, to name the source queue of a peeked message.
SELECT id, name FROM queues

-- name: insert_fifo_message
-- One message sent to a FIFO queue, its id back: the sequence number is made from it.
INSERT INTO messages
    (queue_id, message_id, body, attributes, md5_body, md5_attributes, sent_at, expires_at,
     visible_at, tenant, group_id, dedup_id)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
RETURNING id

-- name: fifo_duplicate
-- The first message sent with a deduplication key, while its interval lasts.
SELECT message_id, sequence FROM fifo_deduplication
WHERE queue_id = ? AND dedup_key = ? AND expires > ?

-- name: remember_fifo_dedup
-- A deduplication key's first message, recorded (or over an expired one) for the interval.
INSERT INTO fifo_deduplication (queue_id, dedup_key, message_id, sequence, expires)
VALUES (?, ?, ?, ?, ?)
ON CONFLICT (queue_id, dedup_key) DO UPDATE
SET message_id = excluded.message_id, sequence = excluded.sequence, expires = excluded.expires

-- name: forget_fifo_dedup
-- A FIFO queue's deduplication records whose interval has ended.
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
-- As receive_messages, in arrival order, and none of a group with a message in flight.
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
