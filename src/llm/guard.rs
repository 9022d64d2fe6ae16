//! The HTTP service async-openai's client runs each attempt through: what
//! bootforge guarantees about a reply, enforced on the bytes before
//! async-openai (or its SSE parser) sees them.
//!
//! - No retries here: the service sends once; every attempt is made and
//!   counted by [`super::openai::OpenAiModel`] or [`super::fleet::Fleet`]
//!   (async-openai's own retry layer, with its own backoff, is not installed).
//! - A cap on the bytes read ([`MAX_BODY_BYTES`] for a reply,
//!   [`MAX_ERROR_BODY`] for an error reply): SSE events are parsed out of
//!   the capped body, so one endless event or an endless run of tiny ones
//!   ends at the cap, as a recorded [`LlmError::TooLarge`].
//! - The idle timeout (streaming only) wraps each chunk of the body and the
//!   wait for the headers: a server that sends nothing for that long is
//!   [`LlmError::Stalled`], a slow but steady one is not.
//! - A proxy that ignored `stream` either way is read as what it sent: its
//!   body is kept aside ([`Watch::take_stash`]) and read by bootforge.
//!
//! async-openai reports failures as strings in places (a stream error is
//! `StreamError::EventStream(String)`); the [`Watch`] of the attempt keeps
//! the typed cause, which wins over async-openai's description of it.

use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use async_openai::error::OpenAIError;
use async_openai::middleware::HttpRequestFactory;
use bytes::Bytes;
use futures::{Stream, StreamExt};
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, TRANSFER_ENCODING};

use super::stream::clip;
use super::{BoxFuture, LlmError};

/// The most bytes read from one reply.
pub const MAX_BODY_BYTES: usize = 8 << 20;
/// The most bytes of an error reply kept for its message.
pub const MAX_ERROR_BODY: usize = 64 << 10;

/// What one attempt's service saw, for the caller to read after
/// async-openai returned.
#[derive(Debug, Default)]
pub struct Watch {
    inner: Mutex<Seen>,
}

#[derive(Debug, Default)]
struct Seen {
    /// The first failure of the transport, the cap or the idle timeout.
    error: Option<LlmError>,
    status: Option<u16>,
    /// The bytes read so far end with `data: [DONE]`.
    done: bool,
    /// A body of the other kind than asked (`true`: it is SSE).
    stash: Option<(Bytes, bool)>,
}

impl Watch {
    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn fail(&self, error: LlmError) -> OpenAIError {
        let mut seen = self.seen();
        seen.error.get_or_insert(error.clone());
        OpenAIError::Boxed(Box::new(error))
    }

    /// Whether the last bytes read were `data: [DONE]`.
    pub fn done(&self) -> bool {
        self.seen().done
    }

    /// The body of a reply that was not of the kind asked for, and whether
    /// it is SSE (the reply async-openai saw in its place was empty).
    pub fn take_stash(&self) -> Option<(Bytes, bool)> {
        self.seen().stash.take()
    }

    /// The typed cause of an error async-openai returned: what this
    /// service recorded, else async-openai's error read as bootforge's.
    pub fn error(&self, error: OpenAIError, timeout: Duration) -> LlmError {
        let seen = self.seen();
        if let Some(recorded) = &seen.error {
            return recorded.clone();
        }
        from_openai(error, seen.status, timeout)
    }
}

/// async-openai's error as bootforge's; `status`: the reply's HTTP status
/// when there was one (async-openai drops it when an error body is not
/// OpenAI's JSON).
fn from_openai(error: OpenAIError, status: Option<u16>, timeout: Duration) -> LlmError {
    match error {
        OpenAIError::ApiError(reply) => {
            let status = reply.status_code.as_u16();
            // A 5xx body is kept raw by async-openai (it may not be JSON):
            // read it as any error body.
            if reply.status_code.is_server_error() {
                http_error(status, &reply.api_error.message)
            } else {
                classify(status, clip(&reply.api_error.message))
            }
        }
        OpenAIError::JSONDeserialize(e, body) => match status {
            Some(status) if !(200..300).contains(&status) => http_error(status, &body),
            _ => LlmError::Unreadable(format!("{e}; body starts {:?}", clip(&body))),
        },
        OpenAIError::Reqwest(e) => transport(e, timeout),
        OpenAIError::StreamError(e) => LlmError::Unreadable(clip(&e.to_string())),
        OpenAIError::Boxed(e) => match e.downcast::<LlmError>() {
            Ok(e) => *e,
            Err(e) => LlmError::Transport(clip(&error_chain(&*e))),
        },
        OpenAIError::InvalidArgument(m) => {
            LlmError::Transport(clip(&format!("encoding the request: {m}")))
        }
        other => LlmError::Transport(clip(&error_chain(&other))),
    }
}

