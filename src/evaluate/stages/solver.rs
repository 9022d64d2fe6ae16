//! Stage 7, *solver*: the solver model answers S cases, the bootcamp's own
//! `verify_score` grades them, and the accuracy must lie in the band and
//! clear the guess baseline. Each answer with its final answer replaced by a
//! random value is graded too: content-free junk shaped like real answers.
//! For a bootcamp without `reference_output`, the answers that score 1 are
//! also mutated into near misses ([`nearmiss`]), judged as in the
//! discrimination stage.

use std::sync::Arc;

use serde_json::json;

use crate::evaluate::FindingKind;
use crate::evaluate::checker::{Checker, error_evidence};
use crate::evaluate::junk::{self, JunkClass, JunkRng};
use crate::evaluate::nearmiss::{self, MutantInput};
use crate::evaluate::stages::discrimination;
use crate::evaluate::{Band, CheckStage, SolverAttempt, SolverMetrics, ThinkMode, judge};
use crate::llm::{ChatModel, Completion};
use crate::sandbox::{Call, CallResult, CaseResult};
use crate::text::{Limit, clip, clip_marked};

/// The most of one solver response a report keeps.
const RESPONSE_BYTES: usize = 16 << 10;
/// The most of one case a report keeps beside its solver answer.
const CASE_BYTES: usize = 2 << 10;

