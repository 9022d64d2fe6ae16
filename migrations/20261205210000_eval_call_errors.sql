-- A call refused for good (the request's own fault: HTTP 400, 413, 422, a
-- reply too large) is stored as an answer with its error and score 0, so a
-- resumed run does not ask it again; transient failures are not stored.
ALTER TABLE eval_answers ADD COLUMN call_error TEXT;
