//! An evaluation run's report and the comparison of two runs, purely from
//! stored scores: per task, records, answers, mean score, accuracy (full
//! credit) with its 95% Wilson interval, mean completion tokens and the
//! share of answers cut off by `max_tokens`; overall, the mean of the
//! per-task accuracies (every task weighs the same, as Bootcamp-Eval's
//! report averages its tasks) and, beside it, the accuracy over all answers.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::evaluate::judge::{full_credit, wilson_interval};
use crate::store::{EvalScoreRow, ExcludedTask};

/// Scoring error kinds that mean the bootcamp could not judge at all: a
/// task whose every answer failed so is left out of the averages.
const UNJUDGED: [&str; 2] = ["load_failed", "unknown_data_source"];

/// One task's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskRow {
    pub data_source: String,
    /// Records of this task in the data.
    pub records: usize,
    /// Answers scored.
    pub answers: usize,
    /// Answers given full credit.
    pub correct: usize,
    pub mean_score: f64,
    pub accuracy: f64,
    pub accuracy_low: f64,
    pub accuracy_high: f64,
    pub mean_completion_tokens: f64,
    /// Share of answers cut off by `max_tokens`.
    pub truncated_share: f64,
    /// Answers whose verifier failed (raised, timed out...): scored 0.
    pub scoring_errors: usize,
    /// Calls refused for good (HTTP 400, 413, 422, a reply too large):
    /// stored with their error, scored 0, never asked again.
    #[serde(default)]
    pub failed_calls: usize,
}

/// A call refused for good, as the report lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailedCall {
    pub data_source: String,
    /// The record's position in the data, from 0.
    pub record: i64,
    pub sample: i64,
    /// The error (clipped).
    pub error: String,
}

/// A task left out of the averages, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Excluded {
    pub data_source: String,
    pub records: usize,
    pub reason: String,
}

/// The figures over all included tasks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Overall {
    pub tasks: usize,
    pub answers: usize,
    /// Mean of the per-task accuracies (each task weighs the same).
    pub task_mean_accuracy: f64,
    /// Full-credit answers over all answers.
    pub answer_accuracy: f64,
    /// Mean score over all answers.
    pub mean_score: f64,
    /// Answers not yet given or not yet scored.
    pub pending: usize,
}

/// A run's report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub run: i64,
    pub name: String,
    pub status: String,
    pub samples: usize,
    pub tasks: Vec<TaskRow>,
    pub excluded: Vec<Excluded>,
    /// Calls refused for good, task by task (in the task's order).
    #[serde(default)]
    pub failed_calls: Vec<FailedCall>,
    pub overall: Overall,
    /// Which average `overall.task_mean_accuracy` is, in words.
    pub average: String,
}

/// Per-task records count.
pub fn records_per_task<'a>(sources: impl Iterator<Item = &'a str>) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for s in sources {
        *out.entry(s.to_owned()).or_insert(0) += 1;
    }
    out
}

/// Build the report of a run from its records per task, stored scores and
/// excluded tasks.
pub fn build(
    header: (i64, &str, &str, usize),
    records: &BTreeMap<String, usize>,
    scores: &[EvalScoreRow],
    excluded: &[ExcludedTask],
) -> Report {
    let (run, name, status, samples) = header;
    let mut by_task: BTreeMap<&str, Vec<&EvalScoreRow>> = BTreeMap::new();
    for row in scores {
        by_task.entry(&row.data_source).or_default().push(row);
    }
    let mut left_out: Vec<Excluded> = excluded
        .iter()
        .map(|e| Excluded {
            data_source: e.data_source.clone(),
            records: records.get(&e.data_source).copied().unwrap_or(0),
            reason: e.reason.clone(),
        })
        .collect();
    let mut tasks = Vec::new();
    let mut failed_calls = Vec::new();
    let mut pending = 0;
    for (source, &count) in records {
        if excluded.iter().any(|e| &e.data_source == source) {
            continue;
        }
        let rows = by_task.get(source.as_str()).cloned().unwrap_or_default();
        let scored: Vec<&&EvalScoreRow> = rows.iter().filter(|r| r.score.is_some()).collect();
        pending += (count * samples).saturating_sub(scored.len());
        if scored.is_empty() {
            continue;
        }
        let unjudged = scored.iter().all(|r| {
            r.error_kind
                .as_deref()
                .is_some_and(|k| UNJUDGED.contains(&k))
        });
        if unjudged {
            left_out.push(Excluded {
                data_source: source.clone(),
                records: count,
                reason: format!(
                    "the bootcamp could not score any answer ({})",
                    scored[0].error_kind.as_deref().unwrap_or("unknown")
                ),
            });
            continue;
        }
        let n = scored.len();
        let correct = scored
            .iter()
            .filter(|r| r.score.is_some_and(full_credit))
            .count();
        let (low, high) = wilson_interval(correct, n);
        tasks.push(TaskRow {
            data_source: source.clone(),
            records: count,
            answers: n,
            correct,
            mean_score: scored.iter().filter_map(|r| r.score).sum::<f64>() / n as f64,
            accuracy: correct as f64 / n as f64,
            accuracy_low: low,
            accuracy_high: high,
            mean_completion_tokens: scored
                .iter()
                .map(|r| r.completion_tokens as f64)
                .sum::<f64>()
                / n as f64,
            truncated_share: scored
                .iter()
                .filter(|r| r.finish_reason.as_deref() == Some("length"))
                .count() as f64
                / n as f64,
            scoring_errors: scored.iter().filter(|r| r.error_kind.is_some()).count(),
            failed_calls: scored.iter().filter(|r| r.call_error.is_some()).count(),
        });
        failed_calls.extend(scored.iter().filter_map(|r| {
            Some(FailedCall {
                data_source: source.clone(),
                record: r.idx,
                sample: r.sample,
                error: r.call_error.as_deref()?.chars().take(300).collect(),
            })
        }));
    }
    left_out.sort_by(|a, b| a.data_source.cmp(&b.data_source));
    let answers: usize = tasks.iter().map(|t| t.answers).sum();
    let mean = |f: &dyn Fn(&TaskRow) -> f64, weight: &dyn Fn(&TaskRow) -> f64, total: f64| {
        if total == 0.0 {
            0.0
        } else {
            tasks.iter().map(|t| f(t) * weight(t)).sum::<f64>() / total
        }
    };
    let overall = Overall {
        tasks: tasks.len(),
        answers,
        task_mean_accuracy: mean(&|t| t.accuracy, &|_| 1.0, tasks.len() as f64),
        answer_accuracy: mean(&|t| t.accuracy, &|t| t.answers as f64, answers as f64),
        mean_score: mean(&|t| t.mean_score, &|t| t.answers as f64, answers as f64),
        pending,
    };
    Report {
        run,
        name: name.to_owned(),
        status: status.to_owned(),
        samples,
        average: format!(
            "mean over the {} tasks of each task's accuracy (every task weighs the same, as Bootcamp-Eval averages its tasks); excluded tasks are left out",
            tasks.len()
        ),
        tasks,
        excluded: left_out,
        failed_calls,
        overall,
    }
}

