-- The invoice pipeline, as 004 creates it for SQLite; a file size is 64-bit here (INTEGER
-- is 32-bit in PostgreSQL, 64-bit in SQLite). Totals stay text, as exact as they came.

CREATE TABLE containers (
    id             TEXT PRIMARY KEY,
    tenant         TEXT NOT NULL,
    source         TEXT NOT NULL,
    name           TEXT NOT NULL,
    sha256         TEXT NOT NULL,
    size           BIGINT NOT NULL,
    blob           TEXT NOT NULL,
    state          TEXT NOT NULL CHECK (state IN ('New', 'Processing', 'Done', 'Error')),
    reason         TEXT,
    parsed_count   INTEGER,
    created_count  INTEGER NOT NULL DEFAULT 0,
    execution_arn  TEXT,
    created        DOUBLE PRECISION NOT NULL,
    updated        DOUBLE PRECISION NOT NULL
);
CREATE INDEX containers_listing ON containers (tenant, created);

-- What parsing a container found, kept so that running it again does not parse again.
CREATE TABLE parsed_invoices (
    container_id  TEXT NOT NULL,
    position      INTEGER NOT NULL,
    invoice       TEXT NOT NULL,
    PRIMARY KEY (container_id, position)
);

-- One invoice per container and position, whatever runs twice.
CREATE TABLE invoices (
    id             TEXT PRIMARY KEY,
    tenant         TEXT NOT NULL,
    container_id   TEXT NOT NULL,
    position       INTEGER NOT NULL,
    number         TEXT NOT NULL,
    supplier       TEXT,
    issue_date     TEXT,
    currency       TEXT,
    total          TEXT,
    invoice        TEXT NOT NULL,
    created        DOUBLE PRECISION NOT NULL,
    duplicate_of   TEXT,
    UNIQUE (container_id, position)
);
CREATE INDEX invoices_listing ON invoices (tenant, created);
CREATE INDEX invoices_supplier ON invoices (tenant, supplier, number);

-- What a tenant wants done after each invoice is created (webhook, export, duplicates).
CREATE TABLE tenant_settings (
    tenant    TEXT PRIMARY KEY,
    settings  TEXT NOT NULL
);
