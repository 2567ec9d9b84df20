-- A message's id is a random UUID that nothing looks up: receipt handles name the row.
-- Its unique index cost every send and delete a write to a random leaf page, up to ten
-- pages per batch, for a collision 122 random bits already rule out. The table is rebuilt
-- because a column's UNIQUE cannot be dropped in place.

CREATE TABLE messages_rebuilt (
    id               INTEGER PRIMARY KEY,
    queue_id         INTEGER NOT NULL,
    message_id       TEXT NOT NULL,
    body             TEXT NOT NULL,
    attributes       TEXT,
    md5_body         TEXT NOT NULL,
    md5_attributes   TEXT,
    sent_at          DOUBLE PRECISION NOT NULL,
    expires_at       DOUBLE PRECISION NOT NULL,
    visible_at       DOUBLE PRECISION NOT NULL,
    receive_count    INTEGER NOT NULL DEFAULT 0,
    first_receive_at DOUBLE PRECISION,
    receipt          TEXT,
    source_queue_id  INTEGER,           -- set while dead-lettered: the queue it came from
    tenant           TEXT NOT NULL DEFAULT '',
    group_id         TEXT,
    dedup_id         TEXT
);
INSERT INTO messages_rebuilt
    (id, queue_id, message_id, body, attributes, md5_body, md5_attributes, sent_at,
     expires_at, visible_at, receive_count, first_receive_at, receipt, source_queue_id,
     tenant, group_id, dedup_id)
SELECT id, queue_id, message_id, body, attributes, md5_body, md5_attributes, sent_at,
       expires_at, visible_at, receive_count, first_receive_at, receipt, source_queue_id,
       tenant, group_id, dedup_id
FROM messages;
DROP TABLE messages;
ALTER TABLE messages_rebuilt RENAME TO messages;
CREATE INDEX messages_ready ON messages (queue_id, visible_at);
CREATE INDEX messages_expiry ON messages (queue_id, expires_at);
CREATE INDEX messages_group ON messages (queue_id, group_id, visible_at)
    WHERE group_id IS NOT NULL;
