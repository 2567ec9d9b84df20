-- A message's id is a random UUID that nothing looks up: receipt handles name the row.
-- SQLite rebuilds the table to lose the unique index; PostgreSQL drops the constraint.
ALTER TABLE messages DROP CONSTRAINT messages_message_id_key;
