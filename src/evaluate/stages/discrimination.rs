//! Stage 6, *discrimination*: every junk strategy on every checked case
//! (rates, not a single sample, so one lucky answer decides nothing), scored
//! in the determinism rerun's instance, where no `reference_output` ran (a
//! verifier that turns strict only once its reference ran must be seen as it
//! is in use). The rates per
//! strategy, the guess baseline and the verdicts come from [`judge`]. The
//! near-miss mutants of each reference and the over-broad answers of each
//! prompt ([`nearmiss`]) are scored in the same batches.

use serde_json::json;

use crate::evaluate::FindingKind;
use crate::evaluate::checker::{Checker, error_evidence};
use crate::evaluate::junk::{self, CaseJunkInput, JunkClass, JunkRng};
use crate::evaluate::nearmiss::{self, MutantInput};
use crate::evaluate::{CheckStage, DiscriminationMetrics, Severity, judge};
use crate::sandbox::{Call, CallResult, CaseResult, RunError};
use crate::text::clip;

/// The largest junk answer kept as evidence in a report.
const EVIDENCE_CHARS: usize = 300;

struct Tried {
    case: usize,
    strategy: String,
    class: JunkClass,
    text: String,
}

/// The junk of one check, built before it is scored.
/// What a junk answer says after its reasoning, clipped from the front (the
/// final answer is at the end).
fn answer_part(text: &str) -> String {
    let tail = text.rsplit("</think>").next().unwrap_or(text).trim();
    let n = tail.chars().count();
    if n <= EVIDENCE_CHARS {
        return tail.to_owned();
    }
    let kept: String = tail.chars().skip(n - EVIDENCE_CHARS).collect();
    format!("… {kept}")
}

/// A mutant's final answer (or its answer part when it has no tags).
pub(crate) fn mutant_answer(text: &str) -> String {
    junk::final_answer(text)
        .map(str::to_owned)
        .unwrap_or_else(|| answer_part(text))
}

/// The most of a reference or mutant answer kept as a judged example.
pub(crate) const EXAMPLE_CHARS: usize = 200;

/// The `accepts_near_miss` / `accepts_overbroad` findings of judged
/// mutation classes, with each listed class's rate and case as evidence.
pub(crate) fn mutation_findings(
    c: &mut Checker<'_>,
    stage: CheckStage,
    mutations: &[judge::MutationReport],
) {
    for f in judge::near_miss_findings(mutations) {
        let overbroad = f.kind == "accepts_overbroad";
        let wanted = if f.error {
            judge::MutationVerdict::Fails
        } else {
            judge::MutationVerdict::Warns
        };
        let listed: Vec<serde_json::Value> = mutations
            .iter()
            .filter(|m| m.class.is_overbroad() == overbroad && m.verdict == wanted)
            .take(4)
            .map(|m| {
                json!({"class": m.class, "full_credit": m.full_credit, "cases": m.cases,
                       "share": m.share, "example": m.example})
            })
            .collect();
        c.find(
            stage,
            f.kind,
            if f.error {
                Severity::Error
            } else {
                Severity::Warning
            },
            f.message,
            json!({ "classes": listed }),
        );
    }
}

pub(crate) struct JunkPlan {
    seed: u64,
    tried: Vec<Tried>,
    /// Each case's reference final answer (the evidence of a mutant).
    reference_finals: Vec<Option<String>>,
    /// Most prompts say the answer's order does not matter.
    order_free: bool,
    /// The guest calls that score it (one per case, or one per answer).
    pub(crate) calls: Vec<Call>,
}

