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
pub mod judge;

use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::llm::{ChatModel, Completion};
use crate::sandbox::{
    Call, CallResult, CaseResult, FollowUp, Limits, RunError, RunReport, RunSpec, Sandbox, Stage,
};

pub use judge::Band;

/// How reasoning is treated when grading solver answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum ThinkMode {
    /// Require a `<think>` block (`format_penalty`) when the solver produced
    /// reasoning (separately or inline), not for plain models.
    Auto,
    /// Always grade with `format_penalty`.
    On,
    /// Never grade with `format_penalty`.
    Off,
}

/// Settings of a check.
#[derive(Debug, Clone)]
pub struct CheckConfig {
    pub class: Option<String>,
    pub params: Map<String, Value>,
    /// Cases generated and checked (seeds 0..cases).
    pub cases: u32,
    /// Cases the solver answers (seeds 0..solver_cases).
    pub solver_cases: u32,
    pub accuracy_min: f64,
    pub accuracy_max: f64,
    /// `verify_score` flags for grading solver answers and junk.
    pub score_flags: Map<String, Value>,
    pub think: ThinkMode,
    /// Cases junk answers are tried against.
    pub junk_cases: u32,
    /// Below this share of distinct cases, the instance set is too narrow.
    pub diversity_min: f64,
    pub limits: Limits,
    /// The whole check's wall-clock limit (per-call limits alone would let a
    /// bootcamp that sleeps just under them take hours).
    pub max_duration: std::time::Duration,
}

impl Default for CheckConfig {
    fn default() -> Self {
        CheckConfig {
            class: None,
            params: Map::new(),
            cases: 20,
            solver_cases: 40,
            accuracy_min: 0.03,
            accuracy_max: 0.85,
            score_flags: Map::new(),
            think: ThinkMode::Auto,
            junk_cases: 5,
            diversity_min: 0.5,
            limits: Limits::default(),
            max_duration: std::time::Duration::from_secs(600),
        }
    }
}

/// The stages, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckStage {
    Static,
    Load,
    Generate,
    Prompt,
    SelfConsistency,
    Discrimination,
    Solver,
}

impl CheckStage {
    pub const ALL: [CheckStage; 7] = [
        CheckStage::Static,
        CheckStage::Load,
        CheckStage::Generate,
        CheckStage::Prompt,
        CheckStage::SelfConsistency,
        CheckStage::Discrimination,
        CheckStage::Solver,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CheckStage::Static => "static",
            CheckStage::Load => "load",
            CheckStage::Generate => "generate",
            CheckStage::Prompt => "prompt",
            CheckStage::SelfConsistency => "self_consistency",
            CheckStage::Discrimination => "discrimination",
            CheckStage::Solver => "solver",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Fails the check.
    Error,
    /// Reported; does not fail the check.
    Warning,
}

/// One problem, with the evidence behind it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub stage: CheckStage,
    /// A stable name: `syntax_error`, `no_bootcamp_class`, `missing_method`,
    /// `placeholder_verifier`, `simplification_marker`, `load_failed`,
    /// `generate_failed`, `not_json`, `nondeterministic`, `low_diversity`,
    /// `prompt_failed`, `empty_prompt`, `no_answer_format`, `reference_failed`,
    /// `reference_rejected`, `verify_failed`, `accepts_junk`,
    /// `accepts_other_case_answer`, `too_easy`, `too_hard_or_broken`,
    /// `solver_unavailable`.
    pub kind: &'static str,
    pub severity: Severity,
    pub message: String,
    pub evidence: Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StageStatus {
    Passed,
    Failed,
    /// Not run: an earlier stage failed, or nothing to check (no reference
    /// answer, no solver).
    Skipped,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageOutcome {
    pub stage: CheckStage,
    pub status: StageStatus,
    pub note: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Pass,
    Fail,
}

/// One solver answer and its grade.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SolverAttempt {
    pub seed: u64,
    pub prompt: String,
    /// The full output as graded (reasoning put back as `<think>`).
    pub response: Option<String>,
    pub score: f64,
    pub error: Option<String>,
    pub attempts: u32,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// The answer was cut off by max_tokens (graded as it is).
    pub truncated: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SolverMetrics {
    pub model: String,
    pub cases: usize,
    pub correct: usize,
    pub accuracy: f64,
    pub mean_score: f64,
    pub wilson_low: f64,
    pub wilson_high: f64,
    pub band: [f64; 2],
    pub verdict: Band,
    pub errors: usize,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub format_penalty: bool,
    /// Answers cut off by max_tokens, and their share of the cases: a solver
    /// that never finishes is information, not an error.
    pub truncated: usize,
    pub truncated_share: f64,
    pub attempts: Vec<SolverAttempt>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Metrics {
    pub cases: usize,
    pub distinct_cases: usize,
    pub diversity: Option<f64>,
    pub deterministic: Option<bool>,
    pub markers: usize,
    pub references_checked: usize,
    pub references_passed: usize,
    pub junk_tried: usize,
    pub junk_accepted: usize,
    pub solver: Option<SolverMetrics>,
    pub elapsed_ms: f64,
}

/// The result of a check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckReport {
    pub file: String,
    pub class: Option<String>,
    pub verdict: Verdict,
    pub findings: Vec<Finding>,
    pub stages: Vec<StageOutcome>,
    pub metrics: Metrics,
}

impl CheckReport {
    /// The first error finding, else the first warning.
    pub fn main_finding(&self) -> Option<&Finding> {
        self.findings
            .iter()
            .find(|f| f.severity == Severity::Error)
            .or_else(|| self.findings.first())
    }
}

fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max).collect();
    out.push_str(" …");
    out
}

