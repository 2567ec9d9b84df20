-- Containers as every reader sees them: while one is in work, its invoices are counted as
-- they are created (the stored count is written when it ends). Counting on read keeps the
-- container's row out of each invoice's transaction.
CREATE VIEW container_view AS
SELECT id, tenant, source, name, sha256, size, blob, state, reason, parsed_count,
       CASE WHEN state = 'Processing'
            THEN (SELECT COUNT(*) FROM invoices i WHERE i.container_id = containers.id)
            ELSE created_count END AS created_count,
       execution_arn, created, updated, review_count, last_error, attempts,
       last_error_at, profile_name, profile
FROM containers;
