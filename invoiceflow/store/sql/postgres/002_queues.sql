-- Queues with SQS semantics, as 002 creates them for SQLite, with 64-bit identities.

CREATE TABLE queues (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    attributes  TEXT NOT NULL,           -- the settable attributes, a JSON object of strings
    tags        TEXT NOT NULL DEFAULT '{}',
    created     DOUBLE PRECISION NOT NULL,
    modified    DOUBLE PRECISION NOT NULL
);

-- The unique constraint on message_id is named, for 008 to drop.
CREATE TABLE messages (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    queue_id         BIGINT NOT NULL,
    message_id       TEXT NOT NULL CONSTRAINT messages_message_id_key UNIQUE,
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
    source_queue_id  BIGINT             -- set while dead-lettered: the queue it came from
);
CREATE INDEX messages_ready ON messages (queue_id, visible_at);
CREATE INDEX messages_expiry ON messages (queue_id, expires_at);

CREATE TABLE message_move_tasks (
    id                   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    handle               TEXT NOT NULL UNIQUE,
    source_queue_id      BIGINT NOT NULL,
    destination_queue_id BIGINT,         -- NULL: back to each message's own source queue
    rate                 INTEGER,
    status               TEXT NOT NULL,
    started              DOUBLE PRECISION NOT NULL,
    to_move              INTEGER NOT NULL,
    moved                INTEGER NOT NULL DEFAULT 0,
    failure_reason       TEXT
);
-- One running move per source queue, as SQS allows.
CREATE UNIQUE INDEX message_move_running ON message_move_tasks (source_queue_id)
    WHERE status = 'RUNNING';