pub(crate) fn transport(e: reqwest::Error, timeout: Duration) -> LlmError {
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

/// An error reply's body as a typed error: OpenAI's `{"error": {"message"}}`
/// or `{"error": "..."}` when it is that, else the body as it is.
pub(crate) fn http_error(status: u16, body: &str) -> LlmError {
    let message = serde_json::from_str::<serde_json::Value>(body)
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
    classify(status, clip(&message))
}

fn classify(status: u16, message: String) -> LlmError {
    match status {
        429 => LlmError::RateLimited(message),
        500..=599 => LlmError::Server { status, message },
        _ => LlmError::Refused { status, message },
    }
}

/// The service of one attempt: send once, then guard the reply's body.
#[derive(Clone)]
pub struct Guarded {
    http: reqwest::Client,
    /// Whether the request asked for a stream.
    stream: bool,
    /// The longest wait for the headers and for each chunk of the body.
    idle: Option<Duration>,
    limit: usize,
    watch: Arc<Watch>,
}

impl Guarded {
    pub fn new(
        http: reqwest::Client,
        stream: bool,
        idle: Option<Duration>,
        limit: usize,
        watch: Arc<Watch>,
    ) -> Self {
        Guarded {
            http,
            stream,
            idle,
            limit,
            watch,
        }
    }

    async fn send(self, factory: HttpRequestFactory) -> Result<reqwest::Response, OpenAIError> {
        let request = factory.build().await?;
        let response = match within(self.idle, self.http.execute(request)).await {
            Ok(Ok(response)) => response,
            // The attempt's total timeout is the caller's; reqwest's own
            // timeouts are not set.
            Ok(Err(e)) => return Err(self.watch.fail(transport(e, Duration::ZERO))),
            Err(stalled) => return Err(self.watch.fail(stalled)),
        };
        let status = response.status();
        self.watch.seen().status = Some(status.as_u16());
        let mut headers = response.headers().clone();
        // The body handed on is not the one these described.
        headers.remove(CONTENT_LENGTH);
        headers.remove(TRANSFER_ENCODING);
        if !status.is_success() {
            let text = read_up_to(response, MAX_ERROR_BODY, self.idle).await;
            return Ok(rebuild(status, headers, reqwest::Body::from(text)));
        }
        let is_sse = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/event-stream"));
        let body = Body::new(response, self.limit, self.idle, self.watch.clone());
        if is_sse != self.stream {
            // A proxy ignored `stream`: read the whole body (capped, idle
            // timed) for bootforge to read as what it is; async-openai,
            // which would parse it as the kind asked for, gets nothing.
            let mut body = Box::pin(body.into_stream());
            let mut all = Vec::new();
            while let Some(chunk) = body.next().await {
                match chunk {
                    Ok(chunk) => all.extend_from_slice(&chunk),
                    Err(e) => return Err(self.watch.fail(e)),
                }
            }
            self.watch.seen().stash = Some((Bytes::from(all), is_sse));
            return Ok(rebuild(status, headers, reqwest::Body::from(Vec::new())));
        }
        let body = reqwest::Body::wrap_stream(body.into_stream());
        Ok(rebuild(status, headers, body))
    }
}

impl tower::Service<HttpRequestFactory> for Guarded {
    type Response = reqwest::Response;
    type Error = OpenAIError;
    type Future = BoxFuture<'static, Result<reqwest::Response, OpenAIError>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), OpenAIError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: HttpRequestFactory) -> Self::Future {
        Box::pin(self.clone().send(request))
    }
}

fn rebuild(
    status: reqwest::StatusCode,
    headers: HeaderMap,
    body: reqwest::Body,
) -> reqwest::Response {
    let mut response = http::Response::new(body);
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    reqwest::Response::from(response)
}

/// `future`, or [`LlmError::Stalled`] after `idle`.
async fn within<T>(
    idle: Option<Duration>,
    future: impl std::future::Future<Output = T>,
) -> Result<T, LlmError> {
    match idle {
        Some(idle) => tokio::time::timeout(idle, future)
            .await
            .map_err(|_| LlmError::Stalled(idle)),
        None => Ok(future.await),
    }
}

