-- Calibrations: settings of a bootcamp's constructor parameters measured
-- against a solver, every probe kept. The solver calls themselves are
-- llm_calls rows of a campaign row the calibration owns (content-addressed,
-- so a resumed calibration repeats none).

CREATE TABLE calibrations (
    id              INTEGER PRIMARY KEY,
    calibration_key TEXT NOT NULL UNIQUE,  -- what it measures: code, class, params, solver, plan
    campaign_id     INTEGER NOT NULL REFERENCES campaigns(id),
    file            TEXT NOT NULL,
    class_name      TEXT,
    settings_json   TEXT NOT NULL,         -- targets, cases, budget, tolerance, model
    space_json      TEXT,                  -- the numeric parameters and their defaults
    status          TEXT NOT NULL,         -- running | done
    result_json     TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);

CREATE TABLE calibration_probes (
    calibration_id  INTEGER NOT NULL REFERENCES calibrations(id),
    idx             INTEGER NOT NULL,
    params_json     TEXT NOT NULL,         -- the constructor keyword arguments
    values_json     TEXT NOT NULL,         -- the numeric parameters, in space order
    cases           INTEGER NOT NULL,
    correct         INTEGER NOT NULL,
    bound_json      TEXT,                  -- why it is out of bounds, if it is
    generate_ms     REAL NOT NULL,         -- generation time per case
    solver_calls    INTEGER NOT NULL,      -- new solver calls it made
    detail_json     TEXT NOT NULL,         -- per case: seed, summary, answer, score
    created_at      TEXT NOT NULL,
    PRIMARY KEY (calibration_id, idx)
);
