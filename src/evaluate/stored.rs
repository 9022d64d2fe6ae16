//! [`StoredReport`]: a check report as read back from the store
//! (`report_json` of an evaluation or a review item), typed, for the readers
//! that render or summarise it.
//!
//! A [`CheckReport`](super::CheckReport) deserialises exactly, but only a
//! report of this version: its enums refuse names they do not know. The
//! store holds reports of every version, so this read side is lenient by
//! construction:
//! - a field missing from an older report takes its default (`None`, empty);
//! - fields it does not name (a newer version's metrics, a stage's metrics
//!   no reader uses) are ignored, so they never fail the read;
//! - names (a finding's kind, stage and severity, a mutation's judgement and
//!   verdict) stay strings: a kind an older version wrote and this one no
//!   longer knows is still shown, and [`StoredFinding::kind`] gives the
//!   [`FindingKind`] where a reader branches on it;
//! - numbers a report may hold as `null` (a share of nothing serialises as
//!   `null`) are options.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::FindingKind;

/// A stored check report: the parts readers use.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct StoredReport {
    pub file: Option<String>,
    pub class: Option<String>,
    pub verdict: Option<String>,
    pub findings: Vec<StoredFinding>,
    pub metrics: StoredMetrics,
}

impl StoredReport {
    /// The report in `report_json`; an unreadable one reads as empty (every
    /// field absent), as a report a reader cannot use says nothing.
    pub fn parse(report_json: &str) -> StoredReport {
        serde_json::from_str(report_json).unwrap_or_default()
    }

    /// The guess baseline's share of full credit, if the discrimination
    /// stage recorded one.
    pub fn guess_baseline(&self) -> Option<f64> {
        self.metrics
            .discrimination
            .as_ref()?
            .guess_baseline
            .as_ref()?
            .share
    }

    /// The near-miss and over-broad classes tried: from the references
    /// (discrimination stage), then from the solver's right answers.
    pub fn mutations(&self) -> impl Iterator<Item = &StoredMutation> {
        let discrimination = self
            .metrics
            .discrimination
            .iter()
            .flat_map(|d| &d.mutations);
        let solver = self.metrics.solver.iter().flat_map(|s| &s.mutations);
        discrimination.chain(solver)
    }
}

/// One finding as stored. It serialises back as it was stored (fields it
/// does not name kept in `extra`), so a reader that passes findings on as
/// JSON shows a newer version's findings whole.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StoredFinding {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    /// The kind's name, as written (see [`StoredFinding::kind`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    pub evidence: Value,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl StoredFinding {
    /// The kind, when this version knows its name.
    pub fn kind(&self) -> Option<FindingKind> {
        self.kind.as_deref().and_then(FindingKind::from_name)
    }

    /// Whether it failed the check (a finding of no known severity is
    /// counted as a warning, as it failed nothing this version can tell).
    pub fn is_error(&self) -> bool {
        self.severity.as_deref() == Some("error")
    }
}

/// The metrics readers use: per stage, the stage's own typed struct.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct StoredMetrics {
    pub diversity: Option<f64>,
    pub discrimination: Option<StoredDiscrimination>,
    pub solver: Option<StoredSolver>,
}

/// The discrimination stage's metrics readers use.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct StoredDiscrimination {
    pub guess_baseline: Option<StoredGuessBaseline>,
    pub mutations: Vec<StoredMutation>,
}

/// The best guessing strategy's share of full credit (see
/// [`GuessBaseline`](super::judge::GuessBaseline)).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct StoredGuessBaseline {
    pub strategy: Option<String>,
    pub share: Option<f64>,
}

/// The solver stage's metrics readers use.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct StoredSolver {
    pub model: Option<String>,
    pub cases: Option<u64>,
    pub accuracy: Option<f64>,
    pub wilson_low: Option<f64>,
    pub wilson_high: Option<f64>,
    pub attempts: Vec<StoredAttempt>,
    pub mutations: Vec<StoredMutation>,
}

impl StoredSolver {
    /// The accuracy's 95% interval, when both ends are recorded.
    pub fn interval(&self) -> Option<[f64; 2]> {
        Some([self.wilson_low?, self.wilson_high?])
    }
}