/// At most `max` bytes of `text`, saying how large it was: a stored report
/// stays small whatever a model or a guest returned.
fn clip_bytes(text: &str, max: usize) -> String {
    clip_marked(text, Limit::Bytes(max), |_| {
        format!(" …[clipped, {} bytes in all]", text.len())
    })
}

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
    // Junk derived from real answers (a verifier that only rejects the shapes
    // of made-up junk must still be caught): each solver answer with
    // its final answer replaced by a random value of the same shape, graded
    // after the real answers in the same instance (where no reference ran).
    let mut rng = JunkRng::new(
        c.metrics
            .discrimination
            .as_ref()
            .map_or_else(junk::fresh_seed, |d| d.junk_seed)
            ^ 0x5EED_5017_7E2D,
    );
    let mut altered_calls: Vec<Call> = Vec::new();
    let mut altered_seeds: Vec<u64> = Vec::new();
    let mut call_for: Vec<Option<usize>> = Vec::with_capacity(s);
    for (case, answer) in cases[..s].iter().zip(&answers) {
        let mut attempt = SolverAttempt {
            seed: case.seed,
            case: clip_bytes(&case.case_json, CASE_BYTES),
            prompt: case.prompt.clone(),
            response: None,
            score: 0.0,
            error: None,
            attempts: 0,
            prompt_tokens: 0,
            completion_tokens: 0,
            truncated: false,
        };
        match answer {
            Some(Ok(done)) => {
                let text = done.graded_text();
                attempt.truncated = done.truncated();
                // Graded whole, stored clipped: a 10 MB answer must not make
                // a 400 MB report.
                attempt.response = Some(clip_bytes(&text, RESPONSE_BYTES));
                attempt.attempts = done.attempts;
                attempt.prompt_tokens = done.usage.prompt_tokens;
                attempt.completion_tokens = done.usage.completion_tokens;
                if let Some(original) = junk::final_answer(&text) {
                    let value = junk::random_value(&mut rng, original);
                    if let Some(altered) = junk::replace_final_answer(&text, &value) {
                        altered_seeds.push(case.seed);
                        altered_calls.push(Call::Score {
                            identity: case.case_json.clone(),
                            answer: altered,
                        });
                    }
                }
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
    let graded = calls.len();
    let altered_count = altered_calls.len();
    calls.extend(altered_calls);
    // Near-miss mutants of each answer, kept for the answers that score 1.
    // Only where the bootcamp gave no reference to mutate (the
    // discrimination stage did it then), which is most published bootcamps.
    let reference_mutants = c
        .metrics
        .discrimination
        .as_ref()
        .is_some_and(|d| d.mutations.iter().any(|m| !m.class.is_overbroad()));
    let mut mutants: Vec<(usize, u64, String, String)> = Vec::new();
    if !reference_mutants {
        for (i, (case, slot)) in cases[..s].iter().zip(&call_for).enumerate() {
            let Some(call) = slot else { continue };
            let Call::Score { answer, .. } = &calls[*call] else {
                continue;
            };
            let input = MutantInput {
                prompt: &case.prompt,
                reference: Some(answer),
            };
            for m in nearmiss::case_mutants(&input, &mut rng) {
                if m.class == JunkClass::NearMiss {
                    mutants.push((i, case.seed, m.strategy, m.text));
                }
            }
        }
    }
    let first_mutant = calls.len();
    for (i, _, _, text) in &mutants {
        calls.push(Call::Score {
            identity: cases[*i].case_json.clone(),
            answer: text.clone(),
        });
    }
    let report = {
        let mut spec = c.spec(calls);
        spec.score_flags = flags;
        c.run(spec).await
    };
    c.metrics.timings.solver_grading_ms = report.timings.total_us as f64 / 1e3;
    if let Some(err) = &report.error {
        c.error(
            CheckStage::Solver,
            FindingKind::VerifyFailed,
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
    let altered_scores = scores.get(graded..graded + altered_count).unwrap_or(&[]);
    let mutations = if mutants.is_empty() {
        Vec::new()
    } else {
        let mutant_scores = scores.get(first_mutant..).unwrap_or(&[]);
        let finals: Vec<Option<String>> = attempts
            .iter()
            .map(|a| a.response.as_deref().and_then(nearmiss::reference_answer))
            .collect();
        let mut outcomes: Vec<judge::JunkOutcome> = Vec::new();
        let mut examples: Vec<(String, judge::MutantExample)> = Vec::new();
        for ((i, seed, strategy, text), &score) in mutants.iter().zip(mutant_scores) {
            if !judge::full_credit(attempts[*i].score) {
                continue;
            }
            let example = || judge::MutantExample {
                seed: *seed,
                reference: clip(
                    finals[*i].as_deref().unwrap_or("-"),
                    discrimination::EXAMPLE_CHARS,
                ),
                mutant: clip(
                    &discrimination::mutant_answer(text),
                    discrimination::EXAMPLE_CHARS,
                ),
                score,
            };
            match examples.iter_mut().find(|(s, _)| s == strategy) {
                Some((_, e)) if !judge::full_credit(e.score) && judge::full_credit(score) => {
                    *e = example()
                }
                Some(_) => {}
                None => examples.push((strategy.clone(), example())),
            }
            match outcomes
                .iter_mut()
                .rev()
                .take_while(|o| o.seed == *seed)
                .find(|o| &o.strategy == strategy)
            {
                Some(o) => o.score = o.score.max(score),
                None => outcomes.push(judge::JunkOutcome {
                    seed: *seed,
                    strategy: strategy.clone(),
                    class: JunkClass::NearMiss,
                    score,
                }),
            }
        }
        let order_free = cases[..s]
            .iter()
            .filter(|c| nearmiss::order_free(&c.prompt))
            .count()
            * 2
            > s;
        judge::mutation_reports(
            &judge::strategy_stats(&outcomes),
            &outcomes,
            &examples,
            order_free,
        )
    };
    discrimination::mutation_findings(c, CheckStage::Solver, &mutations);
    let credited: Vec<u64> = altered_seeds
        .iter()
        .zip(altered_scores)
        .filter(|(_, s)| judge::full_credit(**s))
        .map(|(seed, _)| *seed)
        .collect();
    if !credited.is_empty() {
        c.error(
            CheckStage::Solver,
            FindingKind::AcceptsJunk,
            format!(
                "the verifier gave full credit to solver answers whose final answer was replaced by a random value on {} of {} cases (seeds {}): it does not check the final answer",
                credited.len(),
                altered_scores.len(),
                credited.iter().take(10).map(u64::to_string).collect::<Vec<_>>().join(", ")
            ),
            json!({"junk": "solver_answer_altered", "seed": credited[0], "credited": credited.len(), "tried": altered_scores.len()}),
        );
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
    let baseline = c
        .metrics
        .discrimination
        .as_ref()
        .and_then(|d| d.guess_baseline.as_ref())
        .map(|b| b.share);
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
        truncated: attempts.iter().filter(|a| a.truncated).count(),
        truncated_share: if n > 0 {
            attempts.iter().filter(|a| a.truncated).count() as f64 / n as f64
        } else {
            0.0
        },
        guess_baseline: baseline,
        headroom: baseline.map(|b| judge::clears_baseline(correct, n, b)),
        attempts,
        mutations,
    };
    let interval = format!("{accuracy:.3} (95% CI {low:.3}-{high:.3}, {correct}/{n})");
    let baseline_note = metrics
        .guess_baseline
        .map(|b| format!(", guess baseline {b:.3}"))
        .unwrap_or_default();
    if n > 0 && errors * 2 > n {
        // Say how the first failure went: a refused request (400: too long
        // for the context, unknown model) is never retried, a refused
        // connection is, and the remedy differs.
        let first = metrics.attempts.iter().find(|a| a.error.is_some());
        let tries = match first.map(|a| a.attempts) {
            Some(0 | 1) => "in one attempt, not retried".to_owned(),
            Some(k) => format!("after {k} attempts"),
            None => String::new(),
        };
        c.error(
            CheckStage::Solver,
            FindingKind::SolverUnavailable,
            format!("{errors} of {n} solver calls failed (the first {tries}); the bootcamp could not be judged: check the solver endpoint, then check again"),
            json!({"errors": errors, "cases": n, "first_error": first.and_then(|a| a.error.clone()), "first_attempts": first.map(|a| a.attempts)}),
        );
    } else {
        let band_text = format!("[{}, {}]", c.config.accuracy_min, c.config.accuracy_max);
        match verdict {
            Band::TooEasy => c.error(
                CheckStage::Solver,
                FindingKind::TooEasy,
                format!("solver accuracy {interval} is above the band {band_text}: too easy or oversimplified"),
                json!({"accuracy": accuracy, "wilson": [low, high], "correct": correct, "cases": n}),
            ),
            Band::TooHardOrBroken => {
                let sample = metrics.attempts.iter().find(|a| a.response.is_some()).map(|a| {
                    json!({"seed": a.seed, "response": clip(a.response.as_deref().unwrap_or(""), 400), "score": a.score})
                });
                c.error(
                    CheckStage::Solver,
                    FindingKind::TooHardOrBroken,
                    format!("solver accuracy {interval} is below the band {band_text}: unsolvable or a broken verifier"),
                    json!({"accuracy": accuracy, "wilson": [low, high], "correct": correct, "cases": n, "sample": sample}),
                );
            }
            Band::InBand => {
                if let (Some(b), Some(false)) = (metrics.guess_baseline, metrics.headroom) {
                    let strategy = c
                        .metrics
                        .discrimination
                        .as_ref()
                        .and_then(|d| d.guess_baseline.as_ref())
                        .map(|g| g.strategy.clone())
                        .unwrap_or_default();
                    c.error(
                        CheckStage::Solver,
                        FindingKind::NoHeadroom,
                        format!("solver accuracy {interval} does not clear the guess baseline {b:.3} ({strategy}): the lower end of its 95% interval must lie above it, or the reward mostly pays for guessing"),
                        json!({"accuracy": accuracy, "wilson": [low, high], "correct": correct, "cases": n, "guess_baseline": b, "guess_strategy": strategy}),
                    );
                }
            }
        }
    }
    c.metrics.solver = Some(metrics);
    c.close(
        CheckStage::Solver,
        format!("accuracy {interval}{baseline_note}"),
    );
}
