-- PostgreSQL versions of engine queries. Those that claim work lock the rows they take
-- with FOR UPDATE SKIP LOCKED: under READ COMMITTED, two workers running the shared
-- UPDATE ... WHERE id IN (SELECT ... LIMIT n) at once would both pick the same rows, the
-- second would wait for the first and then take them again. A locked row is skipped, so
-- neither waits for the other; a row another worker claimed and committed meanwhile is
-- checked again on its new version and left alone. Parameters keep the shared order,
-- numbered where the statement uses them in another.

-- name: claim_executions
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
