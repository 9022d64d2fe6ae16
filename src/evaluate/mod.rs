//! The self-consistency check of one bootcamp: staged, cheapest first, each
//! stage's outcome kept with its evidence.
//!
//! 1. *static*: the file parses; a `Basebootcamp` subclass with
//!    `case_generator`, `prompt_func`, `extract_output`, `_verify_correction`;
//!    simplification markers and placeholder verifier bodies;
//! 2. *load*: it imports and instantiates with the given (default) params;
//! 3. *generate*: N cases with seeds 0..N, JSON round-trip, determinism (a
//!    few of the same seeds again, spread over 0..N, with different OS
//!    entropy and clock give the same cases), diversity (distinct cases / N);
//! 4. *prompt*: a non-empty prompt per case that states an answer format;
//! 5. *self_consistency*: `reference_output(identity)`, when defined, scores 1
//!    on every case (skipped, not passed, when it is not defined);
//! 6. *discrimination*: every junk strategy on every case, built fresh per
//!    check and scored in an instance where no `reference_output` ran:
//!    content-free junk must never get full credit, the echoed prompt must
//!    not give the answer away, and the best guessing strategy's rate is the
//!    guess baseline (see [`junk`] and [`judge::junk_findings`]); near
//!    misses of the reference answer and over-broad answers must not get
//!    full credit on most cases (see [`nearmiss`] and
//!    [`judge::near_miss_findings`]);
//! 7. *solver*: with a solver model configured, S cases are answered and
//!    graded by the bootcamp's own `verify_score` in an instance of their
//!    own; the accuracy's point estimate must lie in the band, and the lower
//!    end of its 95% Wilson interval above the guess baseline; without a
//!    `reference_output`, the answers that score 1 are mutated into near
//!    misses instead.
//!
//! The `reference_output` convention: a static or class method
//! `reference_output(identity) -> str` on the bootcamp returns the final
//! answer text a correct model would give for the case, in the prompt's
//! answer format (for example `"[answer]42[/answer]"`), optionally preceded by
//! reasoning. bootforge scores it exactly as returned, with `verify_score`'s
//! default flags (no length or format penalty).
//!
//! Sandbox runs and model calls happen here; every judgement is a pure
//! function in [`judge`].

pub mod audit;
mod checker;
pub mod judge;
pub mod junk;
mod kind;
pub mod nearmiss;
mod report;
mod stages;
mod stored;

use std::sync::Arc;
use std::time::Instant;

use serde_json::json;

use crate::llm::ChatModel;
use crate::sandbox::{Call, CallResult, CaseResult, FollowUp, RunError, Sandbox, Stage};

use checker::{Checker, error_evidence};
pub use judge::Band;
pub use report::*;
use stages::plan::{Issued, Plan};
use stages::{discrimination, generate, prompt, self_consistency, solver, static_stage};
pub use stored::*;

/// Check one bootcamp file. Never fails: every problem is a finding.
pub async fn check(
    sandbox: &Sandbox,
    solver: Option<Arc<dyn ChatModel>>,
    file: &str,
    source: &str,
    config: &CheckConfig,
) -> CheckReport {
    let started = Instant::now();
    match tokio::time::timeout(
        config.max_duration,
        check_inner(sandbox, solver, file, source, config),
    )
    .await
    {
        Ok(report) => report,
        Err(_) => {
            let finding = Finding {
                stage: CheckStage::Static,
                kind: FindingKind::CheckTimeout,
                severity: Severity::Error,
                message: format!(
                    "the check did not finish within {} s: the bootcamp is too slow to use",
                    config.max_duration.as_secs()
                ),
                evidence: json!({"limit_s": config.max_duration.as_secs()}),
            };
            CheckReport {
                file: file.to_owned(),
                class: None,
                verdict: Verdict::Fail,
                findings: vec![finding],
                stages: CheckStage::ALL
                    .iter()
                    .map(|&stage| StageOutcome {
                        stage,
                        status: StageStatus::Skipped,
                        note: "the check timed out".into(),
                    })
                    .collect(),
                metrics: Metrics {
                    elapsed_ms: started.elapsed().as_secs_f64() * 1e3,
                    ..Metrics::default()
                },
            }
        }
    }
}

