//! Stage 6, *discrimination*: junk answers must not get full credit.

use serde_json::json;

use super::plan::Issued;
use crate::evaluate::checker::{Checker, clip, error_evidence};
use crate::evaluate::{CheckStage, judge};
use crate::sandbox::{CallResult, RunError};

pub(crate) fn discrimination_stage(
    c: &mut Checker<'_>,
    issued: &Issued,
    later: &[&CallResult],
    error: Option<&RunError>,
) {
    let offset = issued.references + issued.self_scores.len();
    let scores: Vec<f64> = later
        .iter()
        .skip(offset)
        .filter_map(|r| {
            if let CallResult::Score(s) = r {
                Some(s.score)
            } else {
                None
            }
        })
        .collect();
    if scores.len() < issued.junk.len()
        && later.len() >= offset
        && let Some(err) = error
    {
        c.error(
            CheckStage::Discrimination,
            "verify_failed",
            format!("scoring a junk answer failed: {err}"),
            error_evidence(err),
        );
    }
    c.metrics.junk_tried = scores.len();
    let mut accepted_by_kind: Vec<(&'static str, usize, usize)> = Vec::new(); // kind, accepted, tried
    for ((seed, kind, answer), score) in issued.junk.iter().zip(&scores) {
        let entry = match accepted_by_kind.iter_mut().find(|(k, _, _)| k == kind) {
            Some(e) => e,
            None => {
                accepted_by_kind.push((kind, 0, 0));
                accepted_by_kind.last_mut().expect("just pushed")
            }
        };
        entry.2 += 1;
        if judge::full_credit(*score) {
            entry.1 += 1;
            c.metrics.junk_accepted += 1;
            if entry.1 == 1 && *kind != "other_case_answer" {
                c.error(
                    CheckStage::Discrimination,
                    "accepts_junk",
                    format!("the verifier gave full credit to junk ({kind}) on seed {seed}"),
                    json!({"junk": kind, "seed": seed, "answer": clip(judge::shaped_core(answer), 300), "score": score}),
                );
            }
        }
    }
    // Two cases may share an answer; a verifier that accepts every other
    // case's answer ignores the case.
    if let Some((_, accepted, tried_n)) = accepted_by_kind
        .iter()
        .find(|(k, _, _)| *k == "other_case_answer")
        && *tried_n >= 2
        && accepted == tried_n
    {
        c.error(
            CheckStage::Discrimination,
            "accepts_other_case_answer",
            format!("the verifier accepted another case's reference answer on all {tried_n} cases tried: it does not check the case"),
            json!({"tried": tried_n, "accepted": accepted}),
        );
    }
    let k = issued
        .junk
        .iter()
        .map(|(seed, _, _)| seed)
        .collect::<std::collections::HashSet<_>>()
        .len();
    c.close(
        CheckStage::Discrimination,
        format!("{} junk answers on {k} cases", c.metrics.junk_tried),
    );
}
