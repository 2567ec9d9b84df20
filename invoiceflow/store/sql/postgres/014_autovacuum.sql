-- Autovacuum and fillfactor for the tables that churn. PostgreSQL's defaults vacuum a table
-- once a fifth of it is dead rows (autovacuum_vacuum_scale_factor 0.2) and then go slowly
-- (cost limit 200, shared by every autovacuum worker): right for tables that mostly grow,
-- wrong for rows that live seconds. A queue-shaped table holds few live rows and many dead
-- ones; until vacuum runs, each receive or claim walks the dead index entries in front of
-- the live ones. These settings take a SHARE UPDATE EXCLUSIVE lock only (reads and writes
-- go on), and fillfactor applies to pages written from now on.
--
-- Tables not named here keep the server's defaults: history, invoices and parsed_invoices
-- only grow (PostgreSQL 13 and later vacuum them after inserts too); queues, state
-- machines, mappings, keys, profiles and settings change rarely; mapping_slots holds a
-- handful of rows in one page, which HOT pruning keeps clean between vacuums.

-- messages: inserted on send, updated on every receive (receive_count, receipt and
-- visible_at), deleted once handled: a message lives seconds. The receive changes
-- visible_at, which messages_ready and messages_group index, so no update is HOT and a
-- fillfactor would only waste space. Vacuum after 1% of the rows (plus 1,000) are dead, at
-- ten times the default speed; analyze after 2%, because a backlog can grow from nothing
-- to millions of rows and the planner must know it.
ALTER TABLE messages SET (
    autovacuum_vacuum_scale_factor = 0.01,
    autovacuum_vacuum_threshold = 1000,
    autovacuum_analyze_scale_factor = 0.02,
    autovacuum_vacuum_cost_limit = 2000
);

-- mailbox: every event an execution is sent (a callback's answer, a timer) is inserted and
-- deleted when the execution consumes it, several per execution; a timer's reset
-- changes deliver_at, which mailbox_due indexes. Pure insert-and-delete churn, as messages.
ALTER TABLE mailbox SET (
    autovacuum_vacuum_scale_factor = 0.01,
    autovacuum_vacuum_threshold = 1000,
    autovacuum_vacuum_cost_limit = 2000
);

-- tasks: handler work inserted, claimed and renewed (visible_at, which tasks_visible
-- indexes: never HOT) and deleted when done. Queue-shaped, as messages.
ALTER TABLE tasks SET (
    autovacuum_vacuum_scale_factor = 0.01,
    autovacuum_vacuum_threshold = 1000,
    autovacuum_vacuum_cost_limit = 2000
);

-- fifo_deduplication: one row per FIFO send (an upsert) kept for five minutes, deleted
-- once it has expired. Insert-and-delete churn in proportion to FIFO traffic.
ALTER TABLE fifo_deduplication SET (
    autovacuum_vacuum_scale_factor = 0.01,
    autovacuum_vacuum_threshold = 1000,
    autovacuum_vacuum_cost_limit = 2000
);

-- executions: kept for good, so the table only grows, but a running execution's row is
-- rewritten about fifteen times in the shipped invoice workflow (a claim, then a save or a
-- release, per round; a wake-up per event; lease renewals). Nearly all of those change
-- wake_at or lease_owner, which the partial indexes executions_wake and executions_lease
-- cover, so they are not HOT: each leaves a dead version in the heap and in all seven
-- indexes, while the claim of due executions reads executions_wake. The default 20% of a
-- large table is millions of dead versions before the first vacuum; 1% keeps that bounded.
-- A fillfactor would help only the few updates that are HOT (renewals), on a table that
-- keeps every row, so none.
ALTER TABLE executions SET (
    autovacuum_vacuum_scale_factor = 0.01,
    autovacuum_vacuum_threshold = 1000,
    autovacuum_analyze_scale_factor = 0.02,
    autovacuum_vacuum_cost_limit = 1000
);

-- task_tokens: one row per callback task, inserted when the task is sent and updated once
-- (status) when it is answered or times out, seconds later. status is not indexed, so the
-- update is HOT when the row's page has room; under load the page fills with newer tokens
-- before the answer comes. Keeping 10% of each page free lets the answer stay HOT.
ALTER TABLE task_tokens SET (fillfactor = 90);

-- containers: one row per received file, updated about five times in its first seconds
-- (its execution, Processing, the parsed count, Done or Error). No index covers those
-- columns (review_count, in containers_needing_review's predicate, changes only for a
-- container that needs review), so they are HOT when the page has room: 10% kept free
-- for them, as for tokens.
ALTER TABLE containers SET (fillfactor = 90)
