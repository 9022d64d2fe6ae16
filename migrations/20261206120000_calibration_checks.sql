-- The checks (every stage but the solver's) at each setting a calibration
-- tried: a setting where one fails is out of bounds. Stored as soon as they
-- run, so a resumed calibration runs them once per distinct setting.
-- `draft_calibrations.report_json` is the full check (the solver's stage
-- answered from the calibration's stored calls) at the setting a campaign
-- draft was accepted at: its review item shows that report, not the one
-- at the draft's defaults.

CREATE TABLE calibration_checks (
    calibration_id  INTEGER NOT NULL REFERENCES calibrations(id),
    params_json     TEXT NOT NULL,         -- the constructor keyword arguments
    report_json     TEXT NOT NULL,         -- the check report there
    created_at      TEXT NOT NULL,
    PRIMARY KEY (calibration_id, params_json)
);

ALTER TABLE draft_calibrations ADD COLUMN report_json TEXT;
