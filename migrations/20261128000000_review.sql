-- The review queue (issue 7): accepted bootcamps wait for a curator.
-- Decisions are rows, never edits: an item's status is its latest decision
-- (or pending when it has none), and a forced second decision keeps the
-- first in history. Timestamps are written by bootforge (RFC 3339, UTC) so
-- that the same statements run on PostgreSQL.

CREATE TABLE review_items (
    id            INTEGER PRIMARY KEY,
    source        TEXT NOT NULL,          -- campaign | file
    campaign_id   INTEGER REFERENCES campaigns(id),
    task_id       TEXT NOT NULL,          -- the campaign's task, or the file's stem
    draft_id      INTEGER UNIQUE REFERENCES drafts(id),
    file_path     TEXT,                   -- where a `review add` file was read from
    class_name    TEXT,                   -- NULL: the class the check chose (report_json)
    params_json   TEXT NOT NULL,          -- constructor parameters ({} = defaults)
    code          TEXT NOT NULL,
    report_json   TEXT NOT NULL,          -- the check's report, as stored
    accuracy      REAL,
    note          TEXT,
    created_at    TEXT NOT NULL
);
CREATE INDEX review_items_by_campaign ON review_items (campaign_id, task_id);

CREATE TABLE review_decisions (
    id            INTEGER PRIMARY KEY,
    item_id       INTEGER NOT NULL REFERENCES review_items(id),
    decision      TEXT NOT NULL,          -- approved | rejected | revise
    reviewer      TEXT NOT NULL,
    note          TEXT,
    forced        INTEGER NOT NULL,       -- 1 when it overrode an earlier decision
    created_at    TEXT NOT NULL
);
CREATE INDEX review_decisions_by_item ON review_decisions (item_id, id);

-- Drafts accepted before the queue existed enter it now, as pending.
INSERT INTO review_items (source, campaign_id, task_id, draft_id, class_name, params_json, code, report_json, accuracy, created_at)
SELECT 'campaign', t.campaign_id, t.id, d.id, NULL, '{}', d.code, e.report_json, e.accuracy, e.created_at
FROM tasks t
JOIN drafts d ON d.id = t.accepted_draft
JOIN evaluations e ON e.draft_id = d.id
WHERE t.status = 'accepted' AND d.code IS NOT NULL;
