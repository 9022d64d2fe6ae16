//! Stage 7, *solver*: the solver model answers S cases, the bootcamp's own
//! `verify_score` grades them, and the accuracy must lie in the band.

use std::sync::Arc;

use serde_json::json;

use crate::evaluate::checker::{Checker, clip, error_evidence};
use crate::evaluate::{Band, CheckStage, SolverAttempt, SolverMetrics, ThinkMode, judge};
use crate::llm::{ChatModel, Completion};
use crate::sandbox::{Call, CallResult, CaseResult};

pub(crate) async fn solver_stage(
    c: &mut Checker<'_>,
    cases: &[CaseResult],
    model: Arc<dyn ChatModel>,
) {
    let s = (c.config.solver_cases as usize).min(cases.len());
    let mut tasks = tokio::task::JoinSet::new();
    for (index, case) in cases[..s].iter().enumerate() {
        let model = model.clone();
        let prompt = case.prompt.clone();
        tasks.spawn(async move { (index, model.complete(&prompt).await) });
    }
    let mut answers: Vec<Option<Result<Completion, crate::llm::Failure>>> = vec![None; s];
    while let Some(joined) = tasks.join_next().await {
        if let Ok((index, result)) = joined {
            answers[index] = Some(result);
        }
    }
    let reasoning_seen = answers
        .iter()
        .flatten()
        .any(|a| matches!(a, Ok(c) if c.has_reasoning()));
    let mut flags = c.config.score_flags.clone();
    let explicit = flags
        .get("format_penalty")
        .and_then(|v| v.as_bool().or_else(|| v.as_f64().map(|n| n != 0.0)));
    let format_penalty = match (explicit, c.config.think) {
        (Some(explicit), _) => explicit,
        (None, ThinkMode::On) => true,
        (None, ThinkMode::Off) => false,
        (None, ThinkMode::Auto) => reasoning_seen,
    };
    flags.insert("format_penalty".into(), json!(format_penalty));

    let mut attempts: Vec<SolverAttempt> = Vec::with_capacity(s);
    let mut calls = Vec::new();
    let mut call_for: Vec<Option<usize>> = Vec::with_capacity(s);
    for (case, answer) in cases[..s].iter().zip(&answers) {
        let mut attempt = SolverAttempt {
            seed: case.seed,
            prompt: case.prompt.clone(),
            response: None,
            score: 0.0,
            error: None,
            attempts: 0,
            prompt_tokens: 0,
            completion_tokens: 0,
        };
        match answer {
            Some(Ok(done)) => {
                let text = done.graded_text();
                attempt.response = Some(text.clone());
                attempt.attempts = done.attempts;
                attempt.prompt_tokens = done.usage.prompt_tokens;
                attempt.completion_tokens = done.usage.completion_tokens;
                call_for.push(Some(calls.len()));
                calls.push(Call::Score {
                    identity: case.case_json.clone(),
                    answer: text,
                });
            }
            Some(Err(failure)) => {
                attempt.error = Some(failure.error.to_string());
                attempt.attempts = failure.attempts;
                call_for.push(None);
            }
            None => {
                attempt.error = Some("the solver task did not finish".into());
                call_for.push(None);
            }
        }
        attempts.push(attempt);
    }
    let report = {
        let mut spec = c.spec(calls);
        spec.score_flags = flags;
        c.run(spec).await
    };
    if let Some(err) = &report.error {
        c.error(
            CheckStage::Solver,
            "verify_failed",
            format!("grading a solver answer failed: {err}"),
            error_evidence(err),
        );
    }
    let scores: Vec<f64> = report
        .results
        .iter()
        .map(|r| {
            if let CallResult::Score(s) = r {
                s.score
            } else {
                0.0
            }
        })
        .collect();
    for (attempt, slot) in attempts.iter_mut().zip(&call_for) {
        if let Some(i) = slot {
            attempt.score = scores.get(*i).copied().unwrap_or(0.0);
        }
    }
    let errors = attempts.iter().filter(|a| a.error.is_some()).count();
    let correct = attempts
        .iter()
        .filter(|a| judge::full_credit(a.score))
        .count();
    let n = attempts.len();
    let accuracy = if n > 0 {
        correct as f64 / n as f64
    } else {
        0.0
    };
    let (low, high) = judge::wilson_interval(correct, n);
    let verdict = judge::band(accuracy, c.config.accuracy_min, c.config.accuracy_max);
    let metrics = SolverMetrics {
        model: model.describe(),
        cases: n,
        correct,
        accuracy,
        mean_score: if n > 0 {
            attempts.iter().map(|a| a.score).sum::<f64>() / n as f64
        } else {
            0.0
        },
        wilson_low: low,
        wilson_high: high,
        band: [c.config.accuracy_min, c.config.accuracy_max],
        verdict,
        errors,
        prompt_tokens: attempts.iter().map(|a| a.prompt_tokens).sum(),
        completion_tokens: attempts.iter().map(|a| a.completion_tokens).sum(),
        format_penalty,
        attempts,
    };
    let interval = format!("{accuracy:.3} (95% CI {low:.3}-{high:.3}, {correct}/{n})");
    if n > 0 && errors * 2 > n {
        c.error(
            CheckStage::Solver,
            "solver_unavailable",
            format!("{errors} of {n} solver calls failed after retries; the accuracy is not meaningful"),
            json!({"errors": errors, "cases": n, "first_error": metrics.attempts.iter().find_map(|a| a.error.clone())}),
        );
    } else {
        let band_text = format!("[{}, {}]", c.config.accuracy_min, c.config.accuracy_max);
        match verdict {
            Band::TooEasy => c.error(
                CheckStage::Solver,
                "too_easy",
                format!("solver accuracy {interval} is above the band {band_text}: too easy or oversimplified"),
                json!({"accuracy": accuracy, "wilson": [low, high], "correct": correct, "cases": n}),
            ),
            Band::TooHardOrBroken => {
                let sample = metrics.attempts.iter().find(|a| a.response.is_some()).map(|a| {
                    json!({"seed": a.seed, "response": clip(a.response.as_deref().unwrap_or(""), 400), "score": a.score})
                });
                c.error(
                    CheckStage::Solver,
                    "too_hard_or_broken",
                    format!("solver accuracy {interval} is below the band {band_text}: unsolvable or a broken verifier"),
                    json!({"accuracy": accuracy, "wilson": [low, high], "correct": correct, "cases": n, "sample": sample}),
                );
            }
            Band::InBand => {}
        }
    }
    c.metrics.solver = Some(metrics);
    c.close(CheckStage::Solver, format!("accuracy {interval}"));
}
