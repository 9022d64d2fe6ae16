-- Campaign ownership (leases), schedules, their runs, and daemons (issue 8).
-- Times the daemon compares are integers (Unix milliseconds or seconds), so
-- the comparisons are the same on SQLite and PostgreSQL.

-- Who works on a campaign now. A holder renews `expires_ms` while it runs;
-- a row whose `expires_ms` has passed belongs to a dead holder and can be
-- taken over.
CREATE TABLE campaign_leases (
    campaign_id   INTEGER PRIMARY KEY REFERENCES campaigns(id),
    host          TEXT NOT NULL,
    pid           INTEGER NOT NULL,
    started_at    TEXT NOT NULL,          -- when the holder took the lease
    token         TEXT NOT NULL,          -- unique per holder
    expires_ms    INTEGER NOT NULL        -- Unix ms
);

CREATE TABLE schedules (
    name          TEXT PRIMARY KEY,
    cron          TEXT NOT NULL,          -- 5-field cron expression
    timezone      TEXT NOT NULL,          -- IANA zone the cron is read in
    config_path   TEXT NOT NULL,          -- absolute; read at each run
    catch_up      TEXT NOT NULL,          -- once | skip
    paused        INTEGER NOT NULL,       -- 0 | 1
    since_s       INTEGER NOT NULL,       -- slots after this (Unix s) are due: add or resume time
    created_at    TEXT NOT NULL
);

-- One row per slot that was run or skipped. UNIQUE (schedule, slot_s) is
-- what keeps two daemons from running one slot twice. Rows outlive their
-- schedule (`schedule rm` keeps history).
CREATE TABLE schedule_runs (
    id            INTEGER PRIMARY KEY,
    schedule      TEXT NOT NULL,
    slot_s        INTEGER NOT NULL,       -- the slot's time, Unix s
    campaign_id   INTEGER REFERENCES campaigns(id),
    status        TEXT NOT NULL,          -- running | done | stopped | failed | skipped
    reason        TEXT,
    daemon        TEXT,                   -- host:pid of the daemon that claimed it
    started_ms    INTEGER NOT NULL,
    finished_ms   INTEGER,
    UNIQUE (schedule, slot_s)
);
CREATE INDEX schedule_runs_open ON schedule_runs (schedule, status);

-- Daemons announce themselves here (for `daemon status`).
CREATE TABLE daemons (
    id            TEXT PRIMARY KEY,       -- host:pid:start
    host          TEXT NOT NULL,
    pid           INTEGER NOT NULL,
    started_at    TEXT NOT NULL,
    heartbeat_ms  INTEGER NOT NULL,
    stopped       INTEGER NOT NULL        -- 0 | 1
);