fn error_evidence(err: &RunError) -> Value {
    json!({"error_kind": err.kind, "sandbox_stage": err.stage, "type": err.exc_type,
           "message": err.message, "traceback": err.traceback})
}

struct Checker<'a> {
    sandbox: &'a Sandbox,
    /// Every run of this check shares one queue ticket (see the pool).
    ticket: u64,
    config: &'a CheckConfig,
    file: String,
    source: String,
    findings: Vec<Finding>,
    stages: Vec<StageOutcome>,
    metrics: Metrics,
}

impl Checker<'_> {
    fn find(
        &mut self,
        stage: CheckStage,
        kind: &'static str,
        severity: Severity,
        message: String,
        evidence: Value,
    ) {
        self.findings.push(Finding {
            stage,
            kind,
            severity,
            message,
            evidence,
        });
    }

    fn error(&mut self, stage: CheckStage, kind: &'static str, message: String, evidence: Value) {
        self.find(stage, kind, Severity::Error, message, evidence);
    }

    fn stage(&mut self, stage: CheckStage, status: StageStatus, note: impl Into<String>) {
        self.stages.push(StageOutcome {
            stage,
            status,
            note: note.into(),
        });
    }

    /// Record the outcome of `stage` from the findings it produced.
    fn close(&mut self, stage: CheckStage, note: impl Into<String>) -> bool {
        let failed = self
            .findings
            .iter()
            .any(|f| f.stage == stage && f.severity == Severity::Error);
        self.stage(
            stage,
            if failed {
                StageStatus::Failed
            } else {
                StageStatus::Passed
            },
            note,
        );
        !failed
    }

    fn spec(&self, calls: Vec<Call>) -> RunSpec {
        let mut spec = RunSpec::new(self.file.clone(), self.source.clone());
        spec.class = self.config.class.clone();
        spec.params = self.config.params.clone();
        spec.limits = self.config.limits;
        spec.calls = calls;
        spec.priority = Some(self.ticket);
        spec
    }

    async fn run(&self, spec: RunSpec) -> RunReport {
        self.sandbox.run(spec).await
    }

    fn skip_rest(&mut self, reason: &str) {
        let done: Vec<CheckStage> = self.stages.iter().map(|s| s.stage).collect();
        for stage in CheckStage::ALL {
            if !done.contains(&stage) {
                self.stage(stage, StageStatus::Skipped, reason);
            }
        }
    }

    fn finish(mut self, class: Option<String>, started: Instant) -> CheckReport {
        self.metrics.elapsed_ms = started.elapsed().as_secs_f64() * 1e3;
        let verdict = if self.findings.iter().any(|f| f.severity == Severity::Error) {
            Verdict::Fail
        } else {
            Verdict::Pass
        };
        CheckReport {
            file: self.file,
            class,
            verdict,
            findings: self.findings,
            stages: self.stages,
            metrics: self.metrics,
        }
    }
}

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
    let class = match static_stage(&mut c, &run_a) {
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
    generate_stage(&mut c, &cases, &again);
    prompt_stage(&mut c, &cases);
    let issued = std::mem::take(&mut *issued.lock().unwrap_or_else(|p| p.into_inner()));
    let later: Vec<&CallResult> = run_a.results.iter().skip(cases.len()).collect();
    self_consistency_stage(&mut c, &cases, &issued, &later, run_a.error.as_ref());
    discrimination_stage(&mut c, &issued, &later, run_a.error.as_ref());

    // 7. Solver.
    // Cheapest first: no solver calls for a bootcamp already known broken.
    let failed = c.findings.iter().any(|f| f.severity == Severity::Error);
    match solver {
        Some(_) if failed => c.stage(
            CheckStage::Solver,
            StageStatus::Skipped,
            "an earlier stage failed",
        ),
        Some(model) => solver_stage(&mut c, &cases, model).await,
        None => c.stage(
            CheckStage::Solver,
            StageStatus::Skipped,
            "no solver model configured",
        ),
    }
    c.finish(Some(class), started)
}

