//! One OpenAI-compatible endpoint: an attempt is one HTTP request to
//! `{base_url}/chat/completions`, streamed (server-sent events with
//! `stream_options.include_usage`) unless the endpoint says `stream = false`.
//!
//! The exchange is done on a plain reqwest client rather than async-openai's
//! calls: bootforge needs the body chunk by chunk, to tell a
//! stalled server (no byte for `idle_timeout`) from a slow but steady one, and
//! to stop reading at [`MAX_BODY_BYTES`] (a bigger reply is a recorded
//! failure, never an unbounded buffer). Requests and responses stay JSON
//! values, read defensively by [`super::stream`]. No transport-level retries:
//! every attempt is made and counted by the caller ([`OpenAiModel::complete`]
//! for one endpoint, [`super::fleet::Fleet`] for several).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::Semaphore;

use super::stream::{Answer, StreamReader, clip, parse_response};
use super::{
    Accounting, AccountingSnapshot, BoxFuture, ChatModel, Completion, EndpointConfig, Failure,
    LlmError, backoff_delay,
};

/// The most bytes read from one reply: a hostile endpoint cannot make the
/// host buffer more.
pub const MAX_BODY_BYTES: usize = 8 << 20;
/// The most bytes of an error reply kept for its message.
const MAX_ERROR_BODY: usize = 64 << 10;

/// One endpoint.
pub struct OpenAiModel {
    http: reqwest::Client,
    url: String,
    config: EndpointConfig,
    permits: Arc<Semaphore>,
    accounting: Accounting,
}

impl OpenAiModel {
    pub fn new(config: EndpointConfig) -> Self {
        OpenAiModel {
            http: reqwest::Client::new(),
            url: format!("{}/chat/completions", config.base_url.trim_end_matches('/')),
            permits: Arc::new(Semaphore::new(config.concurrency.max(1))),
            config,
            accounting: Accounting::default(),
        }
    }

    pub fn config(&self) -> &EndpointConfig {
        &self.config
    }

    fn request(&self, prompt: &str) -> Value {
        let mut request = json!({
            "model": self.config.model,
            "messages": [{"role": "user", "content": prompt}],
            "stream": self.config.stream,
        });
        if self.config.stream {
            request["stream_options"] = json!({"include_usage": true});
        }
        if let Some(t) = self.config.temperature {
            request["temperature"] = json!(t);
        }
        if let Some(m) = self.config.max_tokens {
            request["max_tokens"] = json!(m);
        }
        request
    }

    /// One attempt, within the total timeout (and, streaming, the idle one).
    pub async fn attempt(&self, prompt: &str) -> Result<Answer, LlmError> {
        let total = self.config.timeout;
        match tokio::time::timeout(total, self.exchange(prompt)).await {
            Err(_) => Err(LlmError::Timeout(total)),
            Ok(result) => result,
        }
    }

    /// Wait at most the idle timeout for `future` when streaming.
    async fn idle<T>(&self, future: impl std::future::Future<Output = T>) -> Result<T, LlmError> {
        match self.config.idle_timeout.filter(|_| self.config.stream) {
            Some(idle) => tokio::time::timeout(idle, future)
                .await
                .map_err(|_| LlmError::Stalled(idle)),
            None => Ok(future.await),
        }
    }

