//! `bootforge eval`: a model answers a fixed data set (records in
//! InternBootcamp's format, `{"data_source", "prompt", "ground_truth"}`),
//! each answer scored by its bootcamp's own `verify_score` in the sandbox.
//!
//! A thin layer over the pieces the reward service uses: a record's
//! `data_source` resolves through [`crate::reward::resolve`]'s catalog, and
//! answers are scored in batches by [`crate::reward::Service`] (warm
//! instances, answers to one case sharing calls, a failing verifier failing
//! only its own answer). The model is any [`ChatModel`] (the campaign's
//! OpenAI-compatible client: streaming, retries, timeouts).
//!
//! Everything is stored as it happens: the records when the run is
//! created, each answer as soon as its call finishes (unscored), its score
//! once scored. [`execute`] does whatever is left of a run, so a run killed
//! at any moment resumes without repeating a finished call. Tasks whose
//! bootcamp is missing or does not load get no calls and are listed in the
//! report with the reason; [`report`] builds the figures.

pub mod report;
pub mod synth;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use anyhow::Result;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::campaign::calls::Budget;
use crate::llm::{ChatModel, Completion, Usage};
use crate::reward::Service;
use crate::reward::batch::Item;
use crate::store::{EvalAnswerRow, EvalRecordRow, EvalScore, Store};

/// What a run was started with (stored as its `config_json`; a resume
/// uses the same).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunConfig {
    pub model: String,
    pub base_url: String,
    pub samples: usize,
    pub temperature: Option<f32>,
    pub max_tokens: Option<u32>,
    /// `verify_score`'s keyword arguments.
    pub score_flags: Map<String, Value>,
    /// Bootcamp directories searched, besides the store's approved items.
    pub bootcamps: Vec<std::path::PathBuf>,
    /// Whether the store's approved review items are bootcamps too.
    pub read_store: bool,
    /// The data files read.
    pub data: Vec<String>,
    /// `synth` for a synth run; none for an evaluation.
    #[serde(default)]
    pub kind: Option<String>,
    /// SHA-256 of the records, so that a synth run is taken up again only
    /// over the same data.
    #[serde(default)]
    pub data_sha256: String,
}

/// The hex SHA-256 of records, in order.
pub fn records_digest(records: &[Record]) -> String {
    use sha2::{Digest, Sha256};
    let mut digest = Sha256::new();
    for r in records {
        for part in [&r.data_source, &r.prompt, &r.ground_truth] {
            digest.update(part.as_bytes());
            digest.update([0]);
        }
    }
    digest
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// One data record.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub data_source: String,
    pub prompt: String,
    /// The case, as JSON text.
    pub ground_truth: String,
}

#[derive(Deserialize)]
struct RawRecord<'a> {
    data_source: String,
    prompt: Value,
    #[serde(borrow)]
    ground_truth: &'a RawValue,
}

/// The records of a JSONL text in InternBootcamp's format; `Err` names the
/// first bad line and what it lacks. Blank lines are skipped. A prompt may
/// be a string or chat messages (the last user message is asked); a ground
/// truth an object or a string holding one.
pub fn parse_records(text: &str, origin: &str) -> Result<Vec<Record>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let raw: RawRecord<'_> = serde_json::from_str(line).map_err(|e| {
            format!(
                "{origin}:{}: not a record of InternBootcamp's format ({e}); each line must be a JSON object with data_source, prompt and ground_truth",
                i + 1
            )
        })?;
        let prompt = match raw.prompt {
            Value::String(s) => s,
            Value::Array(messages) => messages
                .iter()
                .rev()
                .find(|m| m.get("role").and_then(Value::as_str) == Some("user"))
                .and_then(|m| m.get("content").and_then(Value::as_str))
                .map(str::to_owned)
                .ok_or_else(|| {
                    format!(
                        "{origin}:{}: the prompt's messages hold no user message",
                        i + 1
                    )
                })?,
            _ => {
                return Err(format!(
                    "{origin}:{}: prompt must be a string or chat messages",
                    i + 1
                ));
            }
        };
        let truth = raw.ground_truth.get();
        let ground_truth = match serde_json::from_str::<Value>(truth) {
            Ok(Value::String(s)) => s,
            _ => truth.to_owned(),
        };
        if raw.data_source.trim().is_empty() {
            return Err(format!("{origin}:{}: data_source is empty", i + 1));
        }
        out.push(Record {
            data_source: raw.data_source,
            prompt,
            ground_truth,
        });
    }
    Ok(out)
}

