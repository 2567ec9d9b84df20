-- PostgreSQL versions of engine queries. Those that claim work lock the rows they take
-- with FOR UPDATE SKIP LOCKED: under READ COMMITTED, two workers running the shared
-- UPDATE ... WHERE id IN (SELECT ... LIMIT n) at once would both pick the same rows, the
-- second would wait for the first and then take them again. A locked row is skipped, so
-- neither waits for the other; a row another worker claimed and committed meanwhile is
-- checked again on its new version and left alone. Parameters keep the shared order,
-- numbered where the statement uses them in another.

-- name: claim_executions
-- As shared, the due rows locked FOR UPDATE SKIP LOCKED: two workers never claim one row.
WITH due AS (
    SELECT id FROM executions
    WHERE wake_at <= ?3 AND (lease_until IS NULL OR lease_until < ?4)
    ORDER BY wake_at LIMIT ?5
    FOR UPDATE SKIP LOCKED
)
UPDATE executions SET lease_owner = ?1, lease_until = ?2
FROM due WHERE executions.id = due.id
RETURNING executions.id, arn, name, state_machine_arn, state, start_date, input, parent,
          redrive_count, tenant,
          (SELECT durability FROM state_machines WHERE arn = executions.state_machine_arn)

-- name: claim_execution
-- One execution, claimed to act on it at once (a stop), unless a worker holds it now (its
-- lease, or a claim not yet committed).
WITH free AS (
    SELECT id FROM executions
    WHERE id = ?3 AND (lease_until IS NULL OR lease_until < ?4)
    FOR UPDATE SKIP LOCKED
)
UPDATE executions SET lease_owner = ?1, lease_until = ?2
FROM free WHERE executions.id = free.id
RETURNING executions.id, arn, name, state_machine_arn, state, start_date, input, parent,
          redrive_count, tenant,
          (SELECT durability FROM state_machines WHERE arn = executions.state_machine_arn)

-- name: due_tasks
-- As shared; PostgreSQL before 16 wants the subquery named.
SELECT id, execution_id, task_id, resource, payload, deadline, tenant FROM (
    SELECT t.id, t.execution_id, t.task_id, t.resource, t.payload, t.deadline, t.visible_at,
           e.tenant, ROW_NUMBER() OVER (PARTITION BY e.tenant ORDER BY t.visible_at) AS n
    FROM tasks t JOIN executions e ON e.id = t.execution_id
    WHERE t.visible_at <= ?
) AS due WHERE n <= ? ORDER BY visible_at LIMIT ?

-- name: claim_task
-- due_tasks only reads (a window function cannot lock); the task is taken here, unless
-- another worker is taking it right now (locked: skipped, not waited for) or has taken it.
WITH free AS (
    SELECT id FROM tasks WHERE id = ?3 AND visible_at <= ?4
    FOR UPDATE SKIP LOCKED
)
UPDATE tasks SET lease_owner = ?1, visible_at = ?2
FROM free WHERE tasks.id = free.id

-- An execution's next wake-up, set from two sides: "wake" when an event is posted to it,
-- and the statements that recompute it from the mailbox when its owner lets it go. Under
-- READ COMMITTED these race where SQLite runs them one after the other: a recomputing
-- UPDATE whose snapshot predates a posted event's commit would not see the event and
-- would overwrite the wake-up. So "wake" always writes (and so locks) the row, even when
-- the wake-up it finds is earlier already, and each recomputing statement first locks the
-- row in a statement of its own: the UPDATE after it takes its snapshot once any posting
-- transaction holding the row has committed, and a later one waits for ours and then
-- sees the wake-up we left.

-- name: wake
-- As shared, but the row is always written (so locked), even when its wake-up is earlier.
UPDATE executions
SET wake_at = CASE WHEN wake_at IS NULL OR wake_at > ?3 THEN ?1 ELSE wake_at END
WHERE id = ?2

-- name: save_execution
-- As shared, the row first locked FOR UPDATE in a statement of its own: no posted wake-up is lost.
SELECT 1 FROM executions WHERE id = ?7 FOR UPDATE;
UPDATE executions
SET state = ?1, status = ?2, output = ?3, error = ?4, cause = ?5, stop_date = ?6,
    wake_at = (SELECT MIN(deliver_at) FROM mailbox WHERE execution_id = executions.id),
    lease_owner = NULL, lease_until = NULL
WHERE id = ?7 AND lease_owner = ?8

-- name: release_execution
-- As shared, the row first locked FOR UPDATE in a statement of its own: no posted wake-up is lost.
SELECT 1 FROM executions WHERE id = ?1 FOR UPDATE;
UPDATE executions
SET wake_at = (SELECT MIN(deliver_at) FROM mailbox WHERE execution_id = executions.id),
    lease_owner = NULL, lease_until = NULL
WHERE id = ?1 AND lease_owner = ?2

-- name: rewake
-- As shared, the row first locked FOR UPDATE in a statement of its own: no posted wake-up is lost.
SELECT 1 FROM executions WHERE id = ?1 FOR UPDATE;
UPDATE executions
SET wake_at = (SELECT MIN(deliver_at) FROM mailbox WHERE execution_id = executions.id)
WHERE id = ?1

-- name: settle_execution
-- A round that only fed events an execution no longer running ignores: its record stays
-- as it ended; only the lease goes, and the next wake-up is recomputed.
SELECT 1 FROM executions WHERE id = ?1 FOR UPDATE;
UPDATE executions
SET wake_at = (SELECT MIN(deliver_at) FROM mailbox WHERE execution_id = executions.id),
    lease_owner = NULL, lease_until = NULL
WHERE id = ?1 AND lease_owner = ?2

-- A renewal never waits for a row lock. It runs on the renewer's thread while the same
-- owner commits on others (a round: its tasks, then its execution; a handler's answer: its
-- task, then a wake-up of its execution), and it holds executions and tasks together: had
-- it waited, the two would deadlock, and PostgreSQL would break the tie by failing either
-- one, the round's commit included. A row locked now is being written (by its owner's
-- commit, or a wake-up posted to it) and nobody else may take it while its lease lasts:
-- the next renewal, a third of a lease later, extends it.

-- name: renew_execution
-- As shared, FOR UPDATE SKIP LOCKED: a row being written now is left for the next renewal.
UPDATE executions SET lease_until = ?1
WHERE id = (SELECT id FROM executions WHERE id = ?2 AND lease_owner = ?3 FOR UPDATE SKIP LOCKED)

-- name: renew_task
-- As shared, FOR UPDATE SKIP LOCKED: a row being written now is left for the next renewal.
UPDATE tasks SET visible_at = ?1
WHERE id = (
    SELECT id FROM tasks WHERE execution_id = ?2 AND task_id = ?3 AND lease_owner = ?4
    FOR UPDATE SKIP LOCKED
)

-- A round's commit finds what its owner still holds and locks it, in one order, until the
-- commit ends. Read without a lock, under READ COMMITTED, an execution whose lease ran out
-- while the commit was under way (a host cut off for seconds, then back) could be claimed
-- and advanced by another worker meanwhile, and the commit would then consume its events,
-- add its tasks and timers and write its history over the new owner's: only the saving of
-- its state checks the owner. Locked, it is skipped by every claim until the commit ends.

-- name: leased_to
-- As shared, each row locked FOR UPDATE (in id order) for the commit that asks.
SELECT id FROM executions WHERE lease_owner = ? ORDER BY id FOR UPDATE
