//! `bootforge synth`, purely: from a run's records and scored answers, the
//! SFT records to write (answers scoring at least the minimum, the
//! teacher's separate reasoning kept as a `<think>` block, one per distinct
//! answer to a prompt, `all`, the `first` or the `shortest` per record) and
//! the per-task pass rates (pass@1 and pass@K over the prompts tried).

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::store::{EvalAnswerRow, EvalRecordRow};

/// Which passing answers of a record are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Keep {
    /// Every distinct passing answer.
    All,
    /// The passing answer of the lowest sample.
    First,
    /// The shortest passing answer (reasoning included).
    Shortest,
}

impl Keep {
    pub fn as_str(self) -> &'static str {
        match self {
            Keep::All => "all",
            Keep::First => "first",
            Keep::Shortest => "shortest",
        }
    }
}

/// One chat message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub role: String,
    pub content: String,
}

/// Where an SFT record came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Source {
    pub data_source: String,
    /// The record's position in the data (from 0).
    pub record: i64,
    /// Which of the K samples.
    pub sample: i64,
    pub score: f64,
    pub model: String,
    /// The eval run that holds the answer and its call.
    pub run: i64,
}

/// One SFT record, in the chat form trainers read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SftRecord {
    pub messages: Vec<Message>,
    pub source: Source,
}

/// One task's pass rates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SynthTask {
    pub data_source: String,
    /// Prompts with at least one scored answer.
    pub prompts: usize,
    pub answers: usize,
    pub kept: usize,
    /// Mean over prompts of the share of its answers that pass.
    pub pass_at_1: f64,
    /// Share of prompts with at least one passing answer.
    pub pass_at_k: f64,
}

/// The assistant message: the reasoning, when the server returned it
/// apart, as a `<think>` block before the answer.
pub fn assistant_text(answer: &EvalAnswerRow) -> String {
    match answer.reasoning.as_deref().map(str::trim) {
        Some(r) if !r.is_empty() && !answer.content.contains("</think>") => {
            format!("<think>\n{r}\n</think>\n\n{}", answer.content)
        }
        _ => answer.content.clone(),
    }
}

