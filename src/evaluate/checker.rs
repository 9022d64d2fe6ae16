//! The state one check accumulates (findings, stage outcomes, metrics) and
//! the small helpers every stage uses to record them and to run the sandbox.

use std::time::Instant;

use serde_json::{Value, json};

use super::{
    CheckConfig, CheckReport, CheckStage, Finding, Metrics, Severity, StageOutcome, StageStatus,
    Verdict,
};
use crate::sandbox::{Call, RunError, RunReport, RunSpec, Sandbox};

pub(crate) fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max).collect();
    out.push_str(" …");
    out
}

pub(crate) fn error_evidence(err: &RunError) -> Value {
    json!({"error_kind": err.kind, "sandbox_stage": err.stage, "type": err.exc_type,
           "message": err.message, "traceback": err.traceback})
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
}

impl Checker<'_> {
    pub(crate) fn find(
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

    pub(crate) fn error(
        &mut self,
        stage: CheckStage,
        kind: &'static str,
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

    pub(crate) fn spec(&self, calls: Vec<Call>) -> RunSpec {
        let mut spec = RunSpec::new(self.file.clone(), self.source.clone());
        spec.class = self.config.class.clone();
        spec.params = self.config.params.clone();
        spec.limits = self.config.limits;
        spec.calls = calls;
        spec.priority = Some(self.ticket);
        spec
    }

    pub(crate) async fn run(&self, spec: RunSpec) -> RunReport {
        self.sandbox.run(spec).await
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
