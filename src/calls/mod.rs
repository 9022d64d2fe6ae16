//! The call layer: every LLM call of a campaign, a calibration or an
//! evaluation run goes through it. It sits above [`crate::llm`] (the
//! endpoints) and [`crate::store`] (the `llm_calls` rows), below
//! [`crate::campaign`], [`crate::calibrate`] and [`crate::eval`], which share
//! it; nothing here knows what a campaign is beyond the row its calls are
//! stored under.
//!
//! A [`Router`] serves a call the store already finished (so a resumed run
//! never repeats one), enforces the [`Budget`], calls the live endpoint or
//! replays a cassette ([`Backend`]), records the exchange to a cassette
//! ([`Recorder`]) when asked, and hands back the record to store.
//! [`DraftSolver`] is the solver as a draft's checks ask it; [`flight`]
//! makes the same key asked twice at once one call; [`cost`] prices spend.
//!
//! Calls are content-addressed: the key is a hash of the role, the model and
//! what the request depends on, so the same run asks the same keys in
//! any order, live, resumed or replayed.

pub mod cost;
pub mod flight;
pub mod role;

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::Context;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::llm::{AccountingSnapshot, BoxFuture, ChatModel, Completion, Failure, LlmError, Usage};
use crate::store::{CallRecord, CallStatus, Store};

/// A content-addressed call key.
pub fn call_key(role: &str, parts: &[&str]) -> String {
    let mut digest = Sha256::new();
    for part in parts {
        digest.update(part.as_bytes());
        digest.update([0]);
    }
    let hex: String = digest
        .finalize()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{role}:{hex}")
}

/// One recorded exchange.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CassetteEntry {
    pub key: String,
    pub role: String,
    pub model: String,
    pub prompt: String,
    pub content: String,
    #[serde(default)]
    pub reasoning: Option<String>,
    #[serde(default)]
    pub prompt_tokens: u64,
    #[serde(default)]
    pub completion_tokens: u64,
    /// Set when the call failed after its retries (replayed as that failure).
    #[serde(default)]
    pub error: Option<String>,
    /// `length` when the answer was cut off by max_tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<String>,
}

/// A cassette being replayed.
pub struct Replay {
    entries: HashMap<String, CassetteEntry>,
}

impl Replay {
    pub fn parse(text: &str, origin: &str) -> Result<Replay, String> {
        let mut entries = HashMap::new();
        for (index, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let entry: CassetteEntry =
                serde_json::from_str(line).map_err(|e| format!("{origin}:{}: {e}", index + 1))?;
            entries.insert(entry.key.clone(), entry);
        }
        Ok(Replay { entries })
    }

    /// Read and [`parse`](Self::parse) a cassette file; the I/O error is
    /// kept as the cause (`{:#}` says it all on one line).
    pub fn load(path: &Path) -> anyhow::Result<Replay> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read cassette {}", path.display()))?;
        // The parse error is a message (file and line), nothing beneath it.
        Self::parse(&text, &path.display().to_string()).map_err(anyhow::Error::msg)
    }
}

/// A cassette being recorded (appended line by line, flushed each time).
pub struct Recorder {
    file: Mutex<std::fs::File>,
}

impl Recorder {
    /// Open a cassette for appending; the I/O error is kept as the cause.
    pub fn create(path: &Path) -> anyhow::Result<Recorder> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("cannot write cassette {}", path.display()))?;
        Ok(Recorder {
            file: Mutex::new(file),
        })
    }

    pub fn append(&self, entry: &CassetteEntry) {
        let line = serde_json::to_string(entry).unwrap_or_default();
        let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        let _ = writeln!(file, "{line}");
        let _ = file.flush();
    }
}

/// Where answers come from.
pub enum Backend {
    Live(Arc<dyn ChatModel>),
    Replay(Arc<Replay>),
}

impl Backend {
    /// The answer to request `key`, from the endpoint or the cassette, with
    /// the status to record; None when the cassette has
    /// no answer for it. A cassette's failure replays as the refusal it was.
    pub async fn answer(
        &self,
        key: &str,
        prompt: &str,
    ) -> Option<(Result<Completion, Failure>, CallStatus)> {
        Some(match self {
            Backend::Live(model) => (model.complete(prompt).await, CallStatus::Ok),
            Backend::Replay(replay) => match replay.entries.get(key)? {
                e if e.error.is_some() => (
                    Err(Failure {
                        error: LlmError::Refused {
                            status: 400,
                            message: e.error.clone().unwrap_or_default(),
                        },
                        attempts: 1,
                    }),
                    CallStatus::Replayed,
                ),
                e => (
                    Ok(Completion {
                        content: e.content.clone(),
                        reasoning: e.reasoning.clone(),
                        usage: Usage {
                            prompt_tokens: e.prompt_tokens,
                            completion_tokens: e.completion_tokens,
                        },
                        attempts: 1,
                        latency_ms: 0.0,
                        finish_reason: e.finish_reason.clone(),
                        endpoint: None,
                    }),
                    CallStatus::Replayed,
                ),
            },
        })
    }
}

