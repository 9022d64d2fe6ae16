//! LLM clients: OpenAI-compatible endpoints, one or a fleet per role, with
//! concurrency limits, streaming, a total and an idle timeout per attempt,
//! retries with backoff and jitter, and token accounting.
//!
//! [`ChatModel`] is the trait the pipeline calls; [`openai::OpenAiModel`] is
//! one endpoint (async-openai as the protocol layer, over bootforge's own HTTP
//! service, [`guard`]: no hidden retries, a capped and idle-timed body),
//! [`fleet::Fleet`] several (the choice of endpoint is the pure [`choose`]);
//! [`stream`] reads replies. The scripted OpenAI-compatible server the tests
//! and benchmarks run against is `tests/support/fake.rs`, outside the
//! product; the unit tests here include it.

pub mod choose;
// The tests' fake server, for this module's unit tests only.
#[cfg(test)]
#[path = "../../tests/support/fake.rs"]
mod fake;
pub mod fleet;
pub mod guard;
pub mod openai;
pub mod stream;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;

/// An endpoint and how to use it.
#[derive(Debug, Clone)]
pub struct EndpointConfig {
    /// The API base, e.g. `http://127.0.0.1:8000/v1`.
    pub base_url: String,
    pub model: String,
    pub api_key: Option<String>,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Limit of each attempt.
    pub timeout: Duration,
    /// Attempts after the first, on retryable failures.
    pub max_retries: u32,
    /// First backoff; doubled each retry, capped at `max_backoff`, with full jitter.
    pub backoff: Duration,
    pub max_backoff: Duration,
    pub temperature: Option<f32>,
    pub max_tokens: Option<u32>,
    /// Stream the reply (server-sent events); false for servers or proxies
    /// that cannot.
    pub stream: bool,
    /// Streaming: the longest wait for the next bytes before the attempt
    /// counts as stalled (and is retried). None: only `timeout` applies.
    pub idle_timeout: Option<Duration>,
    /// Share of a fleet's requests, relative to the other endpoints'.
    pub weight: f64,
}

impl EndpointConfig {
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> Self {
        EndpointConfig {
            base_url: base_url.into(),
            model: model.into(),
            api_key: None,
            concurrency: 16,
            timeout: Duration::from_secs(600),
            max_retries: 4,
            backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            temperature: None,
            max_tokens: None,
            stream: true,
            idle_timeout: None,
            weight: 1.0,
        }
    }
}

/// Why a call failed. Each variant says whether it is retried.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LlmError {
    /// 429: retried.
    #[error("rate limited (HTTP 429): {0}")]
    RateLimited(String),
    /// 5xx: retried.
    #[error("server error (HTTP {status}): {message}")]
    Server { status: u16, message: String },
    /// No answer within the timeout: retried.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// A body that is not a chat completion: retried.
    #[error("unreadable response: {0}")]
    Unreadable(String),
    /// The connection failed: retried.
    #[error("transport error: {0}")]
    Transport(String),
    /// Any other 4xx (bad key, unknown model, bad request): not retried.
    #[error("request refused (HTTP {status}): {message}")]
    Refused { status: u16, message: String },
    /// A stream sent nothing for this long: retried.
    #[error("the stream stalled: nothing for {0:?}")]
    Stalled(Duration),
    /// The reply was bigger than the limit: not retried (the request's
    /// outcome, recorded against it).
    #[error("the reply exceeded {limit} bytes")]
    TooLarge { limit: usize },
    /// Every endpoint of a fleet failed this request past its retries:
    /// each endpoint with its last error.
    #[error("every endpoint failed past its retries: {}", .0.iter().map(|(e, m)| format!("{e} ({m})")).collect::<Vec<_>>().join("; "))]
    AllFailed(Vec<(String, String)>),
}

impl LlmError {
    pub fn retryable(&self) -> bool {
        !matches!(
            self,
            LlmError::Refused { .. } | LlmError::TooLarge { .. } | LlmError::AllFailed(_)
        )
    }
}

/// Token counts of one exchange.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

/// One answered request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Completion {
    /// The message content (may be empty: an empty answer is still an answer).
    pub content: String,
    /// `reasoning_content`, when the server separates it.
    pub reasoning: Option<String>,
    pub usage: Usage,
    /// Attempts it took (1 = no retry).
    pub attempts: u32,
    pub latency_ms: f64,
    /// `stop`, `length` (cut by max_tokens), ... as the server said.
    pub finish_reason: Option<String>,
    /// The endpoint that answered (its base URL), when live.
    pub endpoint: Option<String>,
}

