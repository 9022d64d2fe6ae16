//! Reading a streamed chat completion (server-sent events) defensively:
//! content and `reasoning_content` (or `reasoning`) deltas are collected,
//! `finish_reason` and the final usage chunk (`stream_options.include_usage`)
//! are kept, and the raw bytes read are capped. Pure: bytes in, an answer or
//! a typed error out; [`super::openai`] feeds it from the socket.

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

/// An SSE stream being read.
#[derive(Debug, Default)]
pub struct StreamReader {
    pending: Vec<u8>,
    read: usize,
    limit: usize,
    content: String,
    reasoning: String,
    finish_reason: Option<String>,
    usage: Usage,
    done: bool,
    events: usize,
}

impl StreamReader {
    /// A reader refusing more than `limit` bytes in all.
    pub fn new(limit: usize) -> Self {
        StreamReader {
            limit,
            ..Default::default()
        }
    }

    /// Whether `data: [DONE]` arrived.
    pub fn done(&self) -> bool {
        self.done
    }

    /// Feed the next bytes of the body.
    pub fn push(&mut self, bytes: &[u8]) -> Result<(), LlmError> {
        self.read += bytes.len();
        if self.read > self.limit {
            return Err(LlmError::TooLarge { limit: self.limit });
        }
        self.pending.extend_from_slice(bytes);
        while let Some(end) = self.pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            self.line(&line)?;
        }
        Ok(())
    }

    fn line(&mut self, line: &[u8]) -> Result<(), LlmError> {
        let line = String::from_utf8_lossy(line);
        let line = line.trim_end_matches(['\r', '\n']);
        // Comments (`: keep-alive`), event names and ids carry nothing here.
        let Some(data) = line.strip_prefix("data:") else {
            return Ok(());
        };
        let data = data.trim_start();
        if data == "[DONE]" {
            self.done = true;
            return Ok(());
        }
        if data.is_empty() || self.done {
            return Ok(());
        }
        let event: Value = serde_json::from_str(data).map_err(|e| {
            LlmError::Unreadable(format!("a stream event is not JSON ({e}): {}", clip(data)))
        })?;
        if let Some(error) = event.get("error") {
            // vLLM reports a failure mid-stream as an event.
            let message = error
                .get("message")
                .and_then(Value::as_str)
                .map(str::to_owned)
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

    /// The answer, once the body ended.
    pub fn finish(mut self) -> Result<Answer, LlmError> {
        if !self.pending.is_empty() {
            let rest = std::mem::take(&mut self.pending);
            self.line(&rest)?;
        }
        if !self.done && self.finish_reason.is_none() {
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
    if text.len() <= MAX_ERROR_TEXT {
        return text.to_owned();
    }
    let mut end = MAX_ERROR_TEXT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
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

    fn event(v: Value) -> String {
        format!("data: {v}\n\n")
    }

    #[test]
    fn deltas_finish_reason_and_usage_are_collected_across_split_chunks() {
        let body = [
            ": keep-alive\n\n".to_owned(),
            event(json!({"choices": [{"index": 0, "delta": {"role": "assistant"}}]})),
            event(json!({"choices": [{"delta": {"reasoning_content": "2+2 "}}]})),
            event(json!({"choices": [{"delta": {"reasoning_content": "is 4"}}]})),
            event(json!({"choices": [{"delta": {"content": "[answer]4"}}]})),
            event(
                json!({"choices": [{"delta": {"content": "[/answer]"}, "finish_reason": "length"}]}),
            ),
            event(json!({"choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 4}})),
            "data: [DONE]\n\n".to_owned(),
        ]
        .concat();
        // Fed in 7-byte pieces: events split anywhere, even inside UTF-8.
        let mut reader = StreamReader::new(1 << 20);
        for piece in body.as_bytes().chunks(7) {
            reader.push(piece).unwrap();
        }
        assert!(reader.done());
        let answer = reader.finish().unwrap();
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
        let mut cut = StreamReader::new(1 << 20);
        cut.push(event(json!({"choices": [{"delta": {"content": "half"}}]})).as_bytes())
            .unwrap();
        assert!(matches!(cut.finish(), Err(LlmError::Unreadable(m)) if m.contains("1 events")));
        let mut garbage = StreamReader::new(1 << 20);
        assert!(matches!(
            garbage.push(b"data: {not json\n"),
            Err(LlmError::Unreadable(_))
        ));
        let mut failed = StreamReader::new(1 << 20);
        let err = failed
            .push(event(json!({"error": {"message": "out of KV cache"}})).as_bytes())
            .unwrap_err();
        assert!(
            err.retryable() && err.to_string().contains("KV cache"),
            "{err}"
        );
        let mut big = StreamReader::new(100);
        assert_eq!(
            big.push(&[b' '; 101]),
            Err(LlmError::TooLarge { limit: 100 })
        );
        // A stream without [DONE] but with a finish_reason is complete.
        let mut no_done = StreamReader::new(1 << 20);
        no_done
            .push(
                event(json!({"choices": [{"delta": {"content": "x"}, "finish_reason": "stop"}]}))
                    .as_bytes(),
            )
            .unwrap();
        assert_eq!(no_done.finish().unwrap().content, "x");
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