/// What [`execute`] did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Outcome {
    /// Calls made now (not counting answers found stored).
    pub calls: usize,
    /// Answers scored now.
    pub scored: usize,
    /// Calls that failed past their retries (the answers stay pending).
    pub failed_calls: usize,
    /// The first failure, to tell the user.
    pub first_failure: Option<String>,
    /// Calls not made because the budget was spent.
    pub over_budget: usize,
}

/// The budget of a run: at most `max_calls` calls and `max_tokens` tokens
/// over all its invocations, counting what `answers` already spent (the
/// campaign's budget, in calls and tokens).
pub fn budget(answers: &[EvalAnswerRow], max_calls: u64, max_tokens: u64) -> Budget {
    let spent = crate::store::Usage {
        llm_calls: answers.len() as i64,
        tokens: answers
            .iter()
            .map(|a| a.prompt_tokens + a.completion_tokens)
            .sum(),
    };
    Budget::new(spent, max_calls, max_tokens)
}

/// The most answers scored in one batch.
const SCORE_BATCH: usize = 512;

/// Do what is left of run `run`: resolve its tasks (recording the excluded
/// ones), ask the model for every missing answer (at most `concurrency` at
/// once, within `limits`: most calls and tokens of the whole run) and score
/// every unscored one. The status becomes `done`, or `incomplete` when
/// calls failed or the budget ran out (a resume asks them again).
pub async fn execute(
    store: &Store,
    run: i64,
    config: &RunConfig,
    model: Arc<dyn ChatModel>,
    service: Arc<Service>,
    concurrency: usize,
    limits: (u64, u64),
) -> Result<Outcome> {
    let records = store.eval_records(run).await?;
    let answers = store.eval_answers(run).await?;
    let budget = budget(&answers, limits.0, limits.1);
    let mut excluded = BTreeMap::new();
    for r in &records {
        if service.catalog.resolve(&r.data_source).is_none() {
            excluded.entry(r.data_source.clone()).or_insert_with(|| {
                format!(
                    "no bootcamp answers to this data source (looked for the classes {}); give --bootcamps DIR or approve one in the review queue",
                    crate::reward::resolve::candidates(&r.data_source).join(", ")
                )
            });
        }
    }
    let flags = serde_json::to_string(&config.score_flags)?;
    // A bootcamp that does not load (a module the sandbox lacks, a data file
    // it reads) is found with one empty answer to one of its cases, before
    // any call is spent on its records: a quarter of Bootcamp-Eval's tasks
    // in InternBootcamp's repository are such.
    let mut probes: Vec<(&str, Item)> = Vec::new();
    for r in &records {
        if !excluded.contains_key(&r.data_source)
            && !probes.iter().any(|(s, _)| *s == r.data_source)
        {
            let empty = EvalAnswerRow::default();
            probes.push((&r.data_source, item(r, &empty, &flags)));
        }
    }
    let probed = service
        .score(probes.iter().map(|(_, i)| Ok(i.clone())).collect())
        .await;
    for ((source, _), result) in probes.iter().zip(probed) {
        if let Some(err) = result.error
            && err.kind == crate::reward::batch::ErrorKind::LoadFailed
        {
            let first: String = err
                .message
                .lines()
                .next()
                .unwrap_or("")
                .chars()
                .take(300)
                .collect();
            excluded.insert(
                (*source).to_owned(),
                format!("the bootcamp does not load (load_failed): {first}"),
            );
        }
    }
    store
        .set_eval_excluded(run, &excluded.clone().into_iter().collect::<Vec<_>>())
        .await?;
    let have: HashSet<(i64, i64)> = answers.iter().map(|a| (a.idx, a.sample)).collect();
    let by_idx: BTreeMap<i64, &EvalRecordRow> = records.iter().map(|r| (r.idx, r)).collect();
    let unscored: Vec<(i64, i64, Item)> = answers
        .iter()
        .filter(|a| a.score.is_none())
        .filter_map(|a| {
            let r = by_idx.get(&a.idx)?;
            (!excluded.contains_key(&r.data_source)).then(|| (a.idx, a.sample, item(r, a, &flags)))
        })
        .collect();
    let mut pending = Vec::new();
    for r in &records {
        if excluded.contains_key(&r.data_source) {
            continue;
        }
        for sample in 0..config.samples as i64 {
            if !have.contains(&(r.idx, sample)) {
                pending.push((r, sample));
            }
        }
    }

    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(i64, i64, Item)>();
    for u in unscored {
        let _ = tx.send(u);
    }
    let scorer = {
        let store = store.clone();
        let service = service.clone();
        async move {
            let mut scored = 0usize;
            while let Some(first) = rx.recv().await {
                let mut batch = vec![first];
                while batch.len() < SCORE_BATCH {
                    match rx.try_recv() {
                        Ok(next) => batch.push(next),
                        Err(_) => break,
                    }
                }
                let keys: Vec<(i64, i64)> = batch.iter().map(|(i, s, _)| (*i, *s)).collect();
                let items = batch.into_iter().map(|(_, _, item)| Ok(item)).collect();
                let results = service.score(items).await;
                let rows: Vec<_> = keys
                    .iter()
                    .zip(results)
                    .map(|((idx, sample), s)| {
                        let (kind, message) = match s.error {
                            Some(e) => (Some(e.kind.as_str().to_owned()), Some(e.message)),
                            None => (None, None),
                        };
                        EvalScore {
                            idx: *idx,
                            sample: *sample,
                            score: s.score,
                            error_kind: kind,
                            error: message,
                        }
                    })
                    .collect();
                store.score_eval_answers(run, &rows).await?;
                scored += rows.len();
            }
            anyhow::Ok(scored)
        }
    };
    // Finished answers are written in batches of whatever has finished
    // since the last write (one transaction each: one per answer was the
    // run's bottleneck), then handed to the scorer.
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel::<EvalAnswerRow>();
    let writer = {
        let store = store.clone();
        let by_idx = &by_idx;
        let flags = &flags;
        async move {
            while let Some(first) = done_rx.recv().await {
                let mut batch = vec![first];
                while batch.len() < SCORE_BATCH {
                    match done_rx.try_recv() {
                        Ok(next) => batch.push(next),
                        Err(_) => break,
                    }
                }
                store.insert_eval_answers(run, &batch).await?;
                for row in &batch {
                    if let Some(record) = by_idx.get(&row.idx) {
                        let _ = tx.send((row.idx, row.sample, item(record, row, flags)));
                    }
                }
            }
            drop(tx);
            anyhow::Ok(())
        }
    };
    let budget = &budget;
    let caller = async move {
        let mut outcome = Outcome::default();
        let mut calls = futures::stream::iter(pending)
            .map(|(record, sample)| {
                let model = model.clone();
                async move {
                    // Reserved when the call starts, so calls in flight
                    // never overrun the limit.
                    if !budget.take() {
                        return (record, sample, None);
                    }
                    let answer = model.complete(&record.prompt).await;
                    if let Ok(done) = &answer {
                        budget.spend(&config.model, done.usage);
                    }
                    (record, sample, Some(answer))
                }
            })
            .buffer_unordered(concurrency.max(1));
        while let Some((record, sample, answer)) = calls.next().await {
            let Some(answer) = answer else {
                outcome.over_budget += 1;
                continue;
            };
            match answer {
                Ok(done) => {
                    outcome.calls += 1;
                    // The writer stopped (the store failed): ask no more.
                    let sent = done_tx.send(EvalAnswerRow {
                        idx: record.idx,
                        sample,
                        content: done.content,
                        reasoning: done.reasoning,
                        finish_reason: done.finish_reason,
                        endpoint: done.endpoint,
                        prompt_tokens: done.usage.prompt_tokens as i64,
                        completion_tokens: done.usage.completion_tokens as i64,
                        latency_ms: done.latency_ms,
                        attempts: done.attempts as i64,
                        ..Default::default()
                    });
                    if sent.is_err() {
                        break;
                    }
                }
                Err(failure) => {
                    outcome.failed_calls += 1;
                    outcome
                        .first_failure
                        .get_or_insert_with(|| failure.error.to_string());
                }
            }
        }
        drop(done_tx);
        outcome
    };
    let (mut outcome, written, scored) = tokio::join!(caller, writer, scorer);
    written?;
    outcome.scored = scored?;
    let status = if outcome.failed_calls == 0 && outcome.over_budget == 0 {
        "done"
    } else {
        "incomplete"
    };
    store.set_eval_status(run, status).await?;
    Ok(outcome)
}

