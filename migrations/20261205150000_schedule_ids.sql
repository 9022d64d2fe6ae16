-- Schedules get an id, and each run the id of the schedule it belongs to:
-- a schedule added again under a removed one's name is another schedule and
-- starts with none of the old one's history, whatever the times of their
-- slots. Names stay unique among the schedules that exist.
--
-- A new schedule's id is one more than any id a schedule or a run carries,
-- so a removed schedule's id is never given again while its runs exist.
ALTER TABLE schedules ADD COLUMN id INTEGER NOT NULL DEFAULT 0;
UPDATE schedules
   SET id = (SELECT COUNT(*) FROM schedules AS s WHERE s.name <= schedules.name);
CREATE UNIQUE INDEX schedules_id ON schedules (id);

-- Rebuilt: the claim of a slot is now unique per schedule id, not per name.
CREATE TABLE schedule_runs_by_id (
    id            INTEGER PRIMARY KEY,
    schedule_id   INTEGER,                -- NULL: a schedule removed before schedules had ids
    schedule      TEXT NOT NULL,          -- its name, for the history of a removed schedule
    slot_s        INTEGER NOT NULL,       -- the slot's time, Unix s
    campaign_id   INTEGER REFERENCES campaigns(id),
    status        TEXT NOT NULL,          -- running | done | stopped | failed | skipped
    reason        TEXT,
    daemon        TEXT,                   -- host:pid of the daemon that claimed it
    started_ms    INTEGER NOT NULL,
    finished_ms   INTEGER,
    UNIQUE (schedule_id, slot_s)
);

-- A stored run belongs to the schedule of its name when its slot comes
-- after that schedule was added (the rule history used before ids); older
-- runs of that name were a removed schedule's. One-time conversion of the
-- stored RFC 3339 time, so SQLite's strftime.
INSERT INTO schedule_runs_by_id
    (id, schedule_id, schedule, slot_s, campaign_id, status, reason, daemon, started_ms, finished_ms)
SELECT r.id, s.id, r.schedule, r.slot_s, r.campaign_id, r.status, r.reason, r.daemon,
       r.started_ms, r.finished_ms
  FROM schedule_runs AS r
  LEFT JOIN schedules AS s
    ON s.name = r.schedule
   AND r.slot_s > CAST(strftime('%s', s.created_at) AS INTEGER);

DROP TABLE schedule_runs;
ALTER TABLE schedule_runs_by_id RENAME TO schedule_runs;
CREATE INDEX schedule_runs_open ON schedule_runs (schedule_id, status);
CREATE INDEX schedule_runs_by_name ON schedule_runs (schedule);
