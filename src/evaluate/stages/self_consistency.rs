//! Stage 5, *self_consistency*: the bootcamp's own `reference_output`
//! scores 1 on every case (skipped when it defines none).

use serde_json::json;

use super::plan::Issued;
use crate::evaluate::FindingKind;
use crate::evaluate::checker::{Checker, error_evidence};
use crate::evaluate::{CheckStage, StageStatus, judge};
use crate::sandbox::{CallResult, CaseResult, RunError, Stage};
use crate::text::clip;

pub(crate) fn self_consistency_stage(
    c: &mut Checker<'_>,
    cases: &[CaseResult],
    issued: &Issued,
    later: &[&CallResult],
    error: Option<&RunError>,
) {
    let references: Vec<&CallResult> = later.iter().take(issued.references).copied().collect();
    if references.len() < issued.references {
        let err = error.cloned().unwrap_or_else(|| {
            RunError::new(
                crate::sandbox::ErrorKind::InvalidOutput,
                Stage::Reference,
                "missing",
            )
        });
        let seed = cases.get(references.len()).map(|c| c.seed).unwrap_or(0);
        let mut evidence = error_evidence(&err);
        evidence["seed"] = json!(seed);
        c.error(
            CheckStage::SelfConsistency,
            FindingKind::ReferenceFailed,
            format!("reference_output failed for seed {seed}: {err}"),
            evidence,
        );
        c.close(CheckStage::SelfConsistency, "");
        return;
    }
    if issued.self_scores.is_empty() {
        c.stage(
            CheckStage::SelfConsistency,
            StageStatus::Skipped,
            "the bootcamp defines no reference_output",
        );
        return;
    }
    let scores: Vec<&CallResult> = later
        .iter()
        .skip(issued.references)
        .take(issued.self_scores.len())
        .copied()
        .collect();
    if scores.len() < issued.self_scores.len()
        && let Some(err) = error
    {
        c.error(
            CheckStage::SelfConsistency,
            FindingKind::VerifyFailed,
            format!("scoring a reference answer failed: {err}"),
            error_evidence(err),
        );
    }
    c.metrics.references_checked = issued.self_scores.len();
    let mut passed = 0;
    let mut reported = false;
    for ((index, reference), result) in issued.self_scores.iter().zip(&scores) {
        let CallResult::Score(s) = result else {
            continue;
        };
        let case = &cases[*index];
        if judge::full_credit(s.score) {
            passed += 1;
        } else if !reported {
            reported = true;
            c.error(
                CheckStage::SelfConsistency,
                FindingKind::ReferenceRejected,
                format!("the bootcamp's own reference answer scored {} on seed {}", s.score, case.seed),
                json!({"seed": case.seed, "case": clip(&case.case_json, 400), "answer": clip(reference, 400), "score": s.score}),
            );
        }
    }
    c.metrics.references_passed = passed;
    c.close(
        CheckStage::SelfConsistency,
        format!(
            "{passed} of {} reference answers score 1",
            issued.self_scores.len()
        ),
    );
}