/// At most `limit` bytes of an error body (less when the server stalls or
/// fails: the message is what arrived).
async fn read_up_to(
    mut response: reqwest::Response,
    limit: usize,
    idle: Option<Duration>,
) -> Vec<u8> {
    let mut text = Vec::new();
    while text.len() < limit {
        match within(idle, response.chunk()).await {
            Ok(Ok(Some(chunk))) => text.extend_from_slice(&chunk),
            _ => break,
        }
    }
    text.truncate(limit);
    text
}

/// A reply's body, capped and idle-timed chunk by chunk, and handed on in
/// pieces that keep the SSE parser linear.
///
/// eventsource-stream (async-openai's parser) re-scans its buffer for a
/// line end on every chunk it is given and copies the rest of its buffer
/// after every line it takes. Fed as the bytes arrive, one endless line
/// costs it time quadratic in the line (tens of CPU-seconds at the 8 MiB
/// cap, measured), and a big chunk of tiny lines quadratic in the chunk.
/// So the bytes after the last line end are held until a line end comes
/// (a line reaches the parser whole, once; no event is delayed, as none can
/// end without one), and what is complete goes on in pieces of about
/// [`PIECE`] bytes cut after a line end.
struct Body {
    inner: Option<std::pin::Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>>,
    /// Complete lines not handed on yet.
    lines: Bytes,
    /// The bytes after the last line end.
    partial: bytes::BytesMut,
    read: usize,
    limit: usize,
    idle: Option<Duration>,
    /// The last bytes read, to see whether `data: [DONE]` came last.
    tail: Vec<u8>,
    watch: Arc<Watch>,
    ended: bool,
}

const TAIL: usize = 32;
/// The size of the pieces of complete lines handed to the SSE parser.
const PIECE: usize = 512;

/// The next piece of `lines` (which end with a line end): at least
/// [`PIECE`] bytes, up to and including the line end there.
fn next_piece(lines: &mut Bytes) -> Bytes {
    let from = PIECE.min(lines.len()).saturating_sub(1);
    let end = lines[from..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(lines.len(), |i| from + i + 1);
    lines.split_to(end)
}

/// Whether the bytes so far end with the event `data: [DONE]`.
fn ends_with_done(tail: &[u8]) -> bool {
    tail.trim_ascii_end()
        .strip_suffix(b"[DONE]")
        .is_some_and(|rest| rest.trim_ascii_end().ends_with(b"data:"))
}

impl Body {
    fn new(
        response: reqwest::Response,
        limit: usize,
        idle: Option<Duration>,
        watch: Arc<Watch>,
    ) -> Body {
        Body {
            inner: Some(Box::pin(response.bytes_stream())),
            lines: Bytes::new(),
            partial: bytes::BytesMut::new(),
            read: 0,
            limit,
            idle,
            tail: Vec::new(),
            watch,
            ended: false,
        }
    }

    async fn next(&mut self) -> Option<Result<Bytes, LlmError>> {
        loop {
            if !self.lines.is_empty() {
                return Some(Ok(next_piece(&mut self.lines)));
            }
            if self.ended {
                // The last bytes, without a line end.
                return (!self.partial.is_empty()).then(|| Ok(self.partial.split().freeze()));
            }
            let chunk = match self.read_chunk().await? {
                Ok(chunk) => chunk,
                Err(e) => return Some(Err(e)),
            };
            // Only the new bytes are searched: the held ones have no line end.
            let held = self.partial.len();
            self.partial.extend_from_slice(&chunk);
            if let Some(last) = chunk.iter().rposition(|&b| b == b'\n') {
                self.lines = self.partial.split_to(held + last + 1).freeze();
            }
        }
    }

    /// The next chunk off the socket, capped and idle-timed; None at the
    /// end (marked `ended`).
    async fn read_chunk(&mut self) -> Option<Result<Bytes, LlmError>> {
        let Some(inner) = self.inner.as_mut() else {
            self.ended = true;
            return None;
        };
        let next = match within(self.idle, inner.next()).await {
            Ok(next) => next,
            Err(stalled) => return Some(Err(self.fail(stalled))),
        };
        match next {
            None => {
                self.ended = true;
                // Not None: the bytes held back go on first.
                Some(Ok(Bytes::new()))
            }
            Some(Err(e)) => Some(Err(self.fail(transport(e, Duration::ZERO)))),
            Some(Ok(chunk)) => {
                self.read += chunk.len();
                if self.read > self.limit {
                    return Some(Err(self.fail(LlmError::TooLarge { limit: self.limit })));
                }
                self.tail
                    .extend_from_slice(&chunk[chunk.len().saturating_sub(TAIL)..]);
                let excess = self.tail.len().saturating_sub(TAIL);
                self.tail.drain(..excess);
                // Seen here, before the parser: async-openai stops reading
                // at `[DONE]` and says nothing of it.
                self.watch.seen().done = ends_with_done(&self.tail);
                Some(Ok(chunk))
            }
        }
    }

    fn fail(&mut self, error: LlmError) -> LlmError {
        self.ended = true;
        // A failed body is not worth draining for its connection, and
        // nothing after the failure is handed on.
        self.inner = None;
        self.lines = Bytes::new();
        self.partial.clear();
        self.watch.seen().error.get_or_insert(error.clone());
        error
    }

    fn into_stream(self) -> impl Stream<Item = Result<Bytes, LlmError>> + Send + 'static {
        futures::stream::unfold(self, |mut body| async move {
            let item = body.next().await?;
            Some((item, body))
        })
    }
}

