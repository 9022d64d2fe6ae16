//! The types a check produces and is configured with: settings, stages,
//! findings, metrics and the report itself (what `--json`, campaign
//! evaluations and the audit serialise).

use serde::Serialize;
use serde_json::{Map, Value};

use super::judge::Band;
use crate::sandbox::Limits;

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
