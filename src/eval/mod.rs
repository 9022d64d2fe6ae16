//! `bootforge eval`: a model answers a fixed data set (records in
//! InternBootcamp's format, `{"data_source", "prompt", "ground_truth"}`),
//! each answer scored by its bootcamp's own `verify_score` in the sandbox.
//!
//! A thin layer over the pieces the reward service uses: a record's
//! `data_source` resolves through [`crate::reward::resolve`]'s catalog, and
//! answers are scored in batches by [`crate::reward::Service`] (warm
//! instances, answers to one case sharing calls, a failing verifier failing
//! only its own answer). The model is a [`Backend`] of the call layer
//! ([`crate::calls`], the one campaigns use): its
//! OpenAI-compatible client (one endpoint or a fleet; streaming, retries,
//! timeouts) or a cassette to replay, with a [`Budget`] in
//! calls, tokens and dollars and a cassette [`Recorder`]. Calls are
//! content-addressed by [`answer_key`].
//!
//! Everything is stored as it happens: the records when the run is
//! created, each answer as soon as its call finishes (unscored), its score
//! once scored; a call refused for good with its error. [`execute`] does whatever is left of a run, so a run killed
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

use crate::calls::cost::Price;
use crate::calls::{Backend, Budget, CassetteEntry, Recorder, call_key, endpoint_failure};
use crate::llm::{Completion, Failure, Usage};
use crate::reward::Service;
use crate::reward::batch::Item;
use crate::store::{EvalAnswerRow, EvalRecordRow, EvalScore, Store};

pub use crate::store::status::EvalStatus;

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
    /// The endpoints, when they came from a campaign config file
    /// (`--config`); none when given by flags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<ClientConfig>,
    /// The run's budget over all its invocations (a resume may raise it).
    #[serde(default, skip_serializing_if = "Limits::is_unlimited")]
    pub limits: Limits,
}

impl RunConfig {
    /// What makes two runs the same run (for `synth` taking one up): all
    /// but the budget, which a later invocation may raise.
    pub fn identity(&self) -> String {
        let mut same = self.clone();
        same.limits = Limits::default();
        serde_json::to_string(&same).unwrap_or_default()
    }
}

/// A role of a campaign config file, as a run uses it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClientConfig {
    /// The file read (absolute).
    pub file: std::path::PathBuf,
    /// `solver` or `author`: the section used.
    pub role: String,
    /// The section, resolved (endpoints, retries, timeouts, stream).
    pub endpoints: crate::calls::role::RoleConfig,
    /// USD per million tokens by model (the file's `[prices]`).
    pub prices: BTreeMap<String, Price>,
}

/// Most calls, tokens and dollars of a run (none: no limit).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Limits {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_calls: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_usd: Option<f64>,
}

impl Limits {
    pub fn is_unlimited(&self) -> bool {
        *self == Limits::default()
    }
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
    /// Calls made now (not counting answers found stored), refused ones
    /// included.
    pub calls: usize,
    /// Answers scored now.
    pub scored: usize,
    /// Calls refused for good now (stored with their error, not asked again).
    pub refused_calls: usize,
    /// The first refusal, to tell the user.
    pub first_refusal: Option<String>,
    /// Why calls stopped being made, if they did.
    pub stopped: Option<Stopped>,
    /// Calls not made because the run stopped (they stay pending).
    pub not_made: usize,
    /// Dollars the run has spent, at the client's prices (all invocations).
    pub spent_usd: f64,
}

/// Why a run stopped making calls (a resume takes it up).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum Stopped {
    /// This budget (`calls`, `tokens` or `dollars`) is spent.
    Budget(&'static str),
    /// The endpoint failed a call past its retries (unreachable, timing
    /// out, 5xx, 429, refusing every request): transient, asked again on
    /// resume.
    Endpoint(String),
    /// The cassette has no answer for a request.
    Replay(String),
}

/// How a run reaches its model.
pub struct Client {
    /// The endpoint(s) or a cassette.
    pub backend: Backend,
    /// Where exchanges are recorded, when asked.
    pub recorder: Option<Arc<Recorder>>,
    /// Calls in flight at once (the endpoints' capacity together).
    pub concurrency: usize,
    pub limits: Limits,
    /// USD per million tokens by model, for the dollar budget.
    pub prices: BTreeMap<String, Price>,
}

