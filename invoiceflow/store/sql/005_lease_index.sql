-- The executions an owner holds, found without scanning every execution (run_round asks
-- this once per round).
CREATE INDEX executions_lease ON executions (lease_owner) WHERE lease_owner IS NOT NULL;
