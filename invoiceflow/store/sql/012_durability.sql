-- A state machine's durability: when its Task results are committed ('batched': with the
-- rest of the worker's round; 'per-step': before the next state starts). NULL: the
-- machine follows the default of the worker that runs it.
ALTER TABLE state_machines ADD COLUMN durability TEXT
    CHECK (durability IS NULL OR durability IN ('batched', 'per-step'));
