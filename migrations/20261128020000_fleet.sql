-- Fleets of endpoints (issue 11): which endpoint answered each call (call
-- keys do not include it: a finished call counts wherever it ran), and why
-- the model stopped (`length`: cut off by max_tokens). drafts.status gains
-- the value 'truncated' (the author's answer was cut off by max_tokens).
ALTER TABLE llm_calls ADD COLUMN endpoint TEXT;
ALTER TABLE llm_calls ADD COLUMN finish_reason TEXT;
