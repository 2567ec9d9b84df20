-- The SHA-256 of the request an Idempotency-Key first came with (its body, and the file's
-- name for an upload), so that the key reused for another request is refused rather than
-- answered with the first response. Rows from before have none and keep replaying.
ALTER TABLE idempotent_responses ADD COLUMN digest TEXT;
