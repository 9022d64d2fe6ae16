//! One OpenAI-compatible endpoint: an attempt is one request to
//! `{base_url}/chat/completions`, streamed (server-sent events with
//! `stream_options.include_usage`) unless the endpoint says `stream = false`.
//!
//! async-openai is the protocol layer: it sends the request, parses the SSE
//! stream and reports errors, with "bring your own types" so requests and
//! replies stay `serde_json` values read defensively by [`super::stream`]
//! (`reasoning_content`, `finish_reason` and usage are kept whatever the
//! server's dialect). Under it, each attempt runs through bootforge's own HTTP
//! service ([`super::guard::Guarded`]): no retries of async-openai's, the
//! body capped at [`MAX_BODY_BYTES`] and idle-timed chunk by chunk before the
//! SSE parser sees it. Every attempt is made and counted by the caller
//! ([`OpenAiModel::complete`] for one endpoint, [`super::fleet::Fleet`] for
//! several).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use futures::StreamExt;
use serde_json::{Value, json};
use tokio::sync::Semaphore;

use super::guard::{Guarded, Watch};
use super::stream::{Answer, StreamReader, clip, parse_response};
use super::{
    Accounting, AccountingSnapshot, BoxFuture, ChatModel, Completion, EndpointConfig, Failure,
    LlmError, backoff_delay,
};

pub use super::guard::MAX_BODY_BYTES;

/// One endpoint.
pub struct OpenAiModel {
    /// Shared by every attempt: its connection pool and TLS roots are built
    /// once.
    http: reqwest::Client,
    openai: OpenAIConfig,
    config: EndpointConfig,
    permits: Arc<Semaphore>,
    accounting: Accounting,
}

/// The HTTP client of every endpoint: rustls, verifying certificates
/// against the system's roots (the CA bundle the OS and its admin keep, so
/// an internal CA in front of a vLLM server is honoured; `SSL_CERT_FILE`
/// and `SSL_CERT_DIR` point elsewhere). A machine without a CA bundle (a
/// minimal container) gets Mozilla's roots, compiled in, rather than no
/// https at all.
pub fn http_client() -> reqwest::Client {
    if let Ok(client) = reqwest::Client::builder().build() {
        return client;
    }
    tracing::warn!("no CA certificates on this system; https uses Mozilla's root certificates");
    let mozilla = webpki_root_certs::TLS_SERVER_ROOT_CERTS
        .iter()
        .filter_map(|c| reqwest::Certificate::from_der(c).ok());
    reqwest::Client::builder()
        .tls_certs_only(mozilla)
        .build()
        // Nothing is loaded from the system here; with no root at all,
        // http still works and each https call fails with its cause.
        .or_else(|_| reqwest::Client::builder().tls_certs_only([]).build())
        .expect("an HTTP client with given roots loads nothing and cannot fail")
}