impl Completion {
    pub fn from_answer(
        answer: stream::Answer,
        attempts: u32,
        elapsed: Duration,
        endpoint: Option<String>,
    ) -> Completion {
        Completion {
            content: answer.content,
            reasoning: answer.reasoning,
            usage: answer.usage,
            attempts,
            latency_ms: elapsed.as_secs_f64() * 1e3,
            finish_reason: answer.finish_reason,
            endpoint,
        }
    }

    /// Whether the answer was cut off by `max_tokens`.
    pub fn truncated(&self) -> bool {
        self.finish_reason.as_deref() == Some("length")
    }

    /// Whether the model produced reasoning, separately or as `<think>` tags.
    pub fn has_reasoning(&self) -> bool {
        self.reasoning
            .as_deref()
            .is_some_and(|r| !r.trim().is_empty())
            || self.content.contains("</think>")
    }

    /// The full model output as InternBootcamp grades it: separated reasoning
    /// is put back in front of the answer as `<think>...</think>`.
    pub fn graded_text(&self) -> String {
        match self.reasoning.as_deref() {
            Some(r) if !r.trim().is_empty() && !self.content.contains("</think>") => {
                format!("<think>\n{}\n</think>\n\n{}", r.trim(), self.content)
            }
            _ => self.content.clone(),
        }
    }
}

/// A failed request, with what it cost.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub error: LlmError,
    pub attempts: u32,
}

/// Counters across all calls of a client.
#[derive(Debug, Default)]
pub struct Accounting {
    pub calls: AtomicU64,
    pub attempts: AtomicU64,
    pub failures: AtomicU64,
    pub prompt_tokens: AtomicU64,
    pub completion_tokens: AtomicU64,
}

/// A snapshot of [`Accounting`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct AccountingSnapshot {
    pub calls: u64,
    pub attempts: u64,
    pub failures: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

impl Accounting {
    pub fn add_usage(&self, usage: Usage) {
        self.prompt_tokens
            .fetch_add(usage.prompt_tokens, Ordering::Relaxed);
        self.completion_tokens
            .fetch_add(usage.completion_tokens, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> AccountingSnapshot {
        AccountingSnapshot {
            calls: self.calls.load(Ordering::Relaxed),
            attempts: self.attempts.load(Ordering::Relaxed),
            failures: self.failures.load(Ordering::Relaxed),
            prompt_tokens: self.prompt_tokens.load(Ordering::Relaxed),
            completion_tokens: self.completion_tokens.load(Ordering::Relaxed),
        }
    }
}

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A chat model: one user message in, one completion out (after retries).
pub trait ChatModel: Send + Sync {
    fn complete<'a>(&'a self, prompt: &'a str) -> BoxFuture<'a, Result<Completion, Failure>>;
    fn accounting(&self) -> AccountingSnapshot;
    fn describe(&self) -> String;
}

/// Backoff before retry `attempt` (1-based): exponential, capped, full jitter.
pub fn backoff_delay(config: &EndpointConfig, attempt: u32) -> Duration {
    let exp = config
        .backoff
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
    let cap = exp.min(config.max_backoff);
    let fraction = (jitter() % 1_000_000) as f64 / 1_000_000.0;
    cap.mul_f64(fraction)
}

fn jitter() -> u64 {
    static STATE: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64)
        .unwrap_or(0);
    let mut x = STATE.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed) ^ nanos;
    x ^= x >> 33;
    x = x.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    x ^ (x >> 33)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let mut config = EndpointConfig::new("http://x", "m");
        config.backoff = Duration::from_millis(100);
        config.max_backoff = Duration::from_millis(300);
        for attempt in 1..10 {
            let d = backoff_delay(&config, attempt);
            let cap =
                Duration::from_millis(100 * (1 << (attempt - 1))).min(Duration::from_millis(300));
            assert!(d <= cap, "{attempt}: {d:?} > {cap:?}");
        }
    }

    #[test]
    fn reasoning_is_put_back_for_grading() {
        let c = Completion {
            content: "[answer]3[/answer]".into(),
            reasoning: Some("1+2=3".into()),
            usage: Usage::default(),
            attempts: 1,
            latency_ms: 0.0,
            finish_reason: None,
            endpoint: None,
        };
        assert!(c.has_reasoning());
        assert_eq!(
            c.graded_text(),
            "<think>\n1+2=3\n</think>\n\n[answer]3[/answer]"
        );
        let plain = Completion {
            reasoning: None,
            ..c.clone()
        };
        assert!(!plain.has_reasoning());
        assert_eq!(plain.graded_text(), "[answer]3[/answer]");
        let inline = Completion {
            content: "<think>x</think>y".into(),
            reasoning: None,
            ..c
        };
        assert!(inline.has_reasoning());
        assert_eq!(inline.graded_text(), "<think>x</think>y");
    }
}
