//! The per-case table a refine prompt carries when a draft missed the band:
//! which instances the solver got right and which wrong, so the author sees
//! what makes an instance hard, not one sample. Pure: from the stored report.

use serde_json::{Value, json};

use crate::evaluate::FindingKind;

/// At most this many rows, and this much of each instance.
const ROWS: usize = 40;
const INSTANCE_CHARS: usize = 160;

/// One line of a table cell: no newlines, no column breaks.
fn cell(text: &str) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let mut out: String = flat.chars().take(INSTANCE_CHARS).collect();
    if flat.chars().count() > INSTANCE_CHARS {
        out.push('…');
    }
    out.replace('|', "\\|")
}

/// The rows, when the report's findings say the accuracy missed the band
/// (`too_easy` or `too_hard_or_broken`); empty otherwise.
pub fn solver_cases(report: &Value) -> Vec<Value> {
    let missed_band = report["findings"].as_array().is_some_and(|f| {
        f.iter().any(|x| {
            matches!(
                x["kind"].as_str().and_then(FindingKind::from_name),
                Some(FindingKind::TooEasy | FindingKind::TooHardOrBroken)
            )
        })
    });
    if !missed_band {
        return Vec::new();
    }
    report["metrics"]["solver"]["attempts"]
        .as_array()
        .into_iter()
        .flatten()
        .take(ROWS)
        .map(|a| {
            let score = a["score"].as_f64().unwrap_or(0.0);
            let verdict = if a["error"].is_string() {
                "no answer".to_owned()
            } else if score >= 1.0 {
                "right".to_owned()
            } else {
                format!("wrong (score {score})")
            };
            json!({
                "seed": a["seed"],
                "instance": cell(a["case"].as_str().unwrap_or("")),
                "verdict": verdict,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_band_miss_gives_one_row_per_case_and_other_failures_none() {
        let attempts = json!([
            {"seed": 0, "case": "{\"numbers\": [1, 2]}", "score": 1.0, "error": null},
            {"seed": 1, "case": "a|b\nc", "score": 0.0, "error": null},
            {"seed": 2, "case": "x", "score": 0.0, "error": "timed out"}
        ]);
        let report = json!({"findings": [{"kind": "too_easy"}], "metrics": {"solver": {"attempts": attempts}}});
        let rows = solver_cases(&report);
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0]["verdict"], "right");
        assert_eq!(rows[1]["instance"], "a\\|b c");
        assert_eq!(rows[1]["verdict"], "wrong (score 0)");
        assert_eq!(rows[2]["verdict"], "no answer");
        let other = json!({"findings": [{"kind": "generate_failed"}], "metrics": {"solver": {"attempts": attempts}}});
        assert!(solver_cases(&other).is_empty());
        let long = json!({"findings": [{"kind": "too_hard_or_broken"}], "metrics": {"solver": {"attempts": [{"seed": 0, "case": "y".repeat(500), "score": 0.0}]}}});
        assert_eq!(
            solver_cases(&long)[0]["instance"]
                .as_str()
                .unwrap()
                .chars()
                .count(),
            INSTANCE_CHARS + 1
        );
    }
}
