-- As 010 for SQLite: problems counted per invoice, review counts per container, the last
-- error of a post-creation action. The invoice's JSON is read with PostgreSQL's jsonb
-- functions; problems that are not an array count as none.

ALTER TABLE invoices ADD COLUMN problems INTEGER NOT NULL DEFAULT 0;
ALTER TABLE invoices ADD COLUMN errors INTEGER NOT NULL DEFAULT 0;
UPDATE invoices SET
    problems = (SELECT COUNT(*) FROM jsonb_array_elements(
                    CASE WHEN jsonb_typeof(invoices.invoice::jsonb -> 'problems') = 'array'
                         THEN invoices.invoice::jsonb -> 'problems' ELSE '[]'::jsonb END)),
    errors = (SELECT COUNT(*) FROM jsonb_array_elements(
                  CASE WHEN jsonb_typeof(invoices.invoice::jsonb -> 'problems') = 'array'
                       THEN invoices.invoice::jsonb -> 'problems' ELSE '[]'::jsonb END) AS p (value)
              WHERE p.value ->> 'severity' = 'error');
-- Listings of the rare invoices with problems walk only those, newest first.
CREATE INDEX invoices_with_problems ON invoices (tenant, created) WHERE problems > 0;

ALTER TABLE containers ADD COLUMN review_count INTEGER NOT NULL DEFAULT 0;
UPDATE containers SET review_count =
    (SELECT COUNT(*) FROM invoices WHERE container_id = containers.id AND errors > 0)
WHERE state IN ('Done', 'Error');
CREATE INDEX containers_needing_review ON containers (tenant, created) WHERE review_count > 0;

ALTER TABLE containers ADD COLUMN last_error TEXT;
ALTER TABLE containers ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE containers ADD COLUMN last_error_at DOUBLE PRECISION;