/// The campaign's spend, shared by its routers.
pub struct Budget {
    calls: AtomicI64,
    tokens: AtomicI64,
    max_calls: i64,
    max_tokens: i64,
    exhausted: AtomicBool,
    /// Spend in micro-dollars, the limit, and the prices it is counted at.
    micro_usd: AtomicI64,
    max_micro_usd: Option<i64>,
    prices: std::collections::BTreeMap<String, cost::Price>,
}

impl Budget {
    pub fn new(spent: crate::store::Usage, max_calls: u64, max_tokens: u64) -> Budget {
        Budget {
            calls: AtomicI64::new(spent.llm_calls),
            tokens: AtomicI64::new(spent.tokens),
            max_calls: i64::try_from(max_calls).unwrap_or(i64::MAX),
            max_tokens: i64::try_from(max_tokens).unwrap_or(i64::MAX),
            exhausted: AtomicBool::new(false),
            micro_usd: AtomicI64::new(0),
            max_micro_usd: None,
            prices: Default::default(),
        }
    }

    /// Also count dollars: `spent_usd` so far, at most `max_usd`, each call
    /// at its model's price (a model without a price costs nothing).
    pub fn with_usd(
        mut self,
        spent_usd: f64,
        max_usd: Option<f64>,
        prices: std::collections::BTreeMap<String, cost::Price>,
    ) -> Budget {
        self.micro_usd = AtomicI64::new(cost::micro_usd(spent_usd));
        self.max_micro_usd = max_usd.map(cost::micro_usd);
        self.prices = prices;
        self
    }

    /// Dollars spent so far.
    pub fn spent_usd(&self) -> f64 {
        self.micro_usd.load(Ordering::Relaxed) as f64 / 1e6
    }

    /// Reserve one call; false (and exhausted from then on) when spent.
    pub(crate) fn take(&self) -> bool {
        if self.tokens.load(Ordering::Relaxed) >= self.max_tokens
            || self
                .max_micro_usd
                .is_some_and(|max| self.micro_usd.load(Ordering::Relaxed) >= max)
            || self.calls.fetch_add(1, Ordering::Relaxed) >= self.max_calls
        {
            self.exhausted.store(true, Ordering::Relaxed);
            return false;
        }
        true
    }

    pub(crate) fn spend(&self, model: &str, usage: Usage) {
        self.tokens.fetch_add(
            (usage.prompt_tokens + usage.completion_tokens) as i64,
            Ordering::Relaxed,
        );
        if let Some(price) = self.prices.get(model) {
            let usd = price.usd(usage.prompt_tokens, usage.completion_tokens);
            self.micro_usd
                .fetch_add(cost::micro_usd(usd), Ordering::Relaxed);
        }
    }

    pub fn exhausted(&self) -> bool {
        self.exhausted.load(Ordering::Relaxed)
    }

    pub fn spent(&self) -> (i64, i64) {
        (
            self.calls.load(Ordering::Relaxed).min(self.max_calls),
            self.tokens.load(Ordering::Relaxed),
        )
    }
}

/// Why a call could not be made at all.
#[derive(Debug, Clone, PartialEq)]
pub enum Stop {
    Budget,
    /// The cassette has no answer for this request.
    Replay(String),
    /// The endpoint kept failing (unreachable, timing out, 5xx, 429, or
    /// refusing every request: bad key or model) after its retries.
    Endpoint(String),
    Store(String),
    /// The process stopped working on the campaign (a daemon shutting down,
    /// or its lease was taken over): no new call starts.
    Interrupted(String),
}

/// Whether a failure after retries is the endpoint's (stop the campaign,
/// resume later) rather than this request's (record it against the draft):
/// only a request the server understood and refused as such (400, 413, 422:
/// too long, malformed) belongs to the draft.
pub fn endpoint_failure(error: &LlmError) -> bool {
    !matches!(
        error,
        LlmError::Refused {
            status: 400 | 413 | 422,
            ..
        } | LlmError::TooLarge { .. }
    )
}

