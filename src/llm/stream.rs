//! Reading a chat completion defensively: the chunks of a stream (server-sent
//! events, parsed by async-openai into `serde_json` values) or a whole body.
//! Content and `reasoning_content` (or `reasoning`) deltas are collected,
//! `finish_reason` and the final usage chunk (`stream_options.include_usage`)
//! are kept. Pure: values in, an answer or a typed error out; the bytes, their
//! cap and their idle timeout are [`super::guard`]'s, the exchange
//! [`super::openai`]'s.

use serde_json::Value;

use super::{LlmError, Usage};

/// What one exchange produced, streamed or not.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Answer {
    pub content: String,
    pub reasoning: Option<String>,
    pub usage: Usage,
    /// `stop`, `length`, ... as the server said (None when it did not).
    pub finish_reason: Option<String>,
}

/// The chunks of a streamed reply, as they arrive.
#[derive(Debug, Default)]
pub struct StreamReader {
    content: String,
    reasoning: String,
    finish_reason: Option<String>,
    usage: Usage,
    events: usize,
}

impl StreamReader {
    pub fn new() -> Self {
        StreamReader::default()
    }

    /// Take the next chunk (one SSE event's JSON).
    pub fn push(&mut self, event: &Value) -> Result<(), LlmError> {
        if let Some(error) = event.get("error") {
            // vLLM reports a failure mid-stream as an event.
            let message = error
                .get("message")
                .and_then(Value::as_str)
                .map(clip)
                .unwrap_or_else(|| clip(&error.to_string()));
            return Err(LlmError::Server {
                status: 500,
                message: format!("in the stream: {message}"),
            });
        }
        self.events += 1;
        if let Some(choice) = event.get("choices").and_then(|c| c.get(0)) {
            if let Some(delta) = choice.get("delta") {
                if let Some(text) = delta.get("content").and_then(Value::as_str) {
                    self.content.push_str(text);
                }
                if let Some(text) = ["reasoning_content", "reasoning"]
                    .iter()
                    .find_map(|k| delta.get(*k).and_then(Value::as_str))
                {
                    self.reasoning.push_str(text);
                }
            }
            if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str) {
                self.finish_reason = Some(clip(reason));
            }
        }
        if let Some(usage) = event.get("usage").filter(|u| u.is_object()) {
            self.usage = usage_of(usage);
        }
        Ok(())
    }

    /// The answer, once the body ended; `done`: whether `data: [DONE]` came.
    /// A stream that ended with neither `[DONE]` nor a `finish_reason` was
    /// cut, not answered.
    pub fn finish(self, done: bool) -> Result<Answer, LlmError> {
        if !done && self.finish_reason.is_none() {
            return Err(LlmError::Unreadable(if self.events == 0 {
                "the stream ended without an event".into()
            } else {
                format!(
                    "the stream ended after {} events without a finish_reason or [DONE]",
                    self.events
                )
            }));
        }
        Ok(Answer {
            content: self.content,
            reasoning: (!self.reasoning.is_empty()).then_some(self.reasoning),
            usage: self.usage,
            finish_reason: self.finish_reason,
        })
    }
}

const MAX_ERROR_TEXT: usize = 500;

/// At most 500 bytes of `text`, for error messages.
pub fn clip(text: &str) -> String {
    crate::text::clip_marked(text, crate::text::Limit::Bytes(MAX_ERROR_TEXT), |_| "...")
}

pub(crate) fn usage_of(usage: &Value) -> Usage {
    let count = |key: &str| usage.get(key).and_then(Value::as_u64).unwrap_or(0);
    Usage {
        prompt_tokens: count("prompt_tokens"),
        completion_tokens: count("completion_tokens"),
    }
}