fn static_stage(c: &mut Checker<'_>, run: &RunReport) -> Option<String> {
    let markers = judge::simplification_markers(&c.source);
    c.metrics.markers = markers.len();
    for hit in &markers {
        c.find(
            CheckStage::Static,
            "simplification_marker",
            Severity::Warning,
            format!(
                "line {}: {:?} suggests the task was simplified",
                hit.line, hit.marker
            ),
            json!({"line": hit.line, "marker": hit.marker, "text": hit.text}),
        );
    }
    let inspection = match (run.inspection.clone(), run.error.clone()) {
        (Some(inspection), _) => inspection,
        (None, err) => {
            let err = err.unwrap_or_else(|| {
                RunError::new(
                    crate::sandbox::ErrorKind::InvalidOutput,
                    Stage::Inspect,
                    "no inspection",
                )
            });
            c.error(
                CheckStage::Static,
                "inspect_failed",
                format!("the file could not be inspected: {err}"),
                error_evidence(&err),
            );
            c.close(CheckStage::Static, "");
            return None;
        }
    };
    if let Some(problem) = &inspection.syntax_error {
        c.error(
            CheckStage::Static,
            "syntax_error",
            format!("line {}: {}", problem.line, problem.message),
            json!({"line": problem.line, "column": problem.column, "message": problem.message}),
        );
        c.close(CheckStage::Static, "");
        return None;
    }
    let classes = judge::bootcamp_classes(&inspection);
    let class = match judge::choose_class(&classes, c.config.class.as_deref()) {
        Ok(class) => class,
        Err(message) => {
            let names: Vec<&str> = inspection.classes.iter().map(|c| c.name.as_str()).collect();
            c.error(
                CheckStage::Static,
                "no_bootcamp_class",
                message,
                json!({"classes": names}),
            );
            c.close(CheckStage::Static, "");
            return None;
        }
    };
    for method in judge::REQUIRED_METHODS {
        match judge::resolve_method(&inspection, class, method) {
            None => c.error(
                CheckStage::Static,
                "missing_method",
                format!("{} does not define {method}", class.name),
                json!({"class": class.name, "method": method}),
            ),
            Some((owner, info)) if method == "_verify_correction" && info.placeholder => c.error(
                CheckStage::Static,
                "placeholder_verifier",
                format!(
                    "{}._verify_correction (line {}) is a placeholder that checks nothing",
                    owner.name, info.line
                ),
                json!({"class": owner.name, "line": info.line}),
            ),
            Some(_) => {}
        }
    }
    let name = class.name.clone();
    let ok = c.close(
        CheckStage::Static,
        format!("class {name}, {} marker(s)", markers.len()),
    );
    let structural = c
        .findings
        .iter()
        .any(|f| f.stage == CheckStage::Static && f.kind == "missing_method");
    if !ok && structural {
        return None;
    }
    Some(name)
}

fn generate_stage(c: &mut Checker<'_>, cases: &[CaseResult], again: &RunReport) {
    let n = (c.config.cases as usize).min(cases.len());
    let checked = &cases[..n];
    // Determinism: the same seeds with other OS entropy and another clock.
    let mut deterministic = true;
    for (first, second) in checked.iter().zip(again.cases()) {
        if first.case_json != second.case_json {
            deterministic = false;
            c.error(
                CheckStage::Generate,
                "nondeterministic",
                format!(
                    "seed {} gave different cases when the clock and OS randomness changed: the generator uses entropy other than its seed",
                    first.seed
                ),
                json!({"seed": first.seed, "first": clip(&first.case_json, 400), "second": clip(&second.case_json, 400)}),
            );
            break;
        }
    }
    if deterministic && let Some(err) = &again.error {
        deterministic = false;
        c.error(
            CheckStage::Generate,
            "nondeterministic",
            format!("generating the same seeds again failed: {err}"),
            error_evidence(err),
        );
    }
    c.metrics.deterministic = Some(deterministic);
    let jsons: Vec<&str> = checked.iter().map(|case| case.case_json.as_str()).collect();
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
            "low_diversity",
            format!("only {distinct} distinct cases or prompts in {n} seeds ({ratio:.2} < {}): the instance set is too narrow", c.config.diversity_min),
            json!({"distinct_cases": distinct_cases, "distinct_prompts": distinct_prompts, "cases": n, "examples": examples}),
        );
    }
    c.close(
        CheckStage::Generate,
        format!("{n} cases, {distinct} distinct"),
    );
}