/// The scoring item of a stored answer: the full output as InternBootcamp
/// grades it (separate reasoning put back as a `<think>` block).
fn item(record: &EvalRecordRow, answer: &EvalAnswerRow, flags: &str) -> Item {
    let completion = Completion {
        content: answer.content.clone(),
        reasoning: answer.reasoning.clone(),
        usage: Usage::default(),
        attempts: 0,
        latency_ms: 0.0,
        finish_reason: None,
        endpoint: None,
    };
    Item {
        data_source: record.data_source.clone(),
        solution: completion.graded_text(),
        ground_truth: record.ground_truth.clone(),
        flags: flags.to_owned(),
    }
}

/// The report of run `run` from what is stored.
pub async fn load_report(store: &Store, run: i64) -> Result<Option<report::Report>> {
    let Some(row) = store.eval_run(run).await? else {
        return Ok(None);
    };
    let samples = serde_json::from_str::<RunConfig>(&row.config_json)
        .map(|c| c.samples)
        .unwrap_or(1);
    let records = store.eval_records(run).await?;
    let per_task = report::records_per_task(records.iter().map(|r| r.data_source.as_str()));
    let scores = store.eval_scores(run).await?;
    let excluded = store.eval_excluded(run).await?;
    Ok(Some(report::build(
        (row.id, &row.name, &row.status, samples),
        &per_task,
        &scores,
        &excluded,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_of_internbootcamps_shape_parse_and_bad_lines_are_named() {
        let text = "{\"data_source\": \"SumPair\", \"prompt\": \"What is 1 + 2?\", \"ground_truth\": {\"a\": 1, \"b\": 12345678901234567890123}}\n\n{\"data_source\": \"bootcamp/SumPair\", \"prompt\": [{\"role\": \"user\", \"content\": \"Q\"}], \"ground_truth\": \"{\\\"a\\\": 2}\"}\n";
        let records = parse_records(text, "d.jsonl").unwrap();
        assert_eq!(records.len(), 2);
        // Big integers keep every digit.
        assert_eq!(
            records[0].ground_truth,
            "{\"a\": 1, \"b\": 12345678901234567890123}"
        );
        assert_eq!(records[1].prompt, "Q");
        assert_eq!(records[1].ground_truth, "{\"a\": 2}");
        let err = parse_records("{\"data_source\": \"X\"}\n", "d.jsonl").unwrap_err();
        assert!(err.starts_with("d.jsonl:1:"), "{err}");
    }
}