/// One task of a comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompareRow {
    pub data_source: String,
    pub a: Option<TaskRow>,
    pub b: Option<TaskRow>,
    /// Accuracy of B minus accuracy of A, when both scored the task.
    pub difference: Option<f64>,
    /// The two 95% intervals do not overlap.
    pub beyond_intervals: bool,
}

/// The per-task comparison of run A with run B, every task of either.
pub fn compare(a: &Report, b: &Report) -> Vec<CompareRow> {
    let mut sources: Vec<&str> = a
        .tasks
        .iter()
        .chain(&b.tasks)
        .map(|t| t.data_source.as_str())
        .collect();
    sources.sort();
    sources.dedup();
    sources
        .into_iter()
        .map(|source| {
            let ta = a.tasks.iter().find(|t| t.data_source == source).cloned();
            let tb = b.tasks.iter().find(|t| t.data_source == source).cloned();
            let (difference, beyond) = match (&ta, &tb) {
                (Some(x), Some(y)) => (
                    Some(y.accuracy - x.accuracy),
                    x.accuracy_high < y.accuracy_low || y.accuracy_high < x.accuracy_low,
                ),
                _ => (None, false),
            };
            CompareRow {
                data_source: source.to_owned(),
                a: ta,
                b: tb,
                difference,
                beyond_intervals: beyond,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(idx: i64, source: &str, score: f64, kind: Option<&str>) -> EvalScoreRow {
        EvalScoreRow {
            idx,
            sample: 0,
            data_source: source.into(),
            score: Some(score),
            error_kind: kind.map(Into::into),
            completion_tokens: 10,
            finish_reason: (score == 0.5).then(|| "length".into()),
            call_error: None,
        }
    }

    #[test]
    fn tasks_are_averaged_alike_and_unjudged_ones_left_out() {
        let records = records_per_task(["A", "A", "A", "A", "B", "C", "D"].into_iter());
        let scores = vec![
            row(0, "A", 1.0, None),
            row(1, "A", 1.0, None),
            row(2, "A", 0.5, None),
            row(3, "A", 0.0, Some("exception")),
            row(4, "B", 1.0, None),
            row(5, "C", 0.0, Some("load_failed")),
        ];
        let report = build(
            (1, "r", "done", 1),
            &records,
            &scores,
            &[ExcludedTask {
                data_source: "D".into(),
                reason: "no bootcamp".into(),
            }],
        );
        let names: Vec<&str> = report
            .tasks
            .iter()
            .map(|t| t.data_source.as_str())
            .collect();
        assert_eq!(names, ["A", "B"]);
        let a = &report.tasks[0];
        assert_eq!((a.answers, a.correct, a.scoring_errors), (4, 2, 1));
        assert_eq!(a.accuracy, 0.5);
        assert_eq!(a.truncated_share, 0.25);
        assert!(a.accuracy_low < 0.5 && a.accuracy_high > 0.5);
        // Task mean (0.5 + 1) / 2, answer mean 3 / 5.
        assert_eq!(report.overall.task_mean_accuracy, 0.75);
        assert!((report.overall.answer_accuracy - 0.6).abs() < 1e-12);
        let left: Vec<&str> = report
            .excluded
            .iter()
            .map(|e| e.data_source.as_str())
            .collect();
        assert_eq!(left, ["C", "D"]);
        assert_eq!(report.overall.pending, 0);
    }

    #[test]
    fn compare_marks_differences_beyond_the_intervals() {
        let records = records_per_task(std::iter::repeat_n("A", 40).chain(["B"]));
        let all = |score: f64| -> Vec<EvalScoreRow> {
            (0..40)
                .map(|i| row(i, "A", score, None))
                .chain([row(40, "B", 1.0, None)])
                .collect()
        };
        let a = build((1, "a", "done", 1), &records, &all(0.0), &[]);
        let b = build((2, "b", "done", 1), &records, &all(1.0), &[]);
        let rows = compare(&a, &b);
        assert_eq!(rows[0].difference, Some(1.0));
        assert!(rows[0].beyond_intervals);
        assert_eq!(rows[1].difference, Some(0.0));
        assert!(!rows[1].beyond_intervals);
    }
}
