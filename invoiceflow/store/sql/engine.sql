-- name: insert_state_machine
INSERT INTO state_machines (arn, name, definition, role_arn, type, created)
VALUES (?, ?, ?, ?, ?, ?)

-- name: get_state_machine
SELECT arn, name, definition, role_arn, type, created, durability
FROM state_machines WHERE arn = ?

-- name: update_state_machine
UPDATE state_machines SET definition = ?, role_arn = ? WHERE arn = ?

-- name: set_durability
-- NULL: the machine follows the default of the worker that runs it.
UPDATE state_machines SET durability = ? WHERE arn = ?

-- name: list_state_machines
SELECT arn, name, type, created FROM state_machines ORDER BY created, arn

-- name: insert_execution
INSERT INTO executions
    (arn, state_machine_arn, name, status, input, start_date, state, wake_at, parent, tenant)
VALUES (?, ?, ?, 'RUNNING', ?, ?, ?, ?, ?, ?)
ON CONFLICT (arn) DO NOTHING
RETURNING id

-- name: get_execution
SELECT id, arn, state_machine_arn, name, status, input, output, error, cause,
       start_date, stop_date, parent, redrive_count, redrive_date, tenant
FROM executions WHERE arn = ?

-- name: list_executions
SELECT id, arn, state_machine_arn, name, status, start_date, stop_date, redrive_count
FROM executions
WHERE state_machine_arn = ? AND (? IS NULL OR status = ?) AND id < ?
ORDER BY id DESC LIMIT ?

-- name: list_tenant_executions
SELECT id, arn, state_machine_arn, name, status, start_date, stop_date, redrive_count
FROM executions
WHERE tenant = ? AND (? IS NULL OR state_machine_arn = ?) AND (? IS NULL OR status = ?)
  AND id < ?
ORDER BY id DESC LIMIT ?

-- name: token_tenant
SELECT e.tenant FROM task_tokens t JOIN executions e ON e.id = t.execution_id
WHERE t.token_hash = ?

-- name: enqueue
INSERT INTO mailbox (execution_id, deliver_at, timer_id, event) VALUES (?, ?, NULL, ?)

-- name: set_timer
INSERT INTO mailbox (execution_id, deliver_at, timer_id, event) VALUES (?, ?, ?, ?)
ON CONFLICT (execution_id, timer_id) WHERE timer_id IS NOT NULL
DO UPDATE SET deliver_at = excluded.deliver_at, event = excluded.event

-- name: cancel_timer
DELETE FROM mailbox WHERE execution_id = ? AND timer_id = ?

-- name: wake
UPDATE executions SET wake_at = ?
WHERE id = ? AND (wake_at IS NULL OR wake_at > ?)

-- name: claim_executions
UPDATE executions SET lease_owner = ?, lease_until = ?
WHERE id IN (
    SELECT id FROM executions
    WHERE wake_at <= ? AND (lease_until IS NULL OR lease_until < ?)
    ORDER BY wake_at LIMIT ?
)
RETURNING id, arn, name, state_machine_arn, state, start_date, input, parent, redrive_count,
          tenant,
          (SELECT durability FROM state_machines WHERE arn = executions.state_machine_arn)

-- name: claim_execution
-- One execution, claimed to act on it at once (a stop), unless a worker holds it now.
UPDATE executions SET lease_owner = ?, lease_until = ?
WHERE id = ? AND (lease_until IS NULL OR lease_until < ?)
RETURNING id, arn, name, state_machine_arn, state, start_date, input, parent, redrive_count,
          tenant,
          (SELECT durability FROM state_machines WHERE arn = executions.state_machine_arn)

-- name: due_events
SELECT m.execution_id, m.id, m.event FROM mailbox m
JOIN executions e ON e.id = m.execution_id
WHERE e.lease_owner = ? AND m.deliver_at <= ?
ORDER BY m.execution_id, m.deliver_at, m.id

-- name: save_execution
UPDATE executions
SET state = ?, status = ?, output = ?, error = ?, cause = ?, stop_date = ?,
    wake_at = (SELECT MIN(deliver_at) FROM mailbox WHERE execution_id = executions.id),
    lease_owner = NULL, lease_until = NULL
WHERE id = ? AND lease_owner = ?

-- name: save_execution_held
-- A per-step execution's progress, committed while its owner goes on with it: the lease
-- stays, so no other worker takes it between its steps. Its wake-up is worked out when the
-- owner lets it go (a worker that takes it over after a crash finds nothing due, or what
-- came meanwhile).
UPDATE executions SET state = ? WHERE id = ? AND lease_owner = ?

-- name: release_execution
UPDATE executions
SET wake_at = (SELECT MIN(deliver_at) FROM mailbox WHERE execution_id = executions.id),
    lease_owner = NULL, lease_until = NULL
WHERE id = ? AND lease_owner = ?

