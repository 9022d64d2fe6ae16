//! Stage 3, *generate*: determinism against the rerun with other entropy
//! and clock, and diversity of the cases and prompts.

use serde_json::json;

use crate::evaluate::FindingKind;
use crate::evaluate::checker::{Checker, error_evidence};
use crate::evaluate::{CheckStage, judge};
use crate::sandbox::{CaseResult, RunError, RunReport};
use crate::text::clip;

/// `again` holds the rerun's cases (and after them, other calls' results);
/// `rerun_error` is the failure that stopped the rerun, if one did.
pub(crate) fn generate_stage(
    c: &mut Checker<'_>,
    cases: &[CaseResult],
    again: &RunReport,
    rerun_error: Option<&RunError>,
) {
    let n = (c.config.cases as usize).min(cases.len());
    let checked = &cases[..n];
    // Determinism: the same seeds with other OS entropy and another clock.
    let mut deterministic = true;
    for second in again.cases() {
        let Some(first) = checked.iter().find(|c| c.seed == second.seed) else {
            continue;
        };
        if first.case_json != second.case_json {
            deterministic = false;
            c.error(
                CheckStage::Generate,
                FindingKind::Nondeterministic,
                format!(
                    "seed {} gave different cases when the clock and OS randomness changed: the generator uses entropy other than its seed",
                    first.seed
                ),
                json!({"seed": first.seed, "first": clip(&first.case_json, 400), "second": clip(&second.case_json, 400)}),
            );
            break;
        }
    }
    if deterministic && let Some(err) = rerun_error {
        deterministic = false;
        c.error(
            CheckStage::Generate,
            FindingKind::Nondeterministic,
            format!("generating the same seeds again failed: {err}"),
            error_evidence(err),
        );
    }
    c.metrics.deterministic = Some(deterministic);
    let jsons: Vec<&str> = checked.iter().map(|case| &*case.case_json).collect();
    let prompts: Vec<&str> = checked.iter().map(|case| case.prompt.as_str()).collect();
    // A nonce in the case makes every case distinct without making the
    // questions differ: count the narrower of the two.
    let (distinct_cases, case_ratio) = judge::diversity(&jsons);
    let (distinct_prompts, prompt_ratio) = judge::diversity(&prompts);
    let (distinct, ratio) = if prompt_ratio < case_ratio {
        (distinct_prompts, prompt_ratio)
    } else {
        (distinct_cases, case_ratio)
    };
    c.metrics.distinct_cases = distinct;
    c.metrics.diversity = Some(ratio);
    if n > 1 && ratio < c.config.diversity_min {
        let examples: Vec<String> = jsons.iter().take(3).map(|j| clip(j, 200)).collect();
        c.error(
            CheckStage::Generate,
            FindingKind::LowDiversity,
            format!("only {distinct} distinct cases or prompts in {n} seeds ({ratio:.2} < {}): the instance set is too narrow", c.config.diversity_min),
            json!({"distinct_cases": distinct_cases, "distinct_prompts": distinct_prompts, "cases": n, "examples": examples}),
        );
    }
    c.close(
        CheckStage::Generate,
        format!("{n} cases, {distinct} distinct"),
    );
}
