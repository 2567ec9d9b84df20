-- Event source mappings, as 003 creates them for SQLite, with a 64-bit identity.

CREATE TABLE event_source_mappings (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    uuid             TEXT NOT NULL UNIQUE,
    queue            TEXT NOT NULL,
    function         TEXT NOT NULL,
    batch_size       INTEGER NOT NULL,
    batch_window     DOUBLE PRECISION NOT NULL,
    max_concurrency  INTEGER,
    report_failures  INTEGER NOT NULL,
    enabled          INTEGER NOT NULL,
    modified         DOUBLE PRECISION NOT NULL,
    UNIQUE (queue, function)
);

-- One row per allowed concurrent batch of a mapping with a maximum concurrency.
CREATE TABLE mapping_slots (
    mapping_id  BIGINT NOT NULL,
    slot        INTEGER NOT NULL,
    owner       TEXT,
    until       DOUBLE PRECISION,
    PRIMARY KEY (mapping_id, slot)
);
