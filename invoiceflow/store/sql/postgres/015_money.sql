-- Invoice totals become NUMERIC: exact, with the scale they were written with (12.50 stays
-- 12.50), compared and summed as money without a cast, and never a float. Every stored
-- total is a decimal the invoice reader produced, so each one converts.
ALTER TABLE invoices ALTER COLUMN total TYPE NUMERIC USING CAST(total AS NUMERIC);
