-- Supplier profiles kept per tenant (how to read a CSV or JSON shape invoiceflow does not
-- know), each chosen by name, or for a file whose name matches match_file (a glob) or
-- whose content names match_supplier. A container records the profile it was read with,
-- name and content, so that running it again reads it the same way whatever became of the
-- stored profile.

CREATE TABLE profiles (
    tenant          TEXT NOT NULL,
    name            TEXT NOT NULL,
    profile         TEXT NOT NULL,          -- the checked profile, a JSON object
    match_supplier  TEXT,
    match_file      TEXT,
    created         DOUBLE PRECISION NOT NULL,
    updated         DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (tenant, name)
);

ALTER TABLE containers ADD COLUMN profile_name TEXT;
ALTER TABLE containers ADD COLUMN profile TEXT;