/// Build every junk strategy's answers for every case.
pub(crate) fn plan(
    c: &Checker<'_>,
    cases: &[CaseResult],
    references: &[Option<String>],
) -> JunkPlan {
    let seed = c.config.junk_seed.unwrap_or_else(junk::fresh_seed);
    let mut rng = JunkRng::new(seed);
    let finals: Vec<&str> = references
        .iter()
        .flatten()
        .filter_map(|r| junk::final_answer(r))
        .collect();
    let mut constants = junk::guess_constants(&finals);
    // The prompts' shared format example is a constant guess too: an echoed
    // prompt extracts it, and its credit is chance, not a leak (a trial:
    // "[answer]black[/answer]" right on 12 of 20 cases of a parity task).
    let prompts: Vec<&str> = cases.iter().map(|c| c.prompt.as_str()).collect();
    if let Some(example) = junk::format_example_constant(&prompts)
        && !constants.contains(&example)
    {
        constants.push(example);
    }
    let mut tried: Vec<Tried> = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let own = references.get(i).cloned().flatten();
        // The next case (cyclically) whose reference answer differs.
        let other = (1..references.len())
            .filter_map(|d| references[(i + d) % references.len()].as_ref())
            .find(|o| own.as_deref() != Some(o.as_str()))
            .cloned();
        let input = CaseJunkInput {
            prompt: &case.prompt,
            reference: own.as_deref(),
            other_reference: other.as_deref(),
            constants: &constants,
        };
        let mutants = MutantInput {
            prompt: &case.prompt,
            reference: own.as_deref(),
        };
        let mut case_junk = junk::case_junk(&input, &mut rng);
        case_junk.extend(nearmiss::case_mutants(&mutants, &mut rng));
        for j in case_junk {
            tried.push(Tried {
                case: i,
                strategy: j.strategy,
                class: j.class,
                text: j.text,
            });
        }
    }
    let reference_finals = (0..cases.len())
        .map(|i| {
            references
                .get(i)
                .cloned()
                .flatten()
                .and_then(|r| nearmiss::reference_answer(&r))
        })
        .collect();
    let order_free = cases
        .iter()
        .filter(|c| nearmiss::order_free(&c.prompt))
        .count()
        * 2
        > cases.len();
    // One guest call per case: a call per answer made the junk the slowest
    // part of a check.
    let calls: Vec<Call> = cases
        .iter()
        .enumerate()
        .map(|(i, case)| Call::ScoreBatch {
            identity: case.case_json.clone(),
            answers: tried
                .iter()
                .filter(|t| t.case == i)
                .map(|t| t.text.clone())
                .collect(),
        })
        .collect();
    JunkPlan {
        seed,
        tried,
        reference_finals,
        order_free,
        calls,
    }
}

