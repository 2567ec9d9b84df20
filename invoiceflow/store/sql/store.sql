-- The store's own bookkeeping.

-- name: schema_version_exists
-- Whether the table of applied migrations exists yet (not in a database never migrated).
SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'
