-- FIFO queues: a message's group and deduplication id, and the deduplication ids seen in the
-- last five minutes (kept after the message itself is gone, as SQS keeps them).

ALTER TABLE messages ADD COLUMN group_id TEXT;
ALTER TABLE messages ADD COLUMN dedup_id TEXT;
CREATE INDEX messages_group ON messages (queue_id, group_id, visible_at)
    WHERE group_id IS NOT NULL;

CREATE TABLE fifo_deduplication (
    queue_id    INTEGER NOT NULL,
    dedup_key   TEXT NOT NULL,
    message_id  TEXT NOT NULL,
    sequence    TEXT NOT NULL,
    expires     DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (queue_id, dedup_key)
);