/// Judge the scores of the plan's calls (`results`, in order; `error` ended
/// the run early, if any).
pub(crate) fn discrimination_stage(
    c: &mut Checker<'_>,
    cases: &[CaseResult],
    plan: JunkPlan,
    results: &[&CallResult],
    error: Option<&RunError>,
) {
    let JunkPlan {
        seed,
        tried,
        reference_finals,
        order_free,
        ..
    } = plan;
    let planned = cases.len();
    let mut scores: Vec<f64> = Vec::with_capacity(tried.len());
    let (mut verifier_calls, mut verifier_raised, mut verifier_error) = (0u64, 0u64, None);
    for r in results {
        match r {
            CallResult::Score(s) => scores.push(s.score),
            CallResult::Scores(s) => {
                scores.extend(&s.scores);
                verifier_calls += s.verifier_calls;
                verifier_raised += s.verifier_raised;
                if verifier_error.is_none() {
                    verifier_error = s.verifier_error.clone();
                }
            }
            _ => {}
        }
    }
    if judge::verifier_always_raises(verifier_calls, verifier_raised) {
        let example = verifier_error.unwrap_or_default();
        c.find(
            CheckStage::Discrimination,
            FindingKind::VerifierRaises,
            Severity::Warning,
            format!(
                "_verify_correction raised on every one of the {verifier_calls} answers it was given, \
                 well-formed guesses included ({example}); verify_score turns that into 0, so the \
                 bootcamp may never give credit: check the verifier against a right answer \
                 (a reference_output, or --model)"
            ),
            json!({"verifier_calls": verifier_calls, "verifier_raised": verifier_raised,
                   "first_error": example}),
        );
    }
    if let Some(err) = error {
        let at = tried.get(scores.len());
        let mut evidence = error_evidence(err);
        if let Some(t) = at {
            evidence["seed"] = json!(cases[t.case].seed);
            evidence["junk"] = json!(t.strategy);
        }
        c.error(
            CheckStage::Discrimination,
            FindingKind::VerifyFailed,
            format!(
                "scoring a junk answer{} failed: {err}",
                at.map(|t| format!(" ({} on seed {})", t.strategy, cases[t.case].seed))
                    .unwrap_or_default()
            ),
            evidence,
        );
    }

    // A case's score under a strategy is the best of its answers.
    let mut outcomes: Vec<judge::JunkOutcome> = Vec::new();
    let mut examples: Vec<(String, u64, String)> = Vec::new();
    let mut mutant_examples: Vec<(String, judge::MutantExample)> = Vec::new();
    for (t, &score) in tried.iter().zip(&scores) {
        let seed = cases[t.case].seed;
        if matches!(t.class, JunkClass::NearMiss | JunkClass::Overbroad) {
            // The first credited case per class, else the first tried.
            let example = || judge::MutantExample {
                seed,
                reference: clip(
                    reference_finals
                        .get(t.case)
                        .cloned()
                        .flatten()
                        .as_deref()
                        .unwrap_or("-"),
                    EXAMPLE_CHARS,
                ),
                mutant: clip(&mutant_answer(&t.text), EXAMPLE_CHARS),
                score,
            };
            match mutant_examples.iter_mut().find(|(s, _)| *s == t.strategy) {
                Some((_, e)) if !judge::full_credit(e.score) && judge::full_credit(score) => {
                    *e = example()
                }
                Some(_) => {}
                None => mutant_examples.push((t.strategy.clone(), example())),
            }
        }
        if judge::full_credit(score) {
            if t.class == JunkClass::ContentFree {
                c.metrics.junk_accepted += 1;
            }
            // The shortest credited answer per strategy: the plain variant
            // shows what was accepted better than the dressed one.
            match examples.iter_mut().find(|(s, _, _)| *s == t.strategy) {
                Some(e) if e.2.len() <= t.text.len() => {}
                Some(e) => *e = (t.strategy.clone(), seed, t.text.clone()),
                None => examples.push((t.strategy.clone(), seed, t.text.clone())),
            }
        }
        match outcomes
            .iter_mut()
            .rev()
            .take_while(|o| o.seed == seed)
            .find(|o| o.strategy == t.strategy)
        {
            Some(o) => o.score = o.score.max(score),
            None => outcomes.push(judge::JunkOutcome {
                seed,
                strategy: t.strategy.clone(),
                class: t.class,
                score,
            }),
        }
    }
    c.metrics.junk_tried = scores.len();
    let stats = judge::strategy_stats(&outcomes);
    let leaks = judge::echo_leaks(&outcomes);
    let scored_cases = {
        let mut seeds: Vec<u64> = outcomes.iter().map(|o| o.seed).collect();
        seeds.dedup();
        seeds.len()
    };
    for f in judge::junk_findings(&stats, leaks, scored_cases, c.config.accuracy_max) {
        let s = stats.iter().find(|s| s.strategy == f.strategy);
        let example = examples.iter().find(|(s, _, _)| *s == f.strategy);
        c.find(
            CheckStage::Discrimination,
            f.kind,
            if f.error {
                Severity::Error
            } else {
                Severity::Warning
            },
            f.message,
            json!({"junk": f.strategy, "seed": example.map(|e| e.1),
                   "answer": example.map(|e| answer_part(&e.2)), "stats": s}),
        );
    }
    let mutations = judge::mutation_reports(&stats, &outcomes, &mutant_examples, order_free);
    mutation_findings(c, CheckStage::Discrimination, &mutations);
    let baseline = judge::guess_baseline(&stats);
    let partial = if scored_cases < planned && error.is_none() {
        format!(" (of {planned}: scoring junk took longer than generating the cases)")
    } else {
        String::new()
    };
    let note = format!(
        "{} junk answers, {} strategies on {scored_cases} cases{partial}; guess baseline {}",
        scores.len(),
        stats.len(),
        baseline
            .as_ref()
            .map(|b| format!("{:.2} ({})", b.share, b.strategy))
            .unwrap_or_else(|| "-".into())
    );
    c.metrics.discrimination = Some(DiscriminationMetrics {
        junk_seed: seed,
        cases: scored_cases,
        cases_planned: planned,
        strategies: stats,
        guess_baseline: baseline,
        echo_leaks: leaks,
        mutations,
    });
    c.close(CheckStage::Discrimination, note);
}
