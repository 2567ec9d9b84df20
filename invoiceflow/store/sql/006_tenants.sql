-- Tenants: every execution and queue message belongs to one ('' for work nobody scoped),
-- API keys authenticate a tenant's requests, and repeated requests find their first answer.

ALTER TABLE executions ADD COLUMN tenant TEXT NOT NULL DEFAULT '';
CREATE INDEX executions_tenant ON executions (tenant, id);

ALTER TABLE messages ADD COLUMN tenant TEXT NOT NULL DEFAULT '';

-- Keys are shown once and stored as a SHA-256 digest; the prefix lets people tell them apart.
CREATE TABLE api_keys (
    id       TEXT PRIMARY KEY,
    tenant   TEXT NOT NULL,
    digest   TEXT NOT NULL UNIQUE,
    prefix   TEXT NOT NULL,
    created  DOUBLE PRECISION NOT NULL,
    revoked  DOUBLE PRECISION
);
CREATE INDEX api_keys_tenant ON api_keys (tenant);

-- The first response to a request carrying an Idempotency-Key, per tenant and route.
CREATE TABLE idempotent_responses (
    tenant   TEXT NOT NULL,
    route    TEXT NOT NULL,
    key      TEXT NOT NULL,
    status   INTEGER NOT NULL,
    body     TEXT NOT NULL,
    headers  TEXT NOT NULL,
    created  DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (tenant, route, key)
);

-- Invoices submitted one by one over HTTP: accepted with a message id, then processed.
CREATE TABLE invoice_events (
    message_id    TEXT PRIMARY KEY,
    tenant        TEXT NOT NULL,
    container_id  TEXT,
    received      DOUBLE PRECISION NOT NULL
);