/// A whole (non-streamed) chat completion body.
pub fn parse_response(response: &Value) -> Result<Answer, LlmError> {
    let choice = response
        .get("choices")
        .and_then(|c| c.get(0))
        .ok_or_else(|| {
            LlmError::Unreadable(format!("no choices[0] in {}", clip(&response.to_string())))
        })?;
    let message = choice.get("message").ok_or_else(|| {
        LlmError::Unreadable(format!(
            "no choices[0].message in {}",
            clip(&response.to_string())
        ))
    })?;
    let content = match message.get("content") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => {
            return Err(LlmError::Unreadable(format!(
                "content is not a string: {}",
                clip(&other.to_string())
            )));
        }
    };
    let reasoning = ["reasoning_content", "reasoning"]
        .iter()
        .find_map(|k| message.get(*k).and_then(Value::as_str))
        .map(str::to_owned);
    Ok(Answer {
        content,
        reasoning,
        usage: response.get("usage").map(usage_of).unwrap_or_default(),
        finish_reason: choice
            .get("finish_reason")
            .and_then(Value::as_str)
            .map(clip),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn deltas_finish_reason_and_usage_are_collected() {
        let events = [
            json!({"choices": [{"index": 0, "delta": {"role": "assistant"}}]}),
            json!({"choices": [{"delta": {"reasoning_content": "2+2 "}}]}),
            json!({"choices": [{"delta": {"reasoning": "is 4"}}]}),
            json!({"choices": [{"delta": {"content": "[answer]4"}}]}),
            json!({"choices": [{"delta": {"content": "[/answer]"}, "finish_reason": "length"}]}),
            json!({"choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 4}}),
        ];
        let mut reader = StreamReader::new();
        for event in &events {
            reader.push(event).unwrap();
        }
        let answer = reader.finish(true).unwrap();
        assert_eq!(answer.content, "[answer]4[/answer]");
        assert_eq!(answer.reasoning.as_deref(), Some("2+2 is 4"));
        assert_eq!(answer.finish_reason.as_deref(), Some("length"));
        assert_eq!(
            answer.usage,
            Usage {
                prompt_tokens: 9,
                completion_tokens: 4
            }
        );
    }

    #[test]
    fn broken_streams_are_typed_errors() {
        let mut cut = StreamReader::new();
        cut.push(&json!({"choices": [{"delta": {"content": "half"}}]}))
            .unwrap();
        assert!(
            matches!(cut.finish(false), Err(LlmError::Unreadable(m)) if m.contains("1 events"))
        );
        assert!(matches!(
            StreamReader::new().finish(false),
            Err(LlmError::Unreadable(m)) if m.contains("without an event")
        ));
        let mut failed = StreamReader::new();
        let err = failed
            .push(&json!({"error": {"message": "out of KV cache"}}))
            .unwrap_err();
        assert!(
            err.retryable() && err.to_string().contains("KV cache"),
            "{err}"
        );
        // Odd shapes are skipped, not fatal.
        let mut odd = StreamReader::new();
        for event in [
            json!([1]),
            json!({"choices": 3}),
            json!({"choices": [{"delta": 5}]}),
        ] {
            odd.push(&event).unwrap();
        }
        // [DONE] without a finish_reason, or a finish_reason without
        // [DONE]: both complete.
        assert_eq!(odd.finish(true).unwrap().content, "");
        let mut no_done = StreamReader::new();
        no_done
            .push(&json!({"choices": [{"delta": {"content": "x"}, "finish_reason": "stop"}]}))
            .unwrap();
        assert_eq!(no_done.finish(false).unwrap().content, "x");
    }

    #[test]
    fn whole_responses_are_read_defensively() {
        let ok = json!({"choices": [{"message": {"content": "hi", "reasoning_content": "think"}, "finish_reason": "stop"}],
                        "usage": {"prompt_tokens": 3, "completion_tokens": 5}});
        let answer = parse_response(&ok).unwrap();
        assert_eq!(
            (answer.content.as_str(), answer.reasoning.as_deref()),
            ("hi", Some("think"))
        );
        assert_eq!(answer.finish_reason.as_deref(), Some("stop"));
        assert_eq!(answer.usage.completion_tokens, 5);
        let null_content = json!({"choices": [{"message": {"content": null}}]});
        assert_eq!(parse_response(&null_content).unwrap().content, "");
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
