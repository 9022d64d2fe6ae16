//! The state one check accumulates (findings, stage outcomes, metrics) and
//! the small helpers every stage uses to record them and to run the sandbox.

use std::time::Instant;

use serde_json::{Value, json};

use super::report::{BudgetMetrics, FindingKind, StageBudget};
use super::{
    CheckConfig, CheckReport, CheckStage, Finding, Metrics, Severity, StageOutcome, StageStatus,
    Verdict,
};
use crate::sandbox::{
    BudgetClock, Call, Limits, RunError, RunReport, RunSpec, Sandbox, Stage, StageCpu,
    add_stage_cpu,
};

pub(crate) fn error_evidence(err: &RunError) -> Value {
    let mut evidence = json!({"error_kind": err.kind, "sandbox_stage": err.stage, "type": err.exc_type,
           "message": err.message, "traceback": err.traceback});
    if let Some(budget) = &err.budget {
        evidence["budget"] = json!(budget);
    }
    evidence
}

/// A call that used at least this share of its CPU budget and finished is
/// reported: on a machine half as fast it would time out.
pub(crate) const NEAR_BUDGET: f64 = 0.5;

/// Per sandbox stage, the most CPU time one call used, against the budget.
fn budget_metrics(limits: &Limits, cpu: &[StageCpu]) -> BudgetMetrics {
    let budget_ms = limits.timeout.as_secs_f64() * 1e3;
    BudgetMetrics {
        clock: BudgetClock::Cpu,
        budget_ms,
        wall_ceiling_ms: limits.wall_ceiling().as_secs_f64() * 1e3,
        stages: cpu
            .iter()
            .map(|s| {
                let max_cpu_ms = s.max_cpu_us as f64 / 1e3;
                StageBudget {
                    stage: s.stage,
                    calls: s.calls,
                    max_cpu_ms,
                    total_cpu_ms: s.total_cpu_us as f64 / 1e3,
                    max_share: if budget_ms > 0.0 {
                        max_cpu_ms / budget_ms
                    } else {
                        0.0
                    },
                }
            })
            .collect(),
    }
}

/// The stages whose slowest call finished near (not past) its CPU budget,
/// with the share used (CPU time measures what a call costs on any machine).
fn judge_near_budget(budget: &BudgetMetrics) -> Vec<(StageBudget, f64)> {
    budget
        .stages
        .iter()
        .filter(|s| (NEAR_BUDGET..1.0).contains(&s.max_share))
        .map(|s| (s.clone(), s.max_share))
        .collect()
}

/// The check stage a sandbox stage's calls belong to, for findings.
fn check_stage_of(stage: Stage) -> CheckStage {
    match stage {
        Stage::Instantiate | Stage::Inspect | Stage::Load | Stage::Init => CheckStage::Load,
        Stage::Generate => CheckStage::Generate,
        Stage::Prompt => CheckStage::Prompt,
        Stage::Reference => CheckStage::SelfConsistency,
        // Verify calls score references, junk and solver answers; the junk
        // is where a verifier is run hardest.
        Stage::Verify => CheckStage::Discrimination,
    }
}

pub(crate) struct Checker<'a> {
    pub(crate) sandbox: &'a Sandbox,
    /// Every run of this check shares one queue ticket (see the pool).
    pub(crate) ticket: u64,
    pub(crate) config: &'a CheckConfig,
    pub(crate) file: String,
    pub(crate) source: String,
    pub(crate) findings: Vec<Finding>,
    pub(crate) stages: Vec<StageOutcome>,
    pub(crate) metrics: Metrics,
    /// CPU time per sandbox stage over every run of the check.
    pub(crate) cpu: Vec<StageCpu>,
}

impl Checker<'_> {
    pub(crate) fn find(
        &mut self,
        stage: CheckStage,
        kind: FindingKind,
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

    pub(crate) fn error(
        &mut self,
        stage: CheckStage,
        kind: FindingKind,
        message: String,
        evidence: Value,
    ) {
        self.find(stage, kind, Severity::Error, message, evidence);
    }

    pub(crate) fn stage(
        &mut self,
        stage: CheckStage,
        status: StageStatus,
        note: impl Into<String>,
    ) {
        self.stages.push(StageOutcome {
            stage,
            status,
            note: note.into(),
        });
    }

    /// Record the outcome of `stage` from the findings it produced.
    pub(crate) fn close(&mut self, stage: CheckStage, note: impl Into<String>) -> bool {
        let mut errors = self
            .findings
            .iter()
            .filter(|f| f.stage == stage && f.severity == Severity::Error)
            .peekable();
        let failed = errors.peek().is_some();
        // A stage whose only errors say the check could not judge (the
        // solver endpoint failed) is undecided, like the verdict: showing
        // it as failed would blame the bootcamp.
        let status = if !failed {
            StageStatus::Passed
        } else if errors.all(|f| f.kind.is_undecided()) {
            StageStatus::Undecided
        } else {
            StageStatus::Failed
        };
        self.stage(stage, status, note);
        !failed
    }

    pub(crate) fn spec(&self, calls: Vec<Call>) -> RunSpec {
        let mut spec = RunSpec::new(self.file.clone(), self.source.clone());
        spec.class = self.config.class.clone();
        spec.params = self.config.params.clone();
        spec.limits = self.config.limits;
        spec.calls = calls;
        spec.priority = Some(self.ticket);
        spec
    }

    /// Run `spec`, adding its CPU time per stage to the budget metrics.
    pub(crate) async fn run(&mut self, spec: RunSpec) -> RunReport {
        let report = self.sandbox.run(spec).await;
        for s in &report.cpu {
            add_stage_cpu(
                &mut self.cpu,
                s.stage,
                s.calls,
                s.max_cpu_us,
                s.total_cpu_us,
            );
        }
        report
    }

    pub(crate) fn skip_rest(&mut self, reason: &str) {
        let done: Vec<CheckStage> = self.stages.iter().map(|s| s.stage).collect();
        for stage in CheckStage::ALL {
            if !done.contains(&stage) {
                self.stage(stage, StageStatus::Skipped, reason);
            }
        }
    }

    pub(crate) fn finish(mut self, class: Option<String>, started: Instant) -> CheckReport {
        self.metrics.elapsed_ms = started.elapsed().as_secs_f64() * 1e3;
        self.metrics.budget = budget_metrics(&self.config.limits, &self.cpu);
        for (stage, used) in judge_near_budget(&self.metrics.budget) {
            let b = &self.metrics.budget;
            self.find(
                check_stage_of(stage.stage),
                FindingKind::NearBudget,
                Severity::Warning,
                format!(
                    "a {} call used {:.0} ms of its {:.0} ms CPU budget ({:.0}%): it passes here, but \
                     would time out on a machine {:.1}x slower (raise --timeout-ms, or make it cheaper)",
                    stage.stage,
                    stage.max_cpu_ms,
                    b.budget_ms,
                    used * 100.0,
                    1.0 / used
                ),
                json!({"sandbox_stage": stage.stage, "max_cpu_ms": stage.max_cpu_ms,
                       "budget_ms": b.budget_ms, "share": used}),
            );
        }
        let verdict = Verdict::of(&self.findings);
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
