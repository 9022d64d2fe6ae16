//! [`ChatModel`] over any OpenAI-compatible endpoint, with async-openai.
//!
//! Requests and responses go through async-openai's "bring your own types"
//! calls as JSON values: servers differ in what they add (`reasoning_content`
//! from vLLM and DeepSeek, `reasoning` from newer vLLM), and a malformed body
//! must become a typed, retryable error rather than a deserialisation panic
//! deep in a client. async-openai's default transport retries 429s and 5xx on
//! its own; it is replaced by a plain one, so that every attempt is made and
//! counted here.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use serde_json::{Value, json};
use tokio::sync::Semaphore;

use super::{
    Accounting, AccountingSnapshot, BoxFuture, ChatModel, Completion, EndpointConfig, Failure,
    LlmError, Usage, backoff_delay,
};

/// The async-openai implementation of [`ChatModel`].
pub struct OpenAiModel {
    client: Client<OpenAIConfig>,
    config: EndpointConfig,
    permits: Arc<Semaphore>,
    accounting: Accounting,
}

const MAX_ERROR_TEXT: usize = 500;

fn short(text: impl std::fmt::Display) -> String {
    let text = text.to_string();
    if text.len() <= MAX_ERROR_TEXT {
        return text;
    }
    let mut end = MAX_ERROR_TEXT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}

impl OpenAiModel {
    pub fn new(config: EndpointConfig) -> Self {
        let mut openai = OpenAIConfig::new().with_api_base(config.base_url.trim_end_matches('/'));
        // Local servers (vLLM, SGLang, Ollama) take any key; send a
        // placeholder rather than nothing so every server sees a header.
        openai = openai.with_api_key(config.api_key.clone().unwrap_or_else(|| "EMPTY".into()));
        // A transport without async-openai's built-in retry layer: retries are
        // made (and counted) here, with jitter, once per attempt budget.
        let transport = async_openai::middleware::ReqwestService::new(reqwest::Client::new());
        OpenAiModel {
            client: Client::with_config(openai).with_http_service(transport),
            permits: Arc::new(Semaphore::new(config.concurrency.max(1))),
            config,
            accounting: Accounting::default(),
        }
    }

    fn request(&self, prompt: &str) -> Value {
        let mut request = json!({
            "model": self.config.model,
            "messages": [{"role": "user", "content": prompt}],
            "stream": false,
        });
        if let Some(t) = self.config.temperature {
            request["temperature"] = json!(t);
        }
        if let Some(m) = self.config.max_tokens {
            request["max_tokens"] = json!(m);
        }
        request
    }

    async fn attempt(&self, request: &Value) -> Result<(String, Option<String>, Usage), LlmError> {
        let chat = self.client.chat();
        let call = chat.create_byot::<&Value, Value>(request);
        let response = match tokio::time::timeout(self.config.timeout, call).await {
            Err(_) => return Err(LlmError::Timeout(self.config.timeout)),
            Ok(Err(err)) => return Err(map_error(err, self.config.timeout)),
            Ok(Ok(value)) => value,
        };
        parse_response(&response)
    }

    async fn run(&self, prompt: &str) -> Result<Completion, Failure> {
        let _permit = self.permits.acquire().await.map_err(|_| Failure {
            error: LlmError::Transport("the client was shut down".into()),
            attempts: 0,
        })?;
        self.accounting.calls.fetch_add(1, Ordering::Relaxed);
        let request = self.request(prompt);
        let started = Instant::now();
        let mut attempts = 0;
        loop {
            attempts += 1;
            self.accounting.attempts.fetch_add(1, Ordering::Relaxed);
            match self.attempt(&request).await {
                Ok((content, reasoning, usage)) => {
                    self.accounting
                        .prompt_tokens
                        .fetch_add(usage.prompt_tokens, Ordering::Relaxed);
                    self.accounting
                        .completion_tokens
                        .fetch_add(usage.completion_tokens, Ordering::Relaxed);
                    return Ok(Completion {
                        content,
                        reasoning,
                        usage,
                        attempts,
                        latency_ms: started.elapsed().as_secs_f64() * 1e3,
                    });
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

fn map_error(err: OpenAIError, timeout: std::time::Duration) -> LlmError {
    match err {
        OpenAIError::ApiError(api) => {
            let status = api.status_code.as_u16();
            let message = short(&api.api_error.message);
            match status {
                429 => LlmError::RateLimited(message),
                500..=599 => LlmError::Server { status, message },
                _ => LlmError::Refused { status, message },
            }
        }
        OpenAIError::JSONDeserialize(e, content) => {
            LlmError::Unreadable(format!("{e}; body starts {:?}", short(content)))
        }
        OpenAIError::Reqwest(e) if e.is_timeout() => LlmError::Timeout(timeout),
        OpenAIError::Reqwest(e) if e.is_decode() || e.is_body() => LlmError::Unreadable(short(e)),
        other => LlmError::Transport(short(other)),
    }
}

fn parse_response(response: &Value) -> Result<(String, Option<String>, Usage), LlmError> {
    let message = response
        .get("choices")
        .and_then(|c| c.get(0))
        .and_then(|c| c.get("message"))
        .ok_or_else(|| {
            LlmError::Unreadable(format!("no choices[0].message in {}", short(response)))
        })?;
    let content = match message.get("content") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => {
            return Err(LlmError::Unreadable(format!(
                "content is not a string: {}",
                short(other)
            )));
        }
    };
    let reasoning = ["reasoning_content", "reasoning"]
        .iter()
        .find_map(|k| message.get(*k).and_then(Value::as_str))
        .map(str::to_owned);
    let usage = response.get("usage");
    let count = |key: &str| {
        usage
            .and_then(|u| u.get(key))
            .and_then(Value::as_u64)
            .unwrap_or(0)
    };
    Ok((
        content,
        reasoning,
        Usage {
            prompt_tokens: count("prompt_tokens"),
            completion_tokens: count("completion_tokens"),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_are_read_defensively() {
        let ok = json!({"choices": [{"message": {"content": "hi", "reasoning_content": "think"}}],
                        "usage": {"prompt_tokens": 3, "completion_tokens": 5}});
        let (content, reasoning, usage) = parse_response(&ok).unwrap();
        assert_eq!(
            (content.as_str(), reasoning.as_deref()),
            ("hi", Some("think"))
        );
        assert_eq!(
            usage,
            Usage {
                prompt_tokens: 3,
                completion_tokens: 5
            }
        );
        let null_content = json!({"choices": [{"message": {"content": null}}]});
        assert_eq!(parse_response(&null_content).unwrap().0, "");
        for bad in [
            json!({}),
            json!({"choices": []}),
            json!({"choices": [{"message": {"content": 3}}]}),
            json!([1]),
        ] {
            assert!(
                matches!(parse_response(&bad), Err(LlmError::Unreadable(_))),
                "{bad}"
            );
        }
    }
}
