-- PostgreSQL versions of face queries: totals compared as exact numbers (NUMERIC; they are
-- stored as the text they came in), and the duplicate flag, a 0 or 1, against an integer.

-- name: page_invoices
SELECT id, tenant, container_id, position, number, supplier, issue_date, currency, total,
       invoice, created, duplicate_of
FROM invoices
WHERE tenant = ? AND (? IS NULL OR container_id = ?) AND (? IS NULL OR supplier = ?)
  AND (? IS NULL OR issue_date >= ?) AND (? IS NULL OR issue_date <= ?)
  AND (? IS NULL OR CAST(total AS NUMERIC) >= CAST(? AS NUMERIC))
  AND (? IS NULL OR CAST(total AS NUMERIC) <= CAST(? AS NUMERIC))
  AND (? IS NULL OR CAST(duplicate_of IS NOT NULL AS INTEGER) = ?)
  AND (created < ? OR (created = ? AND id < ?))
ORDER BY created DESC, id DESC LIMIT ?
