-- Calibration inside campaigns: a draft that passed every stage but the
-- accuracy band is calibrated before its author is asked for new code.
-- `band_miss` marks those drafts (set when the evaluation is stored);
-- `draft_calibrations` holds what their calibration found: in band (the
-- draft is accepted at `params_json`) or not (its refine prompt carries the
-- calibration's table). `calibration_id` is NULL when the calibration could
-- not run at all (`note` says why).

ALTER TABLE evaluations ADD COLUMN band_miss INTEGER NOT NULL DEFAULT 0;

CREATE TABLE draft_calibrations (
    draft_id        INTEGER PRIMARY KEY REFERENCES drafts(id),
    calibration_id  INTEGER REFERENCES calibrations(id),
    in_band         INTEGER NOT NULL,
    params_json     TEXT,                  -- the setting that landed in the band
    accuracy        REAL,                  -- its measured accuracy
    note            TEXT,                  -- why nothing landed in the band
    created_at      TEXT NOT NULL
);
