//! The self-consistency check of one bootcamp: staged, cheapest first, each
//! stage's outcome kept with its evidence.
//!
//! 1. *static*: the file parses; a `Basebootcamp` subclass with
//!    `case_generator`, `prompt_func`, `extract_output`, `_verify_correction`;
//!    simplification markers and placeholder verifier bodies;
//! 2. *load*: it imports and instantiates with the given (default) params;
//! 3. *generate*: N cases with seeds 0..N, JSON round-trip, determinism (the
//!    same seeds again with different OS entropy and clock give the same
//!    cases), diversity (distinct cases / N);
//! 4. *prompt*: a non-empty prompt per case that states an answer format;
//! 5. *self_consistency*: `reference_output(identity)`, when defined, scores 1
//!    on every case (skipped, not passed, when it is not defined);
//! 6. *discrimination*: junk answers shaped like real model output (empty,
//!    the prompt echoed, empty answer tags, random text, another case's
//!    reference answer) must not score 1;
//! 7. *solver*: with a solver model configured, S cases are answered and
//!    graded by the bootcamp's own `verify_score`; the accuracy's point
//!    estimate must lie in the band (95% Wilson interval reported).
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
mod report;
mod stages;

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
                kind: "check_timeout",
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
    };

    // One instance reads the syntax tree, loads the bootcamp, generates the
    // cases, then asks for references, their scores and the junk answers (a
    // plan decides each batch from the last); the determinism rerun runs
    // alongside it in another. The stages below judge their results in order.
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
        k: config.junk_cases as usize,
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
    spec.follow_up = Some(FollowUp::new(move |results| plan.next(results)));
    spec.inspect_first = true;
    let mut rerun = c.spec(
        seeds
            .iter()
            .take(n)
            .map(|&seed| Call::Case { seed, answer: None })
            .collect(),
    );
    rerun.entropy_salt = 1;
    let (run_a, again) = tokio::join!(c.run(spec), c.run(rerun));

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
            "load_failed",
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
            (Stage::Prompt, _) => (CheckStage::Prompt, "prompt_failed"),
            (_, crate::sandbox::ErrorKind::InvalidOutput) => (CheckStage::Generate, "not_json"),
            _ => (CheckStage::Generate, "generate_failed"),
        };
        let mut evidence = error_evidence(&err);
        evidence["seed"] = json!(seed);
        c.error(
            stage,
            kind,
            format!("case with seed {seed}: {err}"),
            evidence,
        );
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
    generate::generate_stage(&mut c, &cases, &again);
    prompt::prompt_stage(&mut c, &cases);
    let issued = std::mem::take(&mut *issued.lock().unwrap_or_else(|p| p.into_inner()));
    let later: Vec<&CallResult> = run_a.results.iter().skip(cases.len()).collect();
    self_consistency::self_consistency_stage(&mut c, &cases, &issued, &later, run_a.error.as_ref());
    discrimination::discrimination_stage(&mut c, &issued, &later, run_a.error.as_ref());

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
