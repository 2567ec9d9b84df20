-- name: insert_state_machine
-- A new state machine: its durability is set apart (set_durability), only when given.
INSERT INTO state_machines (arn, name, definition, role_arn, type, created)
VALUES (?, ?, ?, ?, ?, ?)

-- name: get_state_machine
-- One state machine by ARN, with its durability (NULL: the worker's default).
SELECT arn, name, definition, role_arn, type, created, durability
FROM state_machines WHERE arn = ?

-- name: update_state_machine
-- A state machine's definition and role, for executions started from now on.
UPDATE state_machines SET definition = ?, role_arn = ? WHERE arn = ?

-- name: set_durability
-- A state machine's durability, when its Task results commit: 'batched' or 'per-step'.
-- NULL: the machine follows the default of the worker that runs it.
UPDATE state_machines SET durability = ? WHERE arn = ?

-- name: list_state_machines
-- Every state machine, oldest first (ARN breaking ties).
SELECT arn, name, type, created FROM state_machines ORDER BY created, arn

-- name: insert_execution
-- A new running execution, unless its ARN exists: no id back, the caller compares the two.
INSERT INTO executions
    (arn, state_machine_arn, name, status, input, start_date, state, wake_at, parent, tenant)
VALUES (?, ?, ?, 'RUNNING', ?, ?, ?, ?, ?, ?)
ON CONFLICT (arn) DO NOTHING
RETURNING id

-- name: get_execution
-- One execution by ARN, with its tenant (a tenant's client sees only its own).
SELECT id, arn, state_machine_arn, name, status, input, output, error, cause,
       start_date, stop_date, parent, redrive_count, redrive_date, tenant
FROM executions WHERE arn = ?

-- name: list_executions
-- A page of a state machine's executions, newest first, by status if given, before an id.
SELECT id, arn, state_machine_arn, name, status, start_date, stop_date, redrive_count
FROM executions
WHERE state_machine_arn = ? AND (? IS NULL OR status = ?) AND id < ?
ORDER BY id DESC LIMIT ?

-- name: list_tenant_executions
-- As list_executions for one tenant's client, over all its machines or one.
SELECT id, arn, state_machine_arn, name, status, start_date, stop_date, redrive_count
FROM executions
WHERE tenant = ? AND (? IS NULL OR state_machine_arn = ?) AND (? IS NULL OR status = ?)
  AND id < ?
ORDER BY id DESC LIMIT ?

-- name: token_tenant
-- The tenant whose execution a task token's digest belongs to, to refuse other tenants.
SELECT e.tenant FROM task_tokens t JOIN executions e ON e.id = t.execution_id
WHERE t.token_hash = ?

-- name: enqueue
-- An event posted to an execution's mailbox, due at a given time (the wake-up is set apart).
INSERT INTO mailbox (execution_id, deliver_at, timer_id, event) VALUES (?, ?, NULL, ?)

-- name: set_timer
-- An execution's timer, set or moved: one mailbox event per timer id, its time replaced.
INSERT INTO mailbox (execution_id, deliver_at, timer_id, event) VALUES (?, ?, ?, ?)
ON CONFLICT (execution_id, timer_id) WHERE timer_id IS NOT NULL
DO UPDATE SET deliver_at = excluded.deliver_at, event = excluded.event

-- name: cancel_timer
-- An execution's timer, gone before it fires.
DELETE FROM mailbox WHERE execution_id = ? AND timer_id = ?

-- name: wake
-- An execution's next wake-up brought forward to a given time, never put back.
UPDATE executions SET wake_at = ?
WHERE id = ? AND (wake_at IS NULL OR wake_at > ?)

-- name: claim_executions
-- Lease up to a limit of due executions for an owner, earliest due first, leased ones skipped.
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
-- The due events of every execution an owner holds, in the order each was posted.
SELECT m.execution_id, m.id, m.event FROM mailbox m
JOIN executions e ON e.id = m.execution_id
WHERE e.lease_owner = ? AND m.deliver_at <= ?
ORDER BY m.execution_id, m.deliver_at, m.id

-- name: save_execution
-- An execution's state and status after a round, by its owner: the lease goes, wake-up redone.
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
-- An execution given back unchanged by its owner: the lease goes, the wake-up is recomputed.
UPDATE executions
SET wake_at = (SELECT MIN(deliver_at) FROM mailbox WHERE execution_id = executions.id),
    lease_owner = NULL, lease_until = NULL
WHERE id = ? AND lease_owner = ?

-- name: rewake
-- An execution's next wake-up recomputed from its mailbox, whoever holds it.
UPDATE executions
SET wake_at = (SELECT MIN(deliver_at) FROM mailbox WHERE execution_id = executions.id)
WHERE id = ?

-- name: mark_redriven
-- An execution redriven once more: counted, dated, and no longer stopped.
UPDATE executions SET redrive_count = redrive_count + 1, redrive_date = ?, stop_date = NULL
WHERE id = ?

-- name: consume_event
-- A mailbox event the execution has been fed.
DELETE FROM mailbox WHERE id = ?

-- name: drop_mailbox
-- Every event and timer in an execution's mailbox, deleted.
-- An execution that failed where it stood: nothing it was waiting for may wake it.
DELETE FROM mailbox WHERE execution_id = ?

-- name: drop_tasks
-- Every handler task of an execution, leased or not: it failed where it stood.
DELETE FROM tasks WHERE execution_id = ?

-- name: expire_tokens
-- Every open task token of an execution timed out: it failed where it stood.
UPDATE task_tokens SET status = 'TIMED_OUT' WHERE execution_id = ? AND status = 'OPEN'

-- name: settle_execution
-- A round that only fed events an execution no longer running ignores: its record stays
-- as it ended; only the lease goes, and the next wake-up is recomputed.
UPDATE executions
SET wake_at = (SELECT MIN(deliver_at) FROM mailbox WHERE execution_id = executions.id),
    lease_owner = NULL, lease_until = NULL
WHERE id = ? AND lease_owner = ?

-- name: insert_history
-- One page of an execution's history: the events with ids from first_id to last_id.
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
-- A handler task, once per execution and task id: free now, or leased to the execution's owner.
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
-- Lease one due handler task picked by due_tasks, unless another worker took it meanwhile.
UPDATE tasks SET lease_owner = ?, visible_at = ? WHERE id = ? AND visible_at <= ?

-- name: release_task
-- A handler task an owner took but did not settle, free to take from a given time.
UPDATE tasks SET lease_owner = NULL, visible_at = ? WHERE id = ? AND lease_owner = ?

-- name: release_task_of
-- As release_task, the task named by its execution and task id.
UPDATE tasks SET lease_owner = NULL, visible_at = ?
WHERE execution_id = ? AND task_id = ? AND lease_owner = ?

-- name: finish_task
-- A handler task settled by its owner: nothing when another owner took it over.
DELETE FROM tasks WHERE execution_id = ? AND task_id = ? AND lease_owner = ?

-- name: cancel_task
-- A handler task no longer wanted (its state was left), whoever holds it.
DELETE FROM tasks WHERE execution_id = ? AND task_id = ?

-- name: insert_token
-- An open task token for a task, stored as its digest: one per task (a unique key).
INSERT INTO task_tokens (token_hash, execution_id, task_id, status, created)
VALUES (?, ?, ?, 'OPEN', ?)

-- name: close_token
-- Close an open task token with the status given, only once: its execution and task back.
UPDATE task_tokens SET status = ? WHERE token_hash = ? AND status = 'OPEN'
RETURNING execution_id, task_id

-- name: token_status
-- A task token's status and task, to say why it could not be closed.
SELECT status, execution_id, task_id FROM task_tokens WHERE token_hash = ?

-- name: expire_task_token
-- A cancelled task's token timed out, if it was still open.
UPDATE task_tokens SET status = 'TIMED_OUT'
WHERE execution_id = ? AND task_id = ? AND status = 'OPEN'

-- name: leased_to
-- The executions an owner still holds: a round commits only those.
SELECT id FROM executions WHERE lease_owner = ?

-- name: next_wake
-- The earliest wake-up of any execution, leased or not: how far the test clock may skip.
SELECT MIN(wake_at) FROM executions

-- name: next_due
-- The earliest wake-up of an execution no one holds now.
SELECT MIN(wake_at) FROM executions
WHERE wake_at IS NOT NULL AND (lease_until IS NULL OR lease_until < ?)

-- name: next_task_due
-- When the earliest handler task becomes free to take, leased ones included.
SELECT MIN(visible_at) FROM tasks

-- name: renew_execution
-- An execution's lease extended, only for its owner.
UPDATE executions SET lease_until = ? WHERE id = ? AND lease_owner = ?

-- name: renew_task
-- A handler task's lease extended, only for its owner.
UPDATE tasks SET visible_at = ? WHERE execution_id = ? AND task_id = ? AND lease_owner = ?

-- name: release_execution_leases
-- Every execution lease an owner holds, given up as its worker starts and stops.
UPDATE executions SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = ?

-- name: release_task_leases
-- Every handler task an owner holds, free to take from a given time (worker start and stop).
UPDATE tasks SET lease_owner = NULL, visible_at = ? WHERE lease_owner = ?