-- name: rewake
UPDATE executions
SET wake_at = (SELECT MIN(deliver_at) FROM mailbox WHERE execution_id = executions.id)
WHERE id = ?

-- name: mark_redriven
UPDATE executions SET redrive_count = redrive_count + 1, redrive_date = ?, stop_date = NULL
WHERE id = ?

-- name: consume_event
DELETE FROM mailbox WHERE id = ?

-- name: drop_mailbox
-- An execution that failed where it stood: nothing it was waiting for may wake it.
DELETE FROM mailbox WHERE execution_id = ?

-- name: drop_tasks
DELETE FROM tasks WHERE execution_id = ?

-- name: expire_tokens
UPDATE task_tokens SET status = 'TIMED_OUT' WHERE execution_id = ? AND status = 'OPEN'

-- name: settle_execution
-- A round that only fed events an execution no longer running ignores: its record stays
-- as it ended; only the lease goes, and the next wake-up is recomputed.
UPDATE executions
SET wake_at = (SELECT MIN(deliver_at) FROM mailbox WHERE execution_id = executions.id),
    lease_owner = NULL, lease_until = NULL
WHERE id = ? AND lease_owner = ?

-- name: insert_history
INSERT INTO history (execution_id, first_id, last_id, events) VALUES (?, ?, ?, ?)

-- name: history
-- The pages holding events (after, until]: a page of a history reads only its own rows.
SELECT events FROM history
WHERE execution_id = ? AND last_id > ? AND first_id <= ? ORDER BY first_id

-- name: history_last
-- The id of an execution's newest event, where a reverse listing starts.
SELECT last_id FROM history WHERE execution_id = ? ORDER BY first_id DESC LIMIT 1

-- name: history_reverse
-- The pages holding events [from, before), newest first.
SELECT events FROM history
WHERE execution_id = ? AND first_id < ? AND last_id >= ? ORDER BY first_id DESC

-- name: insert_task
INSERT INTO tasks (execution_id, task_id, resource, payload, deadline, visible_at, lease_owner)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (execution_id, task_id) DO NOTHING

-- name: due_tasks
-- Handler tasks free to take, oldest first, with their tenant, and at most a share (the
-- second parameter) of each tenant's: a worker takes those whose tenant has room in its
-- pool, and one tenant's backlog hides no other's.
SELECT id, execution_id, task_id, resource, payload, deadline, tenant FROM (
    SELECT t.id, t.execution_id, t.task_id, t.resource, t.payload, t.deadline, t.visible_at,
           e.tenant, ROW_NUMBER() OVER (PARTITION BY e.tenant ORDER BY t.visible_at) AS n
    FROM tasks t JOIN executions e ON e.id = t.execution_id
    WHERE t.visible_at <= ?
) WHERE n <= ? ORDER BY visible_at LIMIT ?

-- name: claim_task
UPDATE tasks SET lease_owner = ?, visible_at = ? WHERE id = ? AND visible_at <= ?

-- name: release_task
UPDATE tasks SET lease_owner = NULL, visible_at = ? WHERE id = ? AND lease_owner = ?

-- name: release_task_of
UPDATE tasks SET lease_owner = NULL, visible_at = ?
WHERE execution_id = ? AND task_id = ? AND lease_owner = ?

-- name: finish_task
DELETE FROM tasks WHERE execution_id = ? AND task_id = ? AND lease_owner = ?

-- name: cancel_task
DELETE FROM tasks WHERE execution_id = ? AND task_id = ?

-- name: insert_token
INSERT INTO task_tokens (token_hash, execution_id, task_id, status, created)
VALUES (?, ?, ?, 'OPEN', ?)

-- name: close_token
UPDATE task_tokens SET status = ? WHERE token_hash = ? AND status = 'OPEN'
RETURNING execution_id, task_id

-- name: token_status
SELECT status, execution_id, task_id FROM task_tokens WHERE token_hash = ?

-- name: expire_task_token
UPDATE task_tokens SET status = 'TIMED_OUT'
WHERE execution_id = ? AND task_id = ? AND status = 'OPEN'

-- name: leased_to
SELECT id FROM executions WHERE lease_owner = ?

-- name: next_wake
SELECT MIN(wake_at) FROM executions

-- name: next_due
SELECT MIN(wake_at) FROM executions
WHERE wake_at IS NOT NULL AND (lease_until IS NULL OR lease_until < ?)

-- name: next_task_due
SELECT MIN(visible_at) FROM tasks

-- name: renew_execution
UPDATE executions SET lease_until = ? WHERE id = ? AND lease_owner = ?

-- name: renew_task
UPDATE tasks SET visible_at = ? WHERE execution_id = ? AND task_id = ? AND lease_owner = ?

-- name: release_execution_leases
UPDATE executions SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = ?

-- name: release_task_leases
UPDATE tasks SET lease_owner = NULL, visible_at = ? WHERE lease_owner = ?