impl OpenAiModel {
    pub fn new(config: EndpointConfig) -> Self {
        // Local servers (vLLM, SGLang, Ollama) take any key; send a
        // placeholder rather than nothing so every server sees a header.
        // Organisation and project are set empty so that OPENAI_ORG_ID and
        // OPENAI_PROJECT_ID in the environment do not reach other servers.
        let openai = OpenAIConfig::new()
            .with_api_base(config.base_url.trim_end_matches('/'))
            .with_api_key(config.api_key.as_deref().unwrap_or("EMPTY"))
            .with_org_id("")
            .with_project_id("");
        OpenAiModel {
            http: http_client(),
            openai,
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

    async fn exchange(&self, prompt: &str) -> Result<Answer, LlmError> {
        // async-openai builds the Authorization header with a panicking
        // parse: a key that cannot be a header (a newline read from a
        // file) is refused here instead.
        let key = self.config.api_key.as_deref().unwrap_or("EMPTY");
        if reqwest::header::HeaderValue::from_str(&format!("Bearer {key}")).is_err() {
            return Err(LlmError::Transport(
                "the API key cannot be sent in an HTTP header (a newline or control \
                 character in it?)"
                    .into(),
            ));
        }
        let watch = Arc::new(Watch::default());
        let idle = self.config.idle_timeout.filter(|_| self.config.stream);
        let service = Guarded::new(
            self.http.clone(),
            self.config.stream,
            idle,
            MAX_BODY_BYTES,
            watch.clone(),
        );
        let client =
            Client::build(self.http.clone(), self.openai.clone()).with_http_service(service);
        let timeout = self.config.timeout;
        let request = self.request(prompt);
        if self.config.stream {
            let mut chunks = client
                .chat()
                .create_stream_byot::<Value, Value>(request)
                .await
                .map_err(|e| watch.error(e, timeout))?;
            let mut reader = StreamReader::new();
            while let Some(chunk) = chunks.next().await {
                match chunk {
                    Ok(event) => reader.push(&event)?,
                    Err(e) => return Err(watch.error(e, timeout)),
                }
            }
            if let Some((body, is_sse)) = watch.take_stash() {
                return read_body(&body, is_sse).await;
            }
            return reader.finish(watch.done());
        }
        match client.chat().create_byot::<Value, Value>(request).await {
            Ok(value) => parse_response(&value),
            Err(e) => match watch.take_stash() {
                Some((body, is_sse)) => read_body(&body, is_sse).await,
                None => Err(watch.error(e, timeout)),
            },
        }
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

/// A whole body of the other kind than asked (a proxy ignored `stream`):
/// SSE parsed by the same parser async-openai uses, or one JSON completion.
async fn read_body(body: &[u8], is_sse: bool) -> Result<Answer, LlmError> {
    use eventsource_stream::Eventsource;

    if !is_sse {
        let value: Value = serde_json::from_slice(body).map_err(|e| {
            LlmError::Unreadable(format!(
                "{e}; body starts {:?}",
                clip(&String::from_utf8_lossy(body))
            ))
        })?;
        return parse_response(&value);
    }
    let bytes = bytes::Bytes::copy_from_slice(body);
    let mut events =
        futures::stream::iter([Ok::<_, std::convert::Infallible>(bytes)]).eventsource();
    let mut reader = StreamReader::new();
    let mut done = false;
    while let Some(event) = events.next().await {
        let event = event.map_err(|e| LlmError::Unreadable(clip(&e.to_string())))?;
        if event.data == "[DONE]" {
            done = true;
            break;
        }
        let value: Value = serde_json::from_str(&event.data).map_err(|e| {
            LlmError::Unreadable(format!(
                "a stream event is not JSON ({e}): {}",
                clip(&event.data)
            ))
        })?;
        reader.push(&value)?;
    }
    reader.finish(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::fake::{FakeReply, FakeServer};
    use std::time::Duration;

    fn model(server: &FakeServer, stream: bool) -> OpenAiModel {
        let mut config = EndpointConfig::new(server.base_url(), "m");
        config.stream = stream;
        config.max_retries = 0;
        config.timeout = Duration::from_secs(60);
        OpenAiModel::new(config)
    }

    fn event(v: Value) -> String {
        format!("data: {v}\n\n")
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_hostile_stream_ends_at_the_cap_one_event_or_many() {
        let delta = r#"data: {"choices": [{"delta": {"content": ""#;
        let replies = [
            // One event that never ends.
            FakeReply::Flood {
                head: delta.into(),
                unit: "x".repeat(1000),
                bytes: 3 * MAX_BODY_BYTES,
            },
            // Tiny events without end.
            FakeReply::Flood {
                head: String::new(),
                unit: "data: {}\n\n".into(),
                bytes: 3 * MAX_BODY_BYTES,
            },
            // Keep-alive comments without end (no event at all).
            FakeReply::Flood {
                head: String::new(),
                unit: ": keep-alive\n\n".into(),
                bytes: 3 * MAX_BODY_BYTES,
            },
        ];
        for reply in replies {
            let server = FakeServer::start(move |_| reply.clone()).unwrap();
            let failure = model(&server, true).complete("q").await.unwrap_err();
            assert_eq!(
                failure.error,
                LlmError::TooLarge {
                    limit: MAX_BODY_BYTES
                }
            );
            assert_eq!((failure.attempts, server.requests().len()), (1, 1));
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn streams_end_on_done_or_a_finish_reason_and_a_cut_one_is_retried() {
        let content = |t: &str| event(json!({"choices": [{"delta": {"content": t}}]}));
        let cases = [
            // [DONE] after the last delta, no finish_reason: complete.
            (
                format!(
                    ": keep-alive\n\n{}{}data: [DONE]\n\n",
                    content("a"),
                    content("b")
                ),
                Ok("ab"),
            ),
            // A finish_reason without [DONE]: complete.
            (
                event(json!({"choices": [{"delta": {"content": "c"}, "finish_reason": "stop"}]})),
                Ok("c"),
            ),
            // Neither: cut.
            (content("half"), Err("1 events")),
            // An error event mid-stream.
            (
                format!(
                    "{}{}",
                    content("x"),
                    event(json!({"error": {"message": "KV cache"}}))
                ),
                Err("KV cache"),
            ),
            (
                content("x") + "data: {not json\n\n",
                Err("unreadable response"),
            ),
        ];
        for (body, expected) in cases {
            let server = FakeServer::start(move |_| FakeReply::RawStream(body.clone())).unwrap();
            let mut config = EndpointConfig::new(server.base_url(), "m");
            config.max_retries = 1;
            config.backoff = Duration::from_millis(1);
            let result = OpenAiModel::new(config).complete("q").await;
            match (result, expected) {
                (Ok(c), Ok(text)) => assert_eq!((c.content.as_str(), c.attempts), (text, 1)),
                (Err(f), Err(text)) => {
                    assert!(f.error.retryable(), "{:?}", f.error);
                    assert!(f.error.to_string().contains(text), "{}", f.error);
                    assert_eq!(f.attempts, 2, "retried once");
                }
                (got, want) => panic!("{got:?} against {want:?}"),
            }
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_retry_of_async_openai_s_own_and_errors_keep_status_and_message() {
        // async-openai's default client retries 429 and 5xx itself: here
        // each attempt is one request.
        for (reply, check) in [
            (
                FakeReply::Error(429),
                "rate limited (HTTP 429): scripted HTTP 429",
            ),
            (
                FakeReply::Error(503),
                "server error (HTTP 503): scripted HTTP 503",
            ),
            (
                FakeReply::Raw(401, r#"{"error": "bad key"}"#.into()),
                "request refused (HTTP 401): bad key",
            ),
            (
                FakeReply::Raw(502, "<html>bad gateway</html>".into()),
                "server error (HTTP 502): <html>bad gateway</html>",
            ),
        ] {
            let server = FakeServer::start(move |_| reply.clone()).unwrap();
            for stream in [true, false] {
                let failure = model(&server, stream).complete("q").await.unwrap_err();
                assert_eq!(failure.error.to_string(), check);
                assert_eq!(failure.attempts, 1);
            }
            assert_eq!(server.requests().len(), 2);
        }
        // A huge error body: read up to its cap, the message clipped.
        let server =
            FakeServer::start(|_| FakeReply::Raw(500, "e".repeat(4 * MAX_BODY_BYTES))).unwrap();
        let failure = model(&server, true).complete("q").await.unwrap_err();
        assert!(
            matches!(&failure.error, LlmError::Server { status: 500, message } if message.len() < 600),
            "{:?}",
            failure.error
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_proxy_that_ignores_stream_is_read_as_what_it_sent() {
        let whole = json!({"choices": [{"message": {"content": "whole", "reasoning_content": "r"}, "finish_reason": "stop"}],
                           "usage": {"prompt_tokens": 2, "completion_tokens": 3}})
        .to_string();
        let server = FakeServer::start(move |_| FakeReply::Raw(200, whole.clone())).unwrap();
        let answer = model(&server, true).complete("q").await.unwrap();
        assert_eq!(
            (
                answer.content.as_str(),
                answer.reasoning.as_deref(),
                answer.usage.completion_tokens
            ),
            ("whole", Some("r"), 3)
        );
        let sse = format!(
            "{}data: [DONE]\n\n",
            event(
                json!({"choices": [{"delta": {"content": "streamed"}, "finish_reason": "length"}]})
            )
        );
        let server = FakeServer::start(move |_| FakeReply::RawStream(sse.clone())).unwrap();
        let answer = model(&server, false).complete("q").await.unwrap();
        assert_eq!(answer.content, "streamed");
        assert!(answer.truncated());
    }

    #[tokio::test]
    async fn a_body_of_the_other_kind_is_read_as_what_it_is() {
        let sse = concat!(
            ": keep-alive\n\n",
            "data: {\"choices\": [{\"delta\": {\"reasoning_content\": \"hm\"}}]}\n\n",
            "data: {\"choices\": [{\"delta\": {\"content\": \"4\"}, \"finish_reason\": \"stop\"}]}\n\n",
            "data: [DONE]\n\n"
        );
        let answer = read_body(sse.as_bytes(), true).await.unwrap();
        assert_eq!(
            (answer.content.as_str(), answer.reasoning.as_deref()),
            ("4", Some("hm"))
        );
        assert!(matches!(
            read_body(b"data: {not json\n\n", true).await,
            Err(LlmError::Unreadable(m)) if m.contains("not JSON")
        ));
        let whole = br#"{"choices": [{"message": {"content": "hi"}, "finish_reason": "stop"}]}"#;
        assert_eq!(read_body(whole, false).await.unwrap().content, "hi");
        assert!(matches!(
            read_body(b"<html>", false).await,
            Err(LlmError::Unreadable(_))
        ));
    }
}
