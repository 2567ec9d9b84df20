-- The store's own bookkeeping, in PostgreSQL's catalogue.

-- name: schema_version_exists
-- Whether the table of applied migrations exists yet, in the schema this database uses.
SELECT 1 FROM pg_tables WHERE schemaname = current_schema() AND tablename = 'schema_version'