/// Check one bootcamp at a setting: `config`'s constructor parameters with
/// `params` laid over them. Calibration checks each setting it tries this
/// way (without a solver), and the setting it chooses (with the solver's
/// answers from its own stored calls), so both see what `check` would.
pub async fn check_at(
    sandbox: &Sandbox,
    solver: Option<Arc<dyn ChatModel>>,
    file: &str,
    source: &str,
    config: &CheckConfig,
    params: &serde_json::Map<String, serde_json::Value>,
) -> CheckReport {
    let mut config = config.clone();
    config.params.extend(params.clone());
    check(sandbox, solver, file, source, &config).await
}

async fn check_inner(
    sandbox: &Sandbox,
    solver: Option<Arc<dyn ChatModel>>,
    file: &str,
    source: &str,
    config: &CheckConfig,
) -> CheckReport {
    let started = Instant::now();
    let mut c = Checker {
        sandbox,
        ticket: crate::sandbox::next_ticket(),
        config,
        file: file.to_owned(),
        source: source.to_owned(),
        findings: Vec::new(),
        stages: Vec::new(),
        metrics: Metrics::default(),
        cpu: Vec::new(),
    };

    // One instance reads the syntax tree, loads the bootcamp, generates the
    // cases, then asks for references and their scores (a plan decides each
    // batch from the last). A second, below, reruns some seeds and scores
    // the junk. The stages judge their results in order.
    let n = config.cases as usize;
    let wanted = config.cases.max(if solver.is_some() {
        config.solver_cases
    } else {
        0
    });
    let seeds: Vec<u64> = (0..u64::from(wanted)).collect();
    let issued = Arc::new(std::sync::Mutex::new(Issued::default()));
    let mut plan = Plan {
        n,
        phase: 0,
        issued: issued.clone(),
    };
    let mut spec = c.spec(
        seeds
            .iter()
            .map(|&seed| Call::Case { seed, answer: None })
            .collect(),
    );
    spec.score_flags = config.score_flags.clone();
    spec.follow_up = Some(FollowUp::new(move |results, _| plan.next(results)));
    spec.inspect_first = true;
    let run_a = c.run(spec).await;
    let ms = |us: u64| us as f64 / 1e3;
    c.metrics.timings.instantiate_ms = ms(run_a.timings.instantiate_us);
    c.metrics.timings.load_ms = ms(run_a.timings.load_us);
    c.metrics.timings.cases_ms = ms(run_a.timings.calls_us);
    c.metrics.timings.main_ms = ms(run_a.timings.total_us);
    c.metrics.timings.main_wait_ms =
        started.elapsed().as_secs_f64() * 1e3 - c.metrics.timings.main_ms;

    // 1. Static.
    let class = match static_stage::static_stage(&mut c, &run_a) {
        Some(class) => class,
        None => {
            c.skip_rest("the static stage failed");
            return c.finish(None, started);
        }
    };

    // 2-6. Load, generate, prompt, self-consistency, discrimination.
    if let Some(err) = &run_a.error
        && matches!(err.stage, Stage::Instantiate | Stage::Load | Stage::Init)
    {
        let message = format!("the bootcamp does not load: {err}");
        c.error(
            CheckStage::Load,
            FindingKind::LoadFailed,
            message,
            error_evidence(err),
        );
        c.close(CheckStage::Load, "");
        c.skip_rest("the bootcamp does not load");
        return c.finish(Some(class), started);
    }
    c.close(CheckStage::Load, format!("{} loaded", class));
    let cases: Vec<CaseResult> = run_a.cases().cloned().collect();
    c.metrics.cases = cases.len();
    if cases.len() < seeds.len() {
        let err = run_a.error.clone().unwrap_or_else(|| {
            RunError::new(
                crate::sandbox::ErrorKind::InvalidOutput,
                Stage::Generate,
                "cases are missing",
            )
        });
        let seed = seeds.get(cases.len()).copied().unwrap_or(0);
        let (stage, kind) = match (err.stage, err.kind) {
            (Stage::Prompt, _) => (CheckStage::Prompt, FindingKind::PromptFailed),
            (_, crate::sandbox::ErrorKind::InvalidOutput) => {
                (CheckStage::Generate, FindingKind::NotJson)
            }
            _ => (CheckStage::Generate, FindingKind::GenerateFailed),
        };
        let mut evidence = error_evidence(&err);
        evidence["seed"] = json!(seed);
        let mut message = format!("case with seed {seed}: {err}");
        if err.kind == crate::sandbox::ErrorKind::Timeout {
            // The author needs the budget and how far the generator is from
            // it, not only that it ran out. The budget is CPU time (the
            // timeout's own message says so), so the cases before it are
            // measured in CPU time too.
            let budget_ms = config.limits.timeout.as_millis() as u64;
            let calls_cpu_ms = run_a.timings.calls_cpu_us as f64 / 1e3;
            let this_ms = err.budget.as_ref().map_or(budget_ms as f64, |b| b.cpu_ms);
            let before = cases.len();
            let per_case = (calls_cpu_ms - this_ms).max(0.0) / before.max(1) as f64;
            // What the same work costs outside the sandbox, so the author can
            // time the generator with their own python3.
            let native = |ms: f64| ms * crate::sandbox::NATIVE_SPEED;
            message.push_str(&format!(
                "; this case needs more than the {this_ms:.0} ms of CPU it ran for in the sandbox, \
                 that is more than roughly {:.0} ms under native CPython (the sandbox runs Python at about \
                 {:.2} of native speed, measured on a Latin-square generator and verifier: an approximation, \
                 it varies with the code)",
                native(this_ms),
                crate::sandbox::NATIVE_SPEED
            ));
            if before == 0 {
                message.push_str("; it was the first case");
            } else {
                message.push_str(&format!(
                    "; the {before} cases before it took {per_case:.1} ms of CPU each on average (roughly {:.1} ms natively)",
                    native(per_case)
                ));
            }
            evidence["case_cpu_ms"] = json!(this_ms.round());
            evidence["native_ms_estimate"] = json!(native(this_ms).round());
            evidence["budget_ms"] = json!(budget_ms);
            evidence["cases_before"] = json!(before);
            evidence["ms_per_case_before"] = json!((per_case * 10.0).round() / 10.0);
        }
        c.error(stage, kind, message, evidence);
        c.close(
            stage,
            format!("{} of {} cases generated", cases.len(), wanted),
        );
        c.skip_rest(if stage == CheckStage::Prompt {
            "a prompt failed"
        } else {
            "case generation failed"
        });
        return c.finish(Some(class), started);
    }
    let issued = std::mem::take(&mut *issued.lock().unwrap_or_else(|p| p.into_inner()));
    let later: Vec<&CallResult> = run_a.results.iter().skip(cases.len()).collect();
    let references: Vec<Option<String>> = later
        .iter()
        .take(issued.references)
        .filter_map(|r| match r {
            CallResult::Reference { output } => Some(output.clone()),
            _ => None,
        })
        .collect();
    let checked = &cases[..n.min(cases.len())];

    // A second instance, where no reference_output runs: the determinism
    // rerun of a few seeds (other OS entropy and clock), then every junk
    // answer. One instance for both keeps a check at two loads.
    let junk = discrimination::plan(&c, checked, &references);
    let rerun_calls: Vec<Call> = rerun_seeds(n, DETERMINISM_CASES)
        .into_iter()
        .map(|seed| Call::Case { seed, answer: None })
        .collect();
    let reruns = rerun_calls.len();
    let mut junk_calls: std::collections::VecDeque<Call> = junk.calls.clone().into();
    let first_junk = junk_calls.len().min(MIN_JUNK_CASES);
    let mut second = c.spec(
        rerun_calls
            .into_iter()
            .chain(junk_calls.drain(..first_junk))
            .collect(),
    );
    second.entropy_salt = 1;
    second.score_flags = config.score_flags.clone();
    // Past the first cases, a case's junk only while the time budget lasts:
    // a verifier that takes seconds per answer must not make the check take
    // hours. The rates say on how many cases they rest. The budget is CPU
    // time, like the per-call budgets, so a busy machine scores the junk of
    // as many cases as a quiet one.
    let budget = junk_budget(run_a.timings.calls_cpu_us);
    let mut clock: Option<std::time::Duration> = None;
    second.follow_up = Some(FollowUp::new(move |_, progress| {
        let started = *clock.get_or_insert(progress.calls_cpu);
        match junk_calls.pop_front() {
            Some(call) if progress.calls_cpu.saturating_sub(started) < budget => vec![call],
            _ => Vec::new(),
        }
    }));
    let before_second = Instant::now();
    let again = c.run(second).await;
    c.metrics.timings.second_wait_ms =
        before_second.elapsed().as_secs_f64() * 1e3 - ms(again.timings.total_us);
    c.metrics.timings.rerun_and_junk_ms = ms(again.timings.total_us);
    // The rerun's error belongs to determinism only while the rerun ran.
    let rerun_failed = again.results.len() < reruns;
    let (rerun_error, junk_error) = if rerun_failed {
        (again.error.clone(), None)
    } else {
        (None, again.error.clone())
    };

    generate::generate_stage(&mut c, &cases, &again, rerun_error.as_ref());
    prompt::prompt_stage(&mut c, &cases);
    self_consistency::self_consistency_stage(&mut c, &cases, &issued, &later, run_a.error.as_ref());
    if rerun_failed {
        c.stage(
            CheckStage::Discrimination,
            StageStatus::Skipped,
            "the determinism rerun failed before the junk was scored",
        );
    } else {
        let junk_results: Vec<&CallResult> = again.results.iter().skip(reruns).collect();
        discrimination::discrimination_stage(
            &mut c,
            checked,
            junk,
            &junk_results,
            junk_error.as_ref(),
        );
    }

    // 7. Solver.
    // Cheapest first: no solver calls for a bootcamp already known broken.
    let failed = c.findings.iter().any(|f| f.severity == Severity::Error);
    match solver {
        Some(_) if failed => c.stage(
            CheckStage::Solver,
            StageStatus::Skipped,
            "an earlier stage failed",
        ),
        Some(model) => solver::solver_stage(&mut c, &cases, model).await,
        None => c.stage(
            CheckStage::Solver,
            StageStatus::Skipped,
            "no solver model configured",
        ),
    }
    c.finish(Some(class), started)
}

/// Cases whose junk is always scored, whatever it costs.
const MIN_JUNK_CASES: usize = 5;

/// How much CPU time the junk of the remaining cases may take: as much as
/// the main run's calls (cases, references and their scores) took, and at
/// least 2 s (light bootcamps, the vast majority, never reach it).
fn junk_budget(main_calls_cpu_us: u64) -> std::time::Duration {
    std::time::Duration::from_micros(main_calls_cpu_us).max(std::time::Duration::from_secs(2))
}

/// The seeds the determinism rerun repeats: `wanted` of `0..n`, spread
/// evenly (all of them when `wanted` is at least `n`).
fn rerun_seeds(n: usize, wanted: u32) -> Vec<u64> {
    let d = (wanted as usize).min(n);
    (0..d).map(|i| (i * n / d.max(1)) as u64).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_rerun_spreads_its_seeds() {
        assert_eq!(super::rerun_seeds(20, 5), [0, 4, 8, 12, 16]);
        assert_eq!(super::rerun_seeds(3, 5), [0, 1, 2]);
        assert_eq!(super::rerun_seeds(4, 4), [0, 1, 2, 3]);
        assert!(super::rerun_seeds(0, 5).is_empty());
    }
}
