-- The durable engine, as 001 creates it for SQLite; row ids are 64-bit identities here
-- (SQLite's INTEGER PRIMARY KEY is its rowid, numbered for free).

CREATE TABLE state_machines (
    arn         TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    definition  TEXT NOT NULL,
    role_arn    TEXT NOT NULL DEFAULT '',
    type        TEXT NOT NULL DEFAULT 'STANDARD',
    created     DOUBLE PRECISION NOT NULL
);

CREATE TABLE executions (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    arn               TEXT NOT NULL UNIQUE,
    state_machine_arn TEXT NOT NULL REFERENCES state_machines (arn),
    name              TEXT NOT NULL,
    status            TEXT NOT NULL,
    input             TEXT NOT NULL,
    output            TEXT,
    error             TEXT,
    cause             TEXT,
    start_date        DOUBLE PRECISION NOT NULL,
    stop_date         DOUBLE PRECISION,
    state             TEXT NOT NULL,
    wake_at           DOUBLE PRECISION,
    lease_owner       TEXT,
    lease_until       DOUBLE PRECISION,
    parent            TEXT,
    redrive_count     INTEGER NOT NULL DEFAULT 0,
    redrive_date      DOUBLE PRECISION,
    UNIQUE (state_machine_arn, name)
);
CREATE INDEX executions_wake ON executions (wake_at) WHERE wake_at IS NOT NULL;
CREATE INDEX executions_listing ON executions (state_machine_arn, start_date);

-- Events waiting for an execution: external answers now, timers later (deliver_at).
CREATE TABLE mailbox (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    execution_id BIGINT NOT NULL,
    deliver_at   DOUBLE PRECISION NOT NULL,
    timer_id     TEXT,
    event        TEXT NOT NULL
);
CREATE UNIQUE INDEX mailbox_timer ON mailbox (execution_id, timer_id) WHERE timer_id IS NOT NULL;
CREATE INDEX mailbox_due ON mailbox (execution_id, deliver_at);

-- History in pages: the events one committed round produced, as a JSON array.
CREATE TABLE history (
    execution_id BIGINT NOT NULL,
    first_id     INTEGER NOT NULL,
    last_id      INTEGER NOT NULL,
    events       TEXT NOT NULL,
    PRIMARY KEY (execution_id, first_id)
);

-- Handler work not finished by the worker that scheduled it; any worker may take it.
CREATE TABLE tasks (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    execution_id BIGINT NOT NULL,
    task_id      TEXT NOT NULL,
    resource     TEXT NOT NULL,
    payload      TEXT NOT NULL,
    deadline     DOUBLE PRECISION,
    visible_at   DOUBLE PRECISION NOT NULL,
    lease_owner  TEXT,
    UNIQUE (execution_id, task_id)
);
CREATE INDEX tasks_visible ON tasks (visible_at);

-- Callback tokens, stored hashed: a token is a capability for exactly one task attempt.
CREATE TABLE task_tokens (
    token_hash   TEXT PRIMARY KEY,
    execution_id BIGINT NOT NULL,
    task_id      TEXT NOT NULL,
    status       TEXT NOT NULL,
    created      DOUBLE PRECISION NOT NULL,
    UNIQUE (execution_id, task_id)
);
