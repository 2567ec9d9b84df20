-- What a person should look at: an invoice's problems (any severity) and its error-level
-- ones, counted once when the invoice is created so that listings filter on a column, and
-- per container the invoices that carry error-level problems (needs review). And what a
-- post-creation action that keeps failing last said, with its attempt, while it retries.

ALTER TABLE invoices ADD COLUMN problems INTEGER NOT NULL DEFAULT 0;
ALTER TABLE invoices ADD COLUMN errors INTEGER NOT NULL DEFAULT 0;
UPDATE invoices SET
    problems = (SELECT COUNT(*) FROM json_each(invoices.invoice, '$.problems')),
    errors = (SELECT COUNT(*) FROM json_each(invoices.invoice, '$.problems')
              WHERE json_extract(value, '$.severity') = 'error');
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