impl Drop for Body {
    /// async-openai stops reading at `data: [DONE]`; the rest of the body
    /// (the chunked encoding's end) is read briefly so the connection goes
    /// back to the pool (a TLS handshake saved per request). A server that
    /// keeps it open costs a new connection, never the answer.
    fn drop(&mut self) {
        let (Some(mut inner), Ok(runtime)) =
            (self.inner.take(), tokio::runtime::Handle::try_current())
        else {
            return;
        };
        if self.ended {
            return;
        }
        runtime.spawn(async move {
            let drain = async {
                let mut left = 64usize;
                while left > 0 && matches!(inner.next().await, Some(Ok(_))) {
                    left -= 1;
                }
            };
            let _ = tokio::time::timeout(Duration::from_millis(100), drain).await;
        });
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

    #[test]
    fn complete_lines_go_on_in_pieces_cut_after_a_line_end() {
        let short = "data: {}\n\n".repeat(200);
        let long = format!("data: {}\n\n", "x".repeat(3 * PIECE));
        let mut lines = Bytes::from(format!("{short}{long}{short}"));
        let mut pieces = Vec::new();
        while !lines.is_empty() {
            pieces.push(next_piece(&mut lines));
        }
        assert!(pieces.iter().all(|p| p.ends_with(b"\n")));
        assert!(pieces.iter().all(|p| p.len() < PIECE + long.len()));
        assert!(pieces.len() > 2 * short.len() / PIECE);
        assert_eq!(pieces.concat(), format!("{short}{long}{short}").as_bytes());
    }

    #[test]
    fn done_is_the_last_event() {
        assert!(ends_with_done(b"}\n\ndata: [DONE]\n\n"));
        assert!(ends_with_done(b"data:[DONE]"));
        assert!(!ends_with_done(b"data: [DONE]\n\ndata: {}\n\n"));
        assert!(!ends_with_done(b"\"content\": \"[DONE]"));
    }

    #[test]
    fn async_openai_errors_become_typed_errors() {
        let timeout = Duration::from_secs(1);
        // A 4xx body that is not OpenAI's error object: async-openai loses
        // the status, the watch keeps it.
        let not_openai = serde_json::from_str::<serde_json::Value>("{")
            .map(|_| ())
            .unwrap_err();
        assert!(matches!(
            from_openai(OpenAIError::JSONDeserialize(not_openai, r#"{"error": "bad key"}"#.into()), Some(401), timeout),
            LlmError::Refused { status: 401, message } if message == "bad key"
        ));
        let garbage = serde_json::from_str::<serde_json::Value>("<").unwrap_err();
        assert!(matches!(
            from_openai(OpenAIError::JSONDeserialize(garbage, "<html>".into()), Some(200), timeout),
            LlmError::Unreadable(m) if m.contains("<html>")
        ));
        assert_eq!(
            from_openai(
                OpenAIError::Boxed(Box::new(LlmError::Stalled(timeout))),
                None,
                timeout
            ),
            LlmError::Stalled(timeout)
        );
        // What the watch recorded wins over async-openai's string.
        let watch = Watch::default();
        let _ = watch.fail(LlmError::TooLarge { limit: 10 });
        assert_eq!(
            watch.error(OpenAIError::InvalidArgument("x".into()), timeout),
            LlmError::TooLarge { limit: 10 }
        );
    }
}
