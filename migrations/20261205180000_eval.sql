-- Evaluation runs: a model answering a fixed data set, each answer scored by
-- its bootcamp's verify_score. The records are copied in, so a run resumes
-- without its data files; an answer is stored as soon as its call finishes
-- (score NULL until scored), so a resumed run repeats no finished call.

CREATE TABLE eval_runs (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL,
    config_json   TEXT NOT NULL,          -- model, sampling, samples, flags, bootcamp dirs
    status        TEXT NOT NULL,          -- running | done | incomplete
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);

CREATE TABLE eval_records (
    run_id        INTEGER NOT NULL REFERENCES eval_runs(id),
    idx           INTEGER NOT NULL,       -- position in the data, from 0
    data_source   TEXT NOT NULL,
    prompt        TEXT NOT NULL,
    ground_truth  TEXT NOT NULL,          -- the case, as JSON text
    PRIMARY KEY (run_id, idx)
);

CREATE TABLE eval_answers (
    run_id        INTEGER NOT NULL REFERENCES eval_runs(id),
    idx           INTEGER NOT NULL,
    sample        INTEGER NOT NULL,
    content       TEXT NOT NULL,
    reasoning     TEXT,
    finish_reason TEXT,
    endpoint      TEXT,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    latency_ms    REAL NOT NULL,
    attempts      INTEGER NOT NULL,
    score         REAL,                   -- NULL until scored
    error_kind    TEXT,                   -- why the score is 0 without a verdict
    error         TEXT,
    created_at    TEXT NOT NULL,
    PRIMARY KEY (run_id, idx, sample)
);

-- Tasks left out of a run, with why (no bootcamp answers to the data source,
-- or it does not load); replaced each time the run is resumed.
CREATE TABLE eval_excluded (
    run_id        INTEGER NOT NULL REFERENCES eval_runs(id),
    data_source   TEXT NOT NULL,
    reason        TEXT NOT NULL,
    PRIMARY KEY (run_id, data_source)
);