/// The budget of a run: its limits over all its invocations, counting what
/// `answers` already spent (calls, refused ones included, tokens and
/// dollars at `prices` for `model`), the campaign's budget.
pub fn budget(
    answers: &[EvalAnswerRow],
    model: &str,
    limits: &Limits,
    prices: &BTreeMap<String, Price>,
) -> Budget {
    let spent = crate::store::Usage {
        llm_calls: answers.len() as i64,
        tokens: answers
            .iter()
            .map(|a| a.prompt_tokens + a.completion_tokens)
            .sum(),
    };
    let usd = prices.get(model).map_or(0.0, |p| {
        answers
            .iter()
            .map(|a| {
                p.usd(
                    a.prompt_tokens.max(0) as u64,
                    a.completion_tokens.max(0) as u64,
                )
            })
            .sum()
    });
    Budget::new(
        spent,
        limits.max_calls.unwrap_or(u64::MAX),
        limits.max_tokens.unwrap_or(u64::MAX),
    )
    .with_usd(usd, limits.max_usd, prices.clone())
}

/// Which limit a budget that refused a call hit, in the order
/// [`Budget`] checks them.
fn spent_limit(budget: &Budget, limits: &Limits) -> &'static str {
    let (_, tokens) = budget.spent();
    if limits
        .max_tokens
        .is_some_and(|max| tokens >= i64::try_from(max).unwrap_or(i64::MAX))
    {
        "tokens"
    } else if limits.max_usd.is_some_and(|max| budget.spent_usd() >= max) {
        "dollars"
    } else {
        "calls"
    }
}

/// The content address of one answer: what the request depends on (model,
/// sampling, prompt) and the sample number, never the run, so another run
/// over the same data replays the same cassette.
pub fn answer_key(config: &RunConfig, prompt: &str, sample: i64) -> String {
    let temperature = config
        .temperature
        .map(|t| t.to_string())
        .unwrap_or_default();
    let max_tokens = config.max_tokens.map(|t| t.to_string()).unwrap_or_default();
    call_key(
        "eval",
        &[
            &config.model,
            &temperature,
            &max_tokens,
            prompt,
            &sample.to_string(),
        ],
    )
}

/// The most answers scored in one batch.
const SCORE_BATCH: usize = 512;