/// The SFT records of a run and its per-task pass rates.
pub fn select(
    run: i64,
    model: &str,
    records: &[EvalRecordRow],
    answers: &[EvalAnswerRow],
    min_score: f64,
    keep: Keep,
) -> (Vec<SftRecord>, Vec<SynthTask>) {
    let mut per_record: BTreeMap<i64, Vec<&EvalAnswerRow>> = BTreeMap::new();
    for a in answers.iter().filter(|a| a.score.is_some()) {
        per_record.entry(a.idx).or_default().push(a);
    }
    let mut out = Vec::new();
    let mut tasks: BTreeMap<&str, SynthTask> = BTreeMap::new();
    for record in records {
        let Some(scored) = per_record.get(&record.idx) else {
            continue;
        };
        // A refused call counts as a failed try, never as an answer, even
        // with a minimum score of 0.
        let passing: Vec<&&EvalAnswerRow> = scored
            .iter()
            .filter(|a| a.call_error.is_none() && a.score.is_some_and(|s| s >= min_score))
            .collect();
        // Distinct answers only: the same text twice teaches nothing more.
        let mut seen = HashSet::new();
        let mut distinct: Vec<(&EvalAnswerRow, String)> = Vec::new();
        for a in passing.iter() {
            let text = assistant_text(a);
            if seen.insert(text.clone()) {
                distinct.push((a, text));
            }
        }
        let chosen: Vec<(&EvalAnswerRow, String)> = match keep {
            Keep::All => distinct,
            Keep::First => distinct.into_iter().take(1).collect(),
            Keep::Shortest => distinct
                .into_iter()
                .min_by_key(|(a, text)| (text.chars().count(), a.sample))
                .into_iter()
                .collect(),
        };
        let task = tasks
            .entry(&record.data_source)
            .or_insert_with(|| SynthTask {
                data_source: record.data_source.clone(),
                prompts: 0,
                answers: 0,
                kept: 0,
                pass_at_1: 0.0,
                pass_at_k: 0.0,
            });
        task.prompts += 1;
        task.answers += scored.len();
        task.kept += chosen.len();
        task.pass_at_1 += passing.len() as f64 / scored.len() as f64;
        task.pass_at_k += if passing.is_empty() { 0.0 } else { 1.0 };
        for (a, text) in chosen {
            out.push(SftRecord {
                messages: vec![
                    Message {
                        role: "user".into(),
                        content: record.prompt.clone(),
                    },
                    Message {
                        role: "assistant".into(),
                        content: text,
                    },
                ],
                source: Source {
                    data_source: record.data_source.clone(),
                    record: record.idx,
                    sample: a.sample,
                    score: a.score.unwrap_or(0.0),
                    model: model.to_owned(),
                    run,
                },
            });
        }
    }
    let tasks = tasks
        .into_values()
        .map(|mut t| {
            t.pass_at_1 /= t.prompts as f64;
            t.pass_at_k /= t.prompts as f64;
            t
        })
        .collect();
    (out, tasks)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(idx: i64, source: &str) -> EvalRecordRow {
        EvalRecordRow {
            idx,
            data_source: source.into(),
            prompt: format!("q{idx}"),
            ground_truth: "{}".into(),
        }
    }

    fn answer(idx: i64, sample: i64, content: &str, score: f64) -> EvalAnswerRow {
        EvalAnswerRow {
            idx,
            sample,
            content: content.into(),
            reasoning: Some(format!("why {sample}")),
            score: Some(score),
            ..Default::default()
        }
    }

    #[test]
    fn only_passing_distinct_answers_are_kept_with_their_reasoning() {
        let records = [record(0, "A"), record(1, "A"), record(2, "B")];
        let answers = [
            answer(0, 0, "right", 1.0),
            answer(0, 1, "wrong", 0.0),
            answer(0, 2, "right but long", 1.0),
            answer(1, 0, "wrong", 0.0),
            answer(1, 1, "wrong", 0.0),
            answer(1, 2, "wrong", 0.0),
            answer(2, 0, "x", 1.0),
        ];
        let (all, tasks) = select(7, "teacher", &records, &answers, 1.0, Keep::All);
        assert_eq!(all.len(), 3);
        assert_eq!(all[0].messages[0].content, "q0");
        assert_eq!(
            all[0].messages[1].content,
            "<think>\nwhy 0\n</think>\n\nright"
        );
        assert_eq!(all[0].source.model, "teacher");
        assert!(all.iter().all(|r| r.source.score >= 1.0));
        let a = &tasks[0];
        assert_eq!((a.prompts, a.answers, a.kept), (2, 6, 2));
        assert!((a.pass_at_1 - (2.0 / 3.0) / 2.0).abs() < 1e-12);
        assert_eq!(a.pass_at_k, 0.5);
        let (shortest, _) = select(7, "t", &records, &answers, 1.0, Keep::Shortest);
        assert_eq!(shortest.len(), 2);
        assert!(shortest[0].messages[1].content.ends_with("right"));
        let (first, _) = select(7, "t", &records, &answers, 1.0, Keep::First);
        assert_eq!(first[0].source.sample, 0);
        // A lower bar keeps more.
        let (loose, _) = select(7, "t", &records, &answers, 0.0, Keep::All);
        assert_eq!(loose.len(), 7);
    }

    #[test]
    fn the_same_answer_twice_is_kept_once() {
        let mut twice = answer(0, 1, "right", 1.0);
        twice.reasoning = Some("why 0".into());
        let (kept, _) = select(
            1,
            "t",
            &[record(0, "A")],
            &[answer(0, 0, "right", 1.0), twice],
            1.0,
            Keep::All,
        );
        assert_eq!(kept.len(), 1);
    }
}