    async fn exchange(&self, prompt: &str) -> Result<Answer, LlmError> {
        let body = serde_json::to_vec(&self.request(prompt))
            .map_err(|e| LlmError::Transport(format!("encoding the request: {e}")))?;
        let mut request = self
            .http
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        // Local servers (vLLM, SGLang, Ollama) take any key; send a
        // placeholder rather than nothing so every server sees a header.
        let key = self.config.api_key.as_deref().unwrap_or("EMPTY");
        request = request.header(reqwest::header::AUTHORIZATION, format!("Bearer {key}"));
        let mut response = self
            .idle(request.send())
            .await?
            .map_err(|e| transport(e, self.config.timeout))?;
        let status = response.status().as_u16();
        if !(200..300).contains(&status) {
            let mut text = Vec::new();
            while text.len() < MAX_ERROR_BODY {
                match self.idle(response.chunk()).await {
                    Ok(Ok(Some(chunk))) => text.extend_from_slice(&chunk),
                    _ => break,
                }
            }
            return Err(http_error(status, &String::from_utf8_lossy(&text)));
        }
        // Read what the server sent, whatever was asked: a proxy may
        // ignore `stream` either way.
        let streamed = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/event-stream"));
        if streamed {
            let mut reader = StreamReader::new(MAX_BODY_BYTES);
            loop {
                match self.idle(response.chunk()).await? {
                    Ok(Some(chunk)) => reader.push(&chunk)?,
                    Ok(None) => break,
                    Err(e) => return Err(transport(e, self.config.timeout)),
                }
                if reader.done() {
                    // Read the end of the body (briefly) so the connection
                    // can be reused; a server that keeps it open after
                    // [DONE] costs a new connection, never the answer.
                    let drain = async {
                        let mut left = 64usize;
                        while left > 0 && matches!(response.chunk().await, Ok(Some(_))) {
                            left -= 1;
                        }
                    };
                    let _ = tokio::time::timeout(Duration::from_millis(100), drain).await;
                    break;
                }
            }
            return reader.finish();
        }
        // A whole JSON body (stream = false, or a proxy that ignored it).
        let mut body = Vec::new();
        loop {
            match self.idle(response.chunk()).await? {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > MAX_BODY_BYTES {
                        return Err(LlmError::TooLarge {
                            limit: MAX_BODY_BYTES,
                        });
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => return Err(transport(e, self.config.timeout)),
            }
        }
        let value: Value = serde_json::from_slice(&body).map_err(|e| {
            LlmError::Unreadable(format!(
                "{e}; body starts {:?}",
                clip(&String::from_utf8_lossy(&body))
            ))
        })?;
        parse_response(&value)
    }

    async fn run(&self, prompt: &str) -> Result<Completion, Failure> {
        let _permit = self.permits.acquire().await.map_err(|_| Failure {
            error: LlmError::Transport("the client was shut down".into()),
            attempts: 0,
        })?;
        self.accounting.calls.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let mut attempts = 0;
        loop {
            attempts += 1;
            self.accounting.attempts.fetch_add(1, Ordering::Relaxed);
            match self.attempt(prompt).await {
                Ok(answer) => {
                    self.accounting.add_usage(answer.usage);
                    return Ok(Completion::from_answer(
                        answer,
                        attempts,
                        started.elapsed(),
                        Some(self.config.base_url.clone()),
                    ));
                }
                Err(error) if error.retryable() && attempts <= self.config.max_retries => {
                    tokio::time::sleep(backoff_delay(&self.config, attempts)).await;
                }
                Err(error) => {
                    self.accounting.failures.fetch_add(1, Ordering::Relaxed);
                    return Err(Failure { error, attempts });
                }
            }
        }
    }
}

impl ChatModel for OpenAiModel {
    fn complete<'a>(&'a self, prompt: &'a str) -> BoxFuture<'a, Result<Completion, Failure>> {
        Box::pin(self.run(prompt))
    }

    fn accounting(&self) -> AccountingSnapshot {
        self.accounting.snapshot()
    }

    fn describe(&self) -> String {
        format!("{} at {}", self.config.model, self.config.base_url)
    }
}

fn transport(e: reqwest::Error, timeout: Duration) -> LlmError {
    if e.is_timeout() {
        LlmError::Timeout(timeout)
    } else if e.is_decode() || e.is_body() {
        LlmError::Unreadable(clip(&error_chain(&e)))
    } else {
        LlmError::Transport(clip(&error_chain(&e)))
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn http_error(status: u16, body: &str) -> LlmError {
    let message = serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| {
            v.get("error")
                .and_then(|e| e.get("message").or(Some(e)))
                .map(|m| {
                    m.as_str()
                        .map(str::to_owned)
                        .unwrap_or_else(|| m.to_string())
                })
        })
        .unwrap_or_else(|| body.trim().to_owned());
    let message = clip(&message);
    match status {
        429 => LlmError::RateLimited(message),
        500..=599 => LlmError::Server { status, message },
        _ => LlmError::Refused { status, message },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_become_typed_errors() {
        assert_eq!(
            http_error(429, r#"{"error": {"message": "slow down"}}"#),
            LlmError::RateLimited("slow down".into())
        );
        assert_eq!(
            http_error(503, "<html>bad gateway</html>"),
            LlmError::Server {
                status: 503,
                message: "<html>bad gateway</html>".into()
            }
        );
        assert!(matches!(
            http_error(401, r#"{"error": "bad key"}"#),
            LlmError::Refused { status: 401, message } if message == "bad key"
        ));
    }
}
