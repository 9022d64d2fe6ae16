//! The tables a refine prompt carries when a draft missed the band: which
//! instances the solver got right and which wrong, so the author sees what
//! makes an instance hard, not one sample; and, when the draft was
//! calibrated first, every setting of its parameters that was tried. Pure:
//! from the stored reports.

use serde_json::{Value, json};

use crate::calibrate::stored::StoredCalibration;
use crate::evaluate::{FindingKind, StoredReport};

/// At most this many rows, and this much of each instance.
const ROWS: usize = 40;
const INSTANCE_CHARS: usize = 160;

/// One line of a table cell: no newlines, no column breaks.
fn cell(text: &str) -> String {
    line(text, INSTANCE_CHARS)
}

/// `text` on one line, at most `max` characters, no column breaks.
fn line(text: &str, max: usize) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let mut out: String = flat.chars().take(max).collect();
    if flat.chars().count() > max {
        out.push('…');
    }
    out.replace('|', "\\|")
}

/// How much of a note (why a calibration failed) a refine prompt shows.
const NOTE_CHARS: usize = 600;

/// The rows, when the report's findings say the accuracy missed the band
/// (`too_easy` or `too_hard_or_broken`); empty otherwise.
pub fn solver_cases(report: &StoredReport) -> Vec<Value> {
    let missed_band = report.findings.iter().any(|f| {
        matches!(
            f.kind(),
            Some(FindingKind::TooEasy | FindingKind::TooHardOrBroken)
        )
    });
    if !missed_band {
        return Vec::new();
    }
    report
        .metrics
        .solver
        .iter()
        .flat_map(|s| &s.attempts)
        .take(ROWS)
        .map(|a| {
            let score = a.score.unwrap_or(0.0);
            let verdict = if a.error.is_some() {
                "no answer".to_owned()
            } else if score >= 1.0 {
                "right".to_owned()
            } else {
                format!("wrong (score {score})")
            };
            json!({
                "seed": a.seed,
                "instance": cell(a.case.as_deref().unwrap_or("")),
                "verdict": verdict,
            })
        })
        .collect()
}

/// At most this many settings, and this much of each one's parameters.
const SETTINGS: usize = 24;
const PARAMS_CHARS: usize = 120;