/// Do what is left of run `run`: resolve its tasks (recording the excluded
/// ones), ask the model for every missing answer (at most `concurrency` at
/// once, within the client's limits over the whole run) and score every
/// unscored one.
///
/// A call's failure is stored only when it is final: the request refused
/// as such (HTTP 400, 413, 422, a reply too large) is kept with its error
/// and score 0 and never asked again. Any other failure past the retries
/// (unreachable, timeouts, 5xx, 429, a bad key) is the endpoint's: nothing
/// is stored for it, no new call starts, and a resume asks it again. The
/// status becomes `done`, or `incomplete` when calls stopped (that, the
/// budget, or a cassette without the answer).
pub async fn execute(
    store: &Store,
    run: i64,
    config: &RunConfig,
    client: Client,
    service: Arc<Service>,
) -> Result<Outcome> {
    let records = store.eval_records(run).await?;
    let answers = store.eval_answers(run).await?;
    let budget = budget(&answers, &config.model, &client.limits, &client.prices);
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
                for row in batch.iter().filter(|r| r.call_error.is_none()) {
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
    let client = &client;
    let gate = tokio::sync::Semaphore::new(client.concurrency.max(1));
    let gate = &gate;
    let stop: std::sync::Mutex<Option<Stopped>> = std::sync::Mutex::new(None);
    let stop = &stop;
    let halt = move |why: Stopped| {
        stop.lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_or_insert(why);
    };
    let caller = async move {
        let mut outcome = Outcome::default();
        let mut calls = futures::stream::iter(pending)
            .map(|(record, sample)| async move {
                // A call waits for a turn before the budget is asked, so
                // the budget is reserved only by calls that start, and a
                // stop that comes while it waits stops it.
                let _turn = gate.acquire().await;
                if stop.lock().unwrap_or_else(|p| p.into_inner()).is_some() {
                    return (record, sample, None);
                }
                if !budget.take() {
                    halt(Stopped::Budget(spent_limit(budget, &client.limits)));
                    return (record, sample, None);
                }
                let key = answer_key(config, &record.prompt, sample);
                let Some((answer, _)) = client.backend.answer(&key, &record.prompt).await else {
                    halt(Stopped::Replay(format!(
                        "the cassette has no answer for record {} sample {sample} ({key}); it was recorded for other data, samples, model or sampling settings",
                        record.idx
                    )));
                    return (record, sample, None);
                };
                match &answer {
                    Ok(done) => budget.spend(&config.model, done.usage),
                    Err(failure) if endpoint_failure(&failure.error) => {
                        halt(Stopped::Endpoint(failure.error.to_string()));
                        return (record, sample, None);
                    }
                    Err(_) => {}
                }
                if let Some(recorder) = &client.recorder {
                    recorder.append(&cassette_entry(&key, config, &record.prompt, &answer));
                }
                (record, sample, Some(answer))
            })
            .buffer_unordered(client.concurrency.max(1) * 2);
        while let Some((record, sample, answer)) = calls.next().await {
            let Some(answer) = answer else {
                outcome.not_made += 1;
                continue;
            };
            outcome.calls += 1;
            let row = match answer {
                Ok(done) => EvalAnswerRow {
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
                },
                Err(failure) => {
                    let error = failure.error.to_string();
                    outcome.refused_calls += 1;
                    outcome.first_refusal.get_or_insert_with(|| error.clone());
                    EvalAnswerRow {
                        idx: record.idx,
                        sample,
                        attempts: failure.attempts as i64,
                        score: Some(0.0),
                        call_error: Some(error.chars().take(2000).collect()),
                        ..Default::default()
                    }
                }
            };
            // The writer stopped (the store failed): ask no more.
            if done_tx.send(row).is_err() {
                break;
            }
        }
        drop(done_tx);
        outcome.stopped = stop.lock().unwrap_or_else(|p| p.into_inner()).clone();
        outcome.spent_usd = budget.spent_usd();
        outcome
    };
    let (mut outcome, written, scored) = tokio::join!(caller, writer, scorer);
    written?;
    outcome.scored = scored?;
    let status = if outcome.stopped.is_none() && outcome.not_made == 0 {
        EvalStatus::Done
    } else {
        EvalStatus::Incomplete
    };
    store.set_eval_status(run, status).await?;
    Ok(outcome)
}

/// What the cassette keeps of one exchange (answers and final refusals).
fn cassette_entry(
    key: &str,
    config: &RunConfig,
    prompt: &str,
    answer: &Result<Completion, Failure>,
) -> CassetteEntry {
    let (done, error) = match answer {
        Ok(done) => (Some(done), None),
        Err(failure) => (None, Some(failure.error.to_string())),
    };
    CassetteEntry {
        key: key.to_owned(),
        role: "eval".into(),
        model: config.model.clone(),
        prompt: prompt.to_owned(),
        content: done.map(|d| d.content.clone()).unwrap_or_default(),
        reasoning: done.and_then(|d| d.reasoning.clone()),
        prompt_tokens: done.map_or(0, |d| d.usage.prompt_tokens),
        completion_tokens: done.map_or(0, |d| d.usage.completion_tokens),
        error,
        finish_reason: done.and_then(|d| d.finish_reason.clone()),
    }
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
        (row.id, &row.name, row.status.as_str(), samples),
        &per_task,
        &scores,
        &excluded,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn eval_statuses_are_spelled_alike_in_sql_json_and_text() {
        crate::stored::assert_spellings(EvalStatus::ALL).await;
    }

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

    #[test]
    fn answer_keys_depend_on_the_request_and_sample_not_the_run() {
        let config = RunConfig {
            model: "m".into(),
            base_url: "http://a/v1".into(),
            samples: 2,
            temperature: Some(0.6),
            max_tokens: None,
            score_flags: Map::new(),
            bootcamps: vec![],
            read_store: true,
            data: vec![],
            kind: None,
            data_sha256: String::new(),
            client: None,
            limits: Limits::default(),
        };
        let key = answer_key(&config, "Q", 0);
        assert_eq!(key, answer_key(&config, "Q", 0));
        assert_ne!(key, answer_key(&config, "Q", 1));
        assert_ne!(key, answer_key(&config, "Q2", 0));
        let moved = RunConfig {
            base_url: "http://b/v1".into(),
            limits: Limits {
                max_calls: Some(3),
                ..Limits::default()
            },
            ..config.clone()
        };
        assert_eq!(key, answer_key(&moved, "Q", 0));
        let hotter = RunConfig {
            temperature: Some(1.0),
            ..config.clone()
        };
        assert_ne!(key, answer_key(&hotter, "Q", 0));
        // A raised budget is the same run; other sampling is not.
        let raised = RunConfig {
            limits: Limits {
                max_usd: Some(5.0),
                ..Limits::default()
            },
            ..config.clone()
        };
        assert_eq!(config.identity(), raised.identity());
        assert_ne!(config.identity(), hotter.identity());
    }
}
