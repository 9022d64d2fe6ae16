//! The types a check produces and is configured with: settings, stages,
//! findings, metrics and the report itself (what `--json`, campaign
//! evaluations and the audit serialise).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::judge::{Band, GuessBaseline, MutationReport, StrategyStats};
pub use super::kind::FindingKind;
use crate::sandbox::{BudgetClock, Limits, Stage};

/// How reasoning is treated when grading solver answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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

/// Default number of seeds the determinism rerun repeats. A generator that
/// reads the clock or OS entropy differs on nearly every seed, so a few seeds
/// find it; generating every case twice was a third of a heavy bootcamp's
/// check.
pub const DETERMINISM_CASES: u32 = 5;

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
    /// The seed junk answers are built from; `None`: a fresh one per check
    /// (so a verifier cannot learn the junk's shape), recorded in the report.
    pub junk_seed: Option<u64>,
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
            junk_seed: None,
            diversity_min: 0.5,
            limits: Limits::default(),
            max_duration: std::time::Duration::from_secs(600),
        }
    }
}

/// The stages, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Fails the check.
    Error,
    /// Reported; does not fail the check.
    Warning,
}

/// One problem, with the evidence behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub stage: CheckStage,
    /// What the finding is about, serialised as its stable name.
    pub kind: FindingKind,
    pub severity: Severity,
    pub message: String,
    pub evidence: Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StageStatus {
    Passed,
    Failed,
    /// Could not be judged: every error of the stage says that something
    /// outside the bootcamp failed ([`FindingKind::is_undecided`]).
    Undecided,
    /// Not run: an earlier stage failed, or nothing to check (no reference
    /// answer, no solver).
    Skipped,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageOutcome {
    pub stage: CheckStage,
    pub status: StageStatus,
    pub note: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Pass,
    Fail,
    /// The bootcamp could not be judged: every error says that something
    /// outside it (the solver endpoint) failed, none that it is bad.
    Undecided,
}

impl Verdict {
    /// The verdict over a check's findings: any error fails it, unless
    /// every error says the check could not judge the bootcamp
    /// ([`FindingKind::is_undecided`]).
    pub fn of(findings: &[Finding]) -> Verdict {
        let mut errors = findings.iter().filter(|f| f.severity == Severity::Error);
        match errors.clone().next() {
            None => Verdict::Pass,
            Some(_) if errors.all(|f| f.kind.is_undecided()) => Verdict::Undecided,
            Some(_) => Verdict::Fail,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Undecided => "undecided",
        }
    }
}

/// One solver answer and its grade.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SolverAttempt {
    pub seed: u64,
    /// The case as the generator made it (JSON, clipped to 2 KiB).
    pub case: String,
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// The best guessing strategy's share of full credit (discrimination
    /// stage), which the solver's accuracy must clear.
    pub guess_baseline: Option<f64>,
    /// Whether the solver's 95% interval lies above the guess baseline.
    pub headroom: Option<bool>,
    pub attempts: Vec<SolverAttempt>,
    /// Near-miss mutants of the answers that scored 1, per class (only for
    /// bootcamps without `reference_output`, whose references the
    /// discrimination stage mutates instead).
    pub mutations: Vec<MutationReport>,
}

/// What the discrimination stage measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiscriminationMetrics {
    /// The seed the junk was built from (replay it with `junk_seed`).
    pub junk_seed: u64,
    /// Cases whose junk was scored ...
    pub cases: usize,
    /// ... of the cases checked (fewer when the time budget ran out).
    pub cases_planned: usize,
    pub strategies: Vec<StrategyStats>,
    pub guess_baseline: Option<GuessBaseline>,
    /// Cases where the echoed prompt got full credit and no constant guess
    /// did: the prompt gives the answer away.
    pub echo_leaks: usize,
    /// Each near-miss and over-broad class tried: its rate, how it was
    /// judged and a case as evidence.
    pub mutations: Vec<MutationReport>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
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
    /// Every junk strategy on every case: per-strategy rates, the guess
    /// baseline (absent when the stage did not run).
    pub discrimination: Option<DiscriminationMetrics>,
    pub solver: Option<SolverMetrics>,
    pub elapsed_ms: f64,
    /// Where the check's time went.
    pub timings: StageTimings,
    /// How much of the per-call budget each sandbox stage used at most.
    pub budget: BudgetMetrics,
}

/// The per-call budget and, per sandbox stage, the most CPU time one call
/// used: a stage near 1.0 is slow on every machine, a timeout with a share
/// far past it is endless.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BudgetMetrics {
    /// The clock the budget is counted on.
    pub clock: BudgetClock,
    /// The per-call budget, ms.
    pub budget_ms: f64,
    /// The per-call wall-clock ceiling, ms.
    pub wall_ceiling_ms: f64,
    pub stages: Vec<StageBudget>,
}

/// One sandbox stage's calls over every run of a check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageBudget {
    pub stage: Stage,
    pub calls: u32,
    /// The most CPU time one call used, ms.
    pub max_cpu_ms: f64,
    pub total_cpu_ms: f64,
    /// `max_cpu_ms` over the budget.
    pub max_share: f64,
}

/// Wall time of each sandbox run of a check, milliseconds, so a slow check
/// shows where its time went; the runs follow one another.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StageTimings {
    /// The main run, whole (inspection included).
    pub main_ms: f64,
    /// Time before the main run's result arrived that it did not run:
    /// queueing for a sandbox worker, building the check.
    pub main_wait_ms: f64,
    /// The same for the second instance.
    pub second_wait_ms: f64,
    /// Instantiation of the main run.
    pub instantiate_ms: f64,
    /// Loading the file (compile and execute) in the main run.
    pub load_ms: f64,
    /// The main run's calls: cases, prompts, references and their scores.
    pub cases_ms: f64,
    /// The second instance, whole: the determinism rerun and the junk.
    pub rerun_and_junk_ms: f64,
    /// Grading the solver's answers, whole (model calls excluded).
    pub solver_grading_ms: f64,
}

/// The result of a check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

    /// The first error finding, if any.
    pub fn first_error(&self) -> Option<&Finding> {
        self.findings.iter().find(|f| f.severity == Severity::Error)
    }
}

/// The guess baseline recorded in a stored report (`report_json` of an
/// evaluation), for lineage views that show it beside the accuracy.
pub fn stored_guess_baseline(report_json: &str) -> Option<f64> {
    super::StoredReport::parse(report_json).guess_baseline()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(kind: &str, severity: Severity) -> Finding {
        Finding {
            stage: CheckStage::Solver,
            kind: FindingKind::from_name(kind).expect("a finding kind"),
            severity,
            message: String::new(),
            evidence: Value::Null,
        }
    }

    #[test]
    fn an_unreachable_solver_leaves_the_bootcamp_undecided_not_failed() {
        use Severity::{Error, Warning};
        assert_eq!(
            Verdict::of(&[finding("guess_credit", Warning)]),
            Verdict::Pass
        );
        assert_eq!(
            Verdict::of(&[
                finding("guess_credit", Warning),
                finding("solver_unavailable", Error)
            ]),
            Verdict::Undecided
        );
        // A bootcamp shown bad is bad, whatever else could not be judged.
        assert_eq!(
            Verdict::of(&[
                finding("solver_unavailable", Error),
                finding("accepts_junk", Error)
            ]),
            Verdict::Fail
        );
    }
}