/// What a draft's calibration tried, for its refine prompt: `summary` (why
/// no setting landed in the band) and one row per setting (parameters,
/// accuracy with its 95% interval, right of cases, generation time per case,
/// the bound that put it out of bounds). `report` is the stored calibration
/// report; `note` why the calibration could not run, or why the setting it
/// found in the band was not taken (a check failed there).
pub fn calibration_table(report: Option<&StoredCalibration>, note: Option<&str>) -> Value {
    let Some(report) = report else {
        return json!({
            "summary": format!("the calibration could not run: {}", line(note.unwrap_or("no reason given"), NOTE_CHARS)),
            "rows": [],
            "checks_failed": false,
        });
    };
    let miss = report
        .test()
        .and_then(|c| c.miss.as_deref())
        .unwrap_or("no setting landed in the band");
    let moving = report
        .moving
        .as_deref()
        .map(|m| format!("; the parameter that moves the accuracy most: {}", cell(m)))
        .unwrap_or_default();
    let names: Vec<String> = report
        .space
        .iter()
        .filter_map(|p| p.name.as_deref().map(cell))
        .collect();
    let space = if names.is_empty() {
        "no numeric constructor parameter".to_owned()
    } else {
        format!("numeric parameters {}", names.join(", "))
    };
    let rows: Vec<Value> = report
        .tried
        .iter()
        .flatten()
        .take(SETTINGS)
        .map(|t| {
            let params = cell(&t.params.to_string());
            let params: String = params.chars().take(PARAMS_CHARS).collect();
            let end = |i: usize| t.interval.get(i).copied().flatten().unwrap_or(0.0);
            let accuracy = match t.accuracy {
                Some(a) => format!("{a:.2} ({:.2}-{:.2})", end(0), end(1)),
                None => "out of bounds".to_owned(),
            };
            let bound = match &t.bound {
                None => String::new(),
                Some(b) => cell(&format!(
                    "{}: {}",
                    b.bound.as_deref().unwrap_or("bound"),
                    b.message.as_deref().unwrap_or("")
                )),
            };
            json!({
                "params": params,
                "accuracy": accuracy,
                "right": format!("{}/{}", t.correct.unwrap_or(0), t.cases.unwrap_or(0)),
                "generate_ms": format!("{:.1}", t.generate_ms_per_case.unwrap_or(0.0)),
                "bound": bound,
            })
        })
        .collect();
    // A setting in the band whose other checks failed says so; otherwise
    // the search's reason.
    let why = match note {
        Some(note) => line(note, NOTE_CHARS),
        None => format!("no setting landed in the band: {}", cell(miss)),
    };
    json!({
        "summary": format!("{space}{moving}; {why}"),
        "rows": rows,
        "checks_failed": note.is_some(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(report: Value) -> StoredReport {
        serde_json::from_value(report).unwrap()
    }

    #[test]
    fn a_band_miss_gives_one_row_per_case_and_other_failures_none() {
        let attempts = json!([
            {"seed": 0, "case": "{\"numbers\": [1, 2]}", "score": 1.0, "error": null},
            {"seed": 1, "case": "a|b\nc", "score": 0.0, "error": null},
            {"seed": 2, "case": "x", "score": 0.0, "error": "timed out"}
        ]);
        let report = json!({"findings": [{"kind": "too_easy"}], "metrics": {"solver": {"attempts": attempts}}});
        let rows = solver_cases(&stored(report));
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0]["verdict"], "right");
        assert_eq!(rows[1]["instance"], "a\\|b c");
        assert_eq!(rows[1]["verdict"], "wrong (score 0)");
        assert_eq!(rows[2]["verdict"], "no answer");
        let other = json!({"findings": [{"kind": "generate_failed"}], "metrics": {"solver": {"attempts": attempts}}});
        assert!(solver_cases(&stored(other)).is_empty());
        let long = json!({"findings": [{"kind": "too_hard_or_broken"}], "metrics": {"solver": {"attempts": [{"seed": 0, "case": "y".repeat(500), "score": 0.0}]}}});
        assert_eq!(
            solver_cases(&stored(long))[0]["instance"]
                .as_str()
                .unwrap()
                .chars()
                .count(),
            INSTANCE_CHARS + 1
        );
    }

    #[test]
    fn a_calibration_gives_one_row_per_setting_and_says_why_it_missed() {
        let report = json!({
            "space": [{"name": "size", "default": 4.0, "integer": true}],
            "moving": null,
            "tried": [
                {"params": {"size": 4}, "accuracy": 1.0, "interval": [0.83, 1.0], "correct": 20, "cases": 20, "generate_ms_per_case": 1.25},
                {"params": {"size": 8}, "accuracy": null, "interval": [0.0, 0.0], "correct": 0, "cases": 20, "generate_ms_per_case": 0.0,
                 "bound": {"bound": "time", "message": "a generate call ran past 1000 ms"}}
            ],
            "chosen": [{"role": "train", "miss": "x"}, {"role": "test", "miss": "no parameter moves the accuracy"}]
        });
        let report: StoredCalibration = serde_json::from_value(report).unwrap();
        let table = calibration_table(Some(&report), None);
        let summary = table["summary"].as_str().unwrap();
        assert!(summary.contains("numeric parameters size"), "{summary}");
        assert!(
            summary.ends_with("no parameter moves the accuracy"),
            "{summary}"
        );
        let rows = table["rows"].as_array().unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0]["params"], "{\"size\":4}");
        assert_eq!(rows[0]["accuracy"], "1.00 (0.83-1.00)");
        assert_eq!(rows[0]["right"], "20/20");
        assert_eq!(rows[0]["generate_ms"], "1.2");
        assert_eq!(rows[1]["accuracy"], "out of bounds");
        assert_eq!(rows[1]["bound"], "time: a generate call ran past 1000 ms");
        let failed = calibration_table(None, Some("the sandbox\nfailed"));
        assert_eq!(
            failed["summary"],
            "the calibration could not run: the sandbox failed"
        );
        assert!(failed["rows"].as_array().unwrap().is_empty());
    }
}
