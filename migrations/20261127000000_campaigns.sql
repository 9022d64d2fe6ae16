-- Campaign lineage: tasks, campaigns, drafts with their parents, evaluations,
-- solver attempts and every LLM call. Append-only migrations; never edit a
-- migration that has shipped.

CREATE TABLE campaigns (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL,
    config_json   TEXT NOT NULL,          -- the resolved configuration
    config_path   TEXT,                   -- where it was read from, if anywhere
    status        TEXT NOT NULL,          -- running | done | stopped
    stop_reason   TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);

CREATE TABLE tasks (
    campaign_id   INTEGER NOT NULL REFERENCES campaigns(id),
    id            TEXT NOT NULL,
    title         TEXT,
    description   TEXT NOT NULL,
    extra_json    TEXT NOT NULL,          -- examples, reference_solution, tags
    status        TEXT NOT NULL,          -- running | accepted | rejected | stopped
    accepted_draft INTEGER,
    best_draft    INTEGER,
    PRIMARY KEY (campaign_id, id)
);

CREATE TABLE drafts (
    id            INTEGER PRIMARY KEY,
    campaign_id   INTEGER NOT NULL REFERENCES campaigns(id),
    task_id       TEXT NOT NULL,
    generation    INTEGER NOT NULL,
    sample        INTEGER NOT NULL,       -- index among siblings
    parent_id     INTEGER REFERENCES drafts(id),
    parent_key    INTEGER NOT NULL,       -- parent_id, or 0 (UNIQUE treats NULLs as distinct)
    operator      TEXT NOT NULL,          -- draft | refine
    template      TEXT NOT NULL,
    template_sha  TEXT NOT NULL,
    model         TEXT NOT NULL,
    prompt        TEXT NOT NULL,
    response      TEXT,
    code          TEXT,
    status        TEXT NOT NULL,          -- pending | drafted | no_code | llm_failed | evaluated
    created_at    TEXT NOT NULL,
    UNIQUE (campaign_id, task_id, generation, parent_key, sample)
);
CREATE INDEX drafts_by_task ON drafts (campaign_id, task_id);

CREATE TABLE evaluations (
    draft_id      INTEGER PRIMARY KEY REFERENCES drafts(id),
    verdict       TEXT NOT NULL,          -- pass | fail
    furthest_stage INTEGER NOT NULL,      -- index of the last stage passed (0 = none)
    loaded        INTEGER NOT NULL,       -- 1 when the bootcamp loaded
    accuracy      REAL,
    main_finding  TEXT,
    report_json   TEXT NOT NULL,          -- findings, stages, metrics
    created_at    TEXT NOT NULL
);

CREATE TABLE solver_attempts (
    draft_id      INTEGER NOT NULL REFERENCES drafts(id),
    seed          INTEGER NOT NULL,
    prompt        TEXT NOT NULL,
    response      TEXT,
    score         REAL NOT NULL,
    error         TEXT,
    PRIMARY KEY (draft_id, seed)
);

CREATE TABLE llm_calls (
    id            INTEGER PRIMARY KEY,
    campaign_id   INTEGER NOT NULL REFERENCES campaigns(id),
    call_key      TEXT NOT NULL,          -- content address of the request
    role          TEXT NOT NULL,          -- author | solver
    model         TEXT NOT NULL,
    draft_id      INTEGER REFERENCES drafts(id),
    status        TEXT NOT NULL,          -- ok | failed | replayed
    content       TEXT,
    reasoning     TEXT,
    error         TEXT,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    latency_ms    REAL NOT NULL,
    attempts      INTEGER NOT NULL,
    created_at    TEXT NOT NULL,
    UNIQUE (campaign_id, call_key)
);