fn prompt_stage(c: &mut Checker<'_>, cases: &[CaseResult]) {
    let mut warned = false;
    for case in cases {
        if case.prompt.trim().is_empty() {
            c.error(
                CheckStage::Prompt,
                "empty_prompt",
                format!("prompt_func gave an empty prompt for seed {}", case.seed),
                json!({"seed": case.seed, "case": clip(&case.case_json, 300)}),
            );
            break;
        }
        if !warned && !judge::states_answer_format(&case.prompt) {
            warned = true;
            c.find(
                CheckStage::Prompt,
                "no_answer_format",
                Severity::Warning,
                format!(
                    "the prompt for seed {} does not say how to format the answer",
                    case.seed
                ),
                json!({"seed": case.seed, "prompt": clip(&case.prompt, 300)}),
            );
        }
    }
    c.close(CheckStage::Prompt, format!("{} prompts", cases.len()));
}

/// What the plan asked for after the cases, in order.
#[derive(Default)]
struct Issued {
    /// Cases asked for a reference answer (the first `n`).
    references: usize,
    /// Reference answers scored: (case index, answer).
    self_scores: Vec<(usize, String)>,
    /// Junk scored: (seed, kind, answer).
    junk: Vec<(u64, &'static str, String)>,
}

/// Decides the calls after the cases: references, then their scores and the
/// junk answers (which need the prompts and the references).
struct Plan {
    n: usize,
    k: usize,
    phase: u8,
    issued: Arc<std::sync::Mutex<Issued>>,
}

impl Plan {
    fn next(&mut self, results: &[CallResult]) -> Vec<Call> {
        let cases: Vec<&CaseResult> = results
            .iter()
            .filter_map(|r| {
                if let CallResult::Case(c) = r {
                    Some(c)
                } else {
                    None
                }
            })
            .collect();
        let mut issued = self.issued.lock().unwrap_or_else(|p| p.into_inner());
        match self.phase {
            0 => {
                self.phase = 1;
                let n = self.n.min(cases.len());
                issued.references = n;
                cases[..n]
                    .iter()
                    .map(|c| Call::Reference {
                        identity: c.case_json.clone(),
                    })
                    .collect()
            }
            1 => {
                self.phase = 2;
                let n = issued.references;
                let references: Vec<Option<String>> = results
                    .iter()
                    .filter_map(|r| {
                        if let CallResult::Reference { output } = r {
                            Some(output.clone())
                        } else {
                            None
                        }
                    })
                    .collect();
                let mut calls = Vec::new();
                for (index, (case, reference)) in cases[..n].iter().zip(&references).enumerate() {
                    if let Some(reference) = reference {
                        issued.self_scores.push((index, reference.clone()));
                        calls.push(Call::ScoreUnflagged {
                            identity: case.case_json.clone(),
                            answer: reference.clone(),
                        });
                    }
                }
                let k = self.k.min(n);
                for (i, case) in cases[..k].iter().enumerate() {
                    let mut junk: Vec<(&'static str, String)> =
                        judge::junk_answers(&case.prompt, case.seed)
                            .into_iter()
                            .map(|j| (j.kind, j.text))
                            .collect();
                    // Another case's reference answer, where it differs from this case's.
                    if references.len() > 1 {
                        let own = references.get(i).cloned().flatten();
                        if let Some(other) = references[(i + 1) % references.len()].as_ref()
                            && own.as_deref() != Some(other.as_str())
                        {
                            let text = if other.contains("</think>") {
                                other.clone()
                            } else {
                                judge::model_shaped(other)
                            };
                            junk.push(("other_case_answer", text));
                        }
                    }
                    for (kind, text) in junk {
                        calls.push(Call::Score {
                            identity: case.case_json.clone(),
                            answer: text.clone(),
                        });
                        issued.junk.push((case.seed, kind, text));
                    }
                }
                calls
            }
            _ => Vec::new(),
        }
    }
}

fn self_consistency_stage(
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
            "reference_failed",
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
            "verify_failed",
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
                "reference_rejected",
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

fn discrimination_stage(
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

async fn solver_stage(c: &mut Checker<'_>, cases: &[CaseResult], model: Arc<dyn ChatModel>) {
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
            truncated: false,
        };
        match answer {
            Some(Ok(done)) => {
                let text = done.graded_text();
                attempt.truncated = done.truncated();
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
        truncated: attempts.iter().filter(|a| a.truncated).count(),
        truncated_share: if n > 0 {
            attempts.iter().filter(|a| a.truncated).count() as f64 / n as f64
        } else {
            0.0
        },
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