/// One solver answer and its grade, as stored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StoredAttempt {
    pub seed: Option<u64>,
    /// The case as the generator made it (JSON text, clipped).
    pub case: Option<String>,
    pub prompt: Option<String>,
    pub response: Option<String>,
    pub score: Option<f64>,
    pub error: Option<String>,
}

/// One near-miss or over-broad class as stored (see
/// [`MutationReport`](super::judge::MutationReport)).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct StoredMutation {
    pub strategy: Option<String>,
    /// How its credit was judged, by name.
    pub judged: Option<String>,
    /// What its credit came to, by name.
    pub verdict: Option<String>,
    pub cases: Option<u64>,
    pub full_credit: Option<u64>,
    pub share: Option<f64>,
    pub wilson_low: Option<f64>,
    pub wilson_high: Option<f64>,
    pub example: Option<StoredExample>,
}

impl StoredMutation {
    /// Whether any case gave one of its mutants full credit.
    pub fn credited(&self) -> bool {
        self.full_credit.unwrap_or(0) > 0
    }
}

/// A case where a mutant was tried (see
/// [`MutantExample`](super::judge::MutantExample)).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct StoredExample {
    pub seed: Option<u64>,
    pub reference: Option<String>,
    pub mutant: Option<String>,
    pub score: Option<f64>,
}