/// The outcome of a routed call: the record to store and the answer.
pub struct Routed<'a> {
    pub record: CallRecord,
    pub answer: Result<Completion, Failure>,
    /// The store already had it (nothing new to write).
    pub from_store: bool,
    /// The call's turn at the gate, held until the caller has stored the
    /// record: a process killed then loses at most as many answers as the
    /// gate lets calls run at once.
    pub turn: Option<tokio::sync::SemaphorePermit<'a>>,
}

/// Routes one role's calls.
pub struct Router {
    pub role: &'static str,
    pub model: String,
    pub store: Store,
    pub campaign: i64,
    pub backend: Backend,
    pub budget: Arc<Budget>,
    pub recorder: Option<Arc<Recorder>>,
    pub stop: Mutex<Option<Stop>>,
    /// As many permits as the role's endpoints take calls at once (their
    /// concurrency together, one endpoint or a fleet): a call waits here,
    /// not in the client, for its turn, so that an interrupt that comes
    /// while it waits stops it before it is sent (the client's own queue
    /// cannot be interrupted: a queued call there is already past the
    /// check).
    pub gate: tokio::sync::Semaphore,
}

impl Router {
    fn halt(&self, stop: Stop) -> Stop {
        let mut slot = self.stop.lock().unwrap_or_else(|p| p.into_inner());
        slot.get_or_insert(stop.clone());
        stop
    }

    /// Refuse every call from now on (calls in flight finish).
    pub fn interrupt(&self, stop: Stop) {
        self.halt(stop);
    }

    /// The first reason this router refused a call, if any.
    pub fn stopped(&self) -> Option<Stop> {
        self.stop.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub async fn call(
        &self,
        key: &str,
        prompt: &str,
        draft: Option<i64>,
    ) -> Result<Routed<'_>, Stop> {
        if let Some(stop @ Stop::Interrupted(_)) = self.stopped() {
            return Err(stop);
        }
        match self.store.finished_call(self.campaign, key).await {
            Ok(Some(record)) => {
                let answer = Ok(Completion {
                    content: record.content.clone().unwrap_or_default(),
                    reasoning: record.reasoning.clone(),
                    usage: Usage {
                        prompt_tokens: record.prompt_tokens as u64,
                        completion_tokens: record.completion_tokens as u64,
                    },
                    attempts: record.attempts as u32,
                    latency_ms: record.latency_ms,
                    finish_reason: record.finish_reason.clone(),
                    endpoint: record.endpoint.clone(),
                });
                return Ok(Routed {
                    record,
                    answer,
                    from_store: true,
                    turn: None,
                });
            }
            Ok(None) => {}
            Err(err) => return Err(self.halt(Stop::Store(err.to_string()))),
        }
        // Not stored: wait for a turn, then look again: an interrupt that came while
        // this call queued means it never starts.
        let turn = self.gate.acquire().await.ok();
        if let Some(stop @ Stop::Interrupted(_)) = self.stopped() {
            return Err(stop);
        }
        if !self.budget.take() {
            return Err(self.halt(Stop::Budget));
        }
        let Some((answer, status)) = self.backend.answer(key, prompt).await else {
            return Err(self.halt(Stop::Replay(format!(
                "the cassette has no answer for this {} request ({key}); it was recorded for other tasks, prompts or settings",
                self.role
            ))));
        };
        let mut record = CallRecord {
            call_key: key.to_owned(),
            role: self.role.to_owned(),
            model: self.model.clone(),
            draft_id: draft,
            ..Default::default()
        };
        match &answer {
            Ok(done) => {
                self.budget.spend(&self.model, done.usage);
                record.endpoint = done.endpoint.clone();
                record.finish_reason = done.finish_reason.clone();
                record.status = status;
                record.content = Some(done.content.clone());
                record.reasoning = done.reasoning.clone();
                record.prompt_tokens = done.usage.prompt_tokens as i64;
                record.completion_tokens = done.usage.completion_tokens as i64;
                record.latency_ms = done.latency_ms;
                record.attempts = done.attempts as i64;
            }
            Err(failure) => {
                if endpoint_failure(&failure.error) {
                    // Nothing of the draft is wrong: stop, and let a resume
                    // make this call again when the endpoint answers.
                    return Err(self.halt(Stop::Endpoint(format!(
                        "the {} endpoint failed: {}",
                        self.role, failure.error
                    ))));
                }
                record.status = CallStatus::Failed;
                record.error = Some(failure.error.to_string());
                record.attempts = failure.attempts as i64;
                // Failed calls never answer a later lookup; their own key
                // keeps them from blocking a later success of the same call.
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos())
                    .unwrap_or(0);
                record.call_key = format!("{key}#failed-{nanos}");
            }
        }
        if let Some(recorder) = &self.recorder {
            // Answers and requests refused for good, under the request's key.
            recorder.append(&CassetteEntry {
                key: key.to_owned(),
                role: self.role.to_owned(),
                model: self.model.clone(),
                prompt: prompt.to_owned(),
                content: record.content.clone().unwrap_or_default(),
                reasoning: record.reasoning.clone(),
                prompt_tokens: record.prompt_tokens as u64,
                completion_tokens: record.completion_tokens as u64,
                error: record.error.clone(),
                finish_reason: record.finish_reason.clone(),
            });
        }
        Ok(Routed {
            record,
            answer,
            from_store: false,
            turn,
        })
    }
}