/// A stored number as JSON writes it (`1.0`, not Rust's `1`; `null` when
/// absent), so text rendered from a typed field reads as it did when
/// rendered from the JSON value.
pub fn json_number<T: Into<Value>>(n: Option<T>) -> Value {
    n.map_or(Value::Null, Into::into)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::judge::{
        Band, GuessBaseline, MutantExample, MutationReport, MutationVerdict, StrategyStats,
    };
    use crate::evaluate::junk::JunkClass;
    use crate::evaluate::nearmiss::{Judged, Mutation};
    use crate::evaluate::{
        BudgetMetrics, CheckReport, CheckStage, DiscriminationMetrics, Finding, Metrics, Severity,
        SolverAttempt, SolverMetrics, StageBudget, StageOutcome, StageStatus, StageTimings,
        Verdict,
    };
    use crate::sandbox::{BudgetClock, Stage};
    use serde_json::json;

    fn mutation(class: Mutation, full_credit: usize) -> MutationReport {
        MutationReport {
            class,
            strategy: format!("{class:?}"),
            what: class.describe().into(),
            judged: Judged::Content,
            verdict: MutationVerdict::Warns,
            cases: 10,
            full_credit,
            beyond_guess: full_credit,
            share: full_credit as f64 / 10.0,
            wilson_low: 0.05,
            wilson_high: 0.4,
            example: Some(MutantExample {
                seed: 3,
                reference: "42".into(),
                mutant: "43".into(),
                score: 1.0,
            }),
        }
    }

    /// A report with every stage's metrics filled in.
    fn full_report() -> CheckReport {
        let attempt = SolverAttempt {
            seed: 7,
            case: "{\"n\": 4}".into(),
            prompt: "Sum the numbers.".into(),
            response: Some("[answer]10[/answer]".into()),
            score: 1.0,
            error: None,
            attempts: 1,
            prompt_tokens: 12,
            completion_tokens: 5,
            truncated: false,
        };
        CheckReport {
            file: "sum.py".into(),
            class: Some("Sumbootcamp".into()),
            verdict: Verdict::Fail,
            findings: vec![Finding {
                stage: CheckStage::Solver,
                kind: FindingKind::TooEasy,
                severity: Severity::Error,
                message: "accuracy 0.95 above the band".into(),
                evidence: json!({"accuracy": 0.95}),
            }],
            stages: vec![StageOutcome {
                stage: CheckStage::Solver,
                status: StageStatus::Failed,
                note: "too easy".into(),
            }],
            metrics: Metrics {
                cases: 20,
                distinct_cases: 19,
                diversity: Some(0.95),
                deterministic: Some(true),
                discrimination: Some(DiscriminationMetrics {
                    junk_seed: 99,
                    cases: 20,
                    cases_planned: 20,
                    strategies: vec![StrategyStats {
                        strategy: "empty".into(),
                        class: JunkClass::ContentFree,
                        cases: 20,
                        full_credit: 0,
                        share: 0.0,
                        mean_score: 0.0,
                        wilson_low: 0.0,
                        wilson_high: 0.16,
                        credited_seeds: vec![],
                    }],
                    guess_baseline: Some(GuessBaseline {
                        strategy: "zero".into(),
                        share: 0.1,
                        wilson_low: 0.03,
                        wilson_high: 0.3,
                        cases: 20,
                    }),
                    echo_leaks: 0,
                    mutations: vec![mutation(Mutation::OffByOne, 2)],
                }),
                solver: Some(SolverMetrics {
                    model: "m1".into(),
                    cases: 40,
                    correct: 38,
                    accuracy: 0.95,
                    mean_score: 0.95,
                    wilson_low: 0.83,
                    wilson_high: 0.99,
                    band: [0.03, 0.85],
                    verdict: Band::TooEasy,
                    errors: 0,
                    prompt_tokens: 480,
                    completion_tokens: 200,
                    format_penalty: false,
                    truncated: 0,
                    truncated_share: 0.0,
                    guess_baseline: Some(0.1),
                    headroom: Some(true),
                    attempts: vec![attempt],
                    mutations: vec![mutation(Mutation::Swapped, 0)],
                }),
                elapsed_ms: 1234.5,
                timings: StageTimings {
                    main_ms: 800.0,
                    ..StageTimings::default()
                },
                budget: BudgetMetrics {
                    clock: BudgetClock::Cpu,
                    budget_ms: 5000.0,
                    wall_ceiling_ms: 20000.0,
                    stages: vec![StageBudget {
                        stage: Stage::Generate,
                        calls: 20,
                        max_cpu_ms: 12.0,
                        total_cpu_ms: 150.0,
                        max_share: 0.0024,
                    }],
                },
                ..Metrics::default()
            },
        }
    }

    #[test]
    fn a_report_round_trips_and_reads_back_typed() {
        let report = full_report();
        let json = serde_json::to_string(&report).unwrap();
        let back: CheckReport = serde_json::from_str(&json).unwrap();
        assert_eq!(back, report);

        let stored = StoredReport::parse(&json);
        assert_eq!(stored.file.as_deref(), Some("sum.py"));
        assert_eq!(stored.class.as_deref(), Some("Sumbootcamp"));
        assert_eq!(stored.verdict.as_deref(), Some("fail"));
        let finding = &stored.findings[0];
        assert_eq!(finding.kind(), Some(FindingKind::TooEasy));
        assert_eq!(finding.stage.as_deref(), Some("solver"));
        assert!(finding.is_error());
        assert_eq!(
            finding.message.as_deref(),
            Some("accuracy 0.95 above the band")
        );
        assert_eq!(finding.evidence, json!({"accuracy": 0.95}));
        // Passed on as JSON, a finding reads as it was written.
        assert_eq!(
            serde_json::to_value(finding).unwrap(),
            serde_json::to_value(&report.findings[0]).unwrap()
        );
        assert_eq!(stored.metrics.diversity, Some(0.95));
        assert_eq!(stored.guess_baseline(), Some(0.1));
        let solver = stored.metrics.solver.as_ref().unwrap();
        assert_eq!(solver.model.as_deref(), Some("m1"));
        assert_eq!(solver.cases, Some(40));
        assert_eq!(solver.accuracy, Some(0.95));
        assert_eq!(solver.interval(), Some([0.83, 0.99]));
        assert_eq!(
            solver.attempts,
            vec![StoredAttempt {
                seed: Some(7),
                case: Some("{\"n\": 4}".into()),
                prompt: Some("Sum the numbers.".into()),
                response: Some("[answer]10[/answer]".into()),
                score: Some(1.0),
                error: None,
            }]
        );
        // Discrimination's classes first, then the solver's.
        let mutations: Vec<_> = stored.mutations().collect();
        assert_eq!(mutations.len(), 2);
        assert_eq!(mutations[0].strategy.as_deref(), Some("OffByOne"));
        assert_eq!(mutations[0].judged.as_deref(), Some("content"));
        assert_eq!(mutations[0].verdict.as_deref(), Some("warns"));
        assert_eq!(
            (mutations[0].full_credit, mutations[0].cases),
            (Some(2), Some(10))
        );
        assert_eq!(mutations[0].share, Some(0.2));
        assert!(mutations[0].credited() && !mutations[1].credited());
        assert_eq!(
            mutations[0].example,
            Some(StoredExample {
                seed: Some(3),
                reference: Some("42".into()),
                mutant: Some("43".into()),
                score: Some(1.0),
            })
        );
    }

    /// A report as an older version stored it: no timings, budget,
    /// discrimination metrics or solver mutations, a finding kind this
    /// version no longer knows, and a field it never had.
    const OLD_REPORT: &str = r#"{
        "file": "old.py",
        "class": "Oldbootcamp",
        "verdict": "fail",
        "findings": [
            {"stage": "discrimination", "kind": "accepts_random", "severity": "error",
             "message": "random text got full credit", "evidence": {"seed": 1}},
            {"stage": "prompt", "kind": "no_answer_format", "severity": "warning",
             "message": "no format"},
            {"stage": "later_stage", "kind": "too_hard_or_broken", "severity": "error",
             "message": "never right", "evidence": null, "hint": "from a newer version"}
        ],
        "stages": [{"stage": "static", "status": "passed", "note": ""}],
        "metrics": {
            "cases": 20,
            "diversity": 0.5,
            "solver": {"model": "old-model", "cases": 10, "correct": 1, "accuracy": 0.1,
                       "wilson_low": 0.02, "wilson_high": 0.4,
                       "attempts": [{"seed": 0, "case": "{}", "prompt": "p", "response": null,
                                     "score": 0.0, "error": "timed out"}]},
            "newer_stage": {"anything": [1, 2, 3]}
        }
    }"#;

    #[test]
    fn an_old_report_still_reads() {
        // This version's strict types refuse it (an unknown kind) ...
        assert!(serde_json::from_str::<CheckReport>(OLD_REPORT).is_err());
        // ... the read side takes it whole.
        let stored = StoredReport::parse(OLD_REPORT);
        assert_eq!(stored.class.as_deref(), Some("Oldbootcamp"));
        assert_eq!(stored.findings.len(), 3);
        let unknown = &stored.findings[0];
        assert_eq!(unknown.kind.as_deref(), Some("accepts_random"));
        assert_eq!(unknown.kind(), None);
        assert!(unknown.is_error());
        assert_eq!(unknown.evidence, json!({"seed": 1}));
        let warning = &stored.findings[1];
        assert_eq!(warning.kind(), Some(FindingKind::NoAnswerFormat));
        assert!(!warning.is_error());
        assert_eq!(warning.evidence, Value::Null);
        assert_eq!(stored.findings[2].stage.as_deref(), Some("later_stage"));
        assert_eq!(
            serde_json::to_value(&stored.findings[2]).unwrap(),
            json!({"stage": "later_stage", "kind": "too_hard_or_broken", "severity": "error",
                   "message": "never right", "evidence": null, "hint": "from a newer version"})
        );
        assert_eq!(
            stored.findings[2].kind(),
            Some(FindingKind::TooHardOrBroken)
        );
        assert_eq!(stored.metrics.diversity, Some(0.5));
        assert_eq!(stored.guess_baseline(), None);
        assert_eq!(stored.mutations().count(), 0);
        let solver = stored.metrics.solver.as_ref().unwrap();
        assert_eq!(solver.model.as_deref(), Some("old-model"));
        assert_eq!(solver.interval(), Some([0.02, 0.4]));
        assert_eq!(solver.attempts[0].error.as_deref(), Some("timed out"));
        assert_eq!(solver.attempts[0].response, None);
        assert!(solver.mutations.is_empty());
    }

    #[test]
    fn an_unreadable_report_reads_as_empty() {
        assert_eq!(StoredReport::parse("not json"), StoredReport::default());
        assert_eq!(StoredReport::parse(""), StoredReport::default());
        assert_eq!(json_number(Some(1.0)).to_string(), "1.0");
        assert_eq!(json_number::<u64>(None).to_string(), "null");
    }
}