/// The solver as the checks see it, for one draft: calls keyed by the draft's
/// logical identity (task, generation, sample and the author prompt it came
/// from, stable across runs unlike row ids) and the prompt, stored as they
/// finish (a resumed evaluation gets them back from the store).
pub struct DraftSolver {
    pub router: Arc<Router>,
    pub draft: i64,
    pub draft_key: String,
    /// How a check's question becomes the solver's prompt (the campaign's
    /// solver template).
    pub template: Arc<dyn SolverPrompt>,
    /// Set when a call of this draft's evaluation was refused (budget,
    /// cassette, endpoint): the evaluation is then incomplete.
    pub refused: std::sync::atomic::AtomicBool,
    /// Calls this draft's solver made (not served from the store).
    pub new_calls: std::sync::atomic::AtomicUsize,
    /// The same key asked twice at once is one call: an evaluation whose
    /// cases render alike would otherwise pay for, and store, the answer twice.
    pub inflight: flight::SingleFlight<Result<Completion, Failure>>,
}

/// Renders a check's question as the prompt the solver is sent. The
/// template is the caller's (a campaign's prompts); this layer only needs
/// the rendered text, per call, since the checks ask their questions one by
/// one and the rendered prompt is part of the call key.
pub trait SolverPrompt: Send + Sync {
    fn render(&self, question: &str) -> String;
}

impl ChatModel for DraftSolver {
    fn complete<'a>(&'a self, prompt: &'a str) -> BoxFuture<'a, Result<Completion, Failure>> {
        Box::pin(async move {
            let rendered = self.template.render(prompt);
            let key = call_key("solver", &[&self.router.model, &self.draft_key, &rendered]);
            self.inflight
                .run(&key, || self.call_once(&key, &rendered))
                .await
        })
    }

    fn accounting(&self) -> AccountingSnapshot {
        AccountingSnapshot::default()
    }

    fn describe(&self) -> String {
        self.router.model.clone()
    }
}

impl DraftSolver {
    async fn call_once(&self, key: &str, rendered: &str) -> Result<Completion, Failure> {
        match self.router.call(key, rendered, Some(self.draft)).await {
            Ok(routed) => {
                if !routed.from_store {
                    self.new_calls.fetch_add(1, Ordering::Relaxed);
                }
                if !routed.from_store
                    && let Err(err) = self
                        .router
                        .store
                        .record_call(self.router.campaign, &routed.record)
                        .await
                {
                    self.router.halt(Stop::Store(err.to_string()));
                }
                routed.answer
            }
            Err(stop) => {
                self.refused.store(true, Ordering::Relaxed);
                Err(Failure {
                    error: LlmError::Refused {
                        status: 0,
                        message: format!("{stop:?}"),
                    },
                    attempts: 0,
                })
            }
        }
    }
}

#[cfg(test)]
mod cassette_tests {
    use super::*;

    #[test]
    fn a_missing_cassette_keeps_the_io_error_and_says_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no-such.jsonl");
        let err = Replay::load(&path).err().unwrap();
        let io = err.root_cause().downcast_ref::<std::io::Error>();
        assert_eq!(io.map(|e| e.kind()), Some(std::io::ErrorKind::NotFound));
        let said = format!("{err:#}");
        assert!(
            said.starts_with(&format!("cannot read cassette {}: ", path.display())),
            "{said}"
        );
        let err = Recorder::create(&dir.path().join("no/dir/c.jsonl"))
            .err()
            .unwrap();
        assert!(err.root_cause().is::<std::io::Error>(), "{err:#}");
    }
}
