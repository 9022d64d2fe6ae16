//! A scripted OpenAI-compatible server on `127.0.0.1:0`, for tests and
//! benchmarks: it answers `POST .../chat/completions` with whatever its script
//! says (answers, reasoning, answers cut off by max_tokens, HTTP errors,
//! garbage, truncated bodies, delays, silence) and records every request.
//! A request with `"stream": true` gets its answer as server-sent events
//! (content and `reasoning_content` deltas, `finish_reason`, a usage chunk
//! when `stream_options.include_usage` asks), optionally paced or stalling
//! halfway. It runs on its own thread and runtime and stops when dropped.
//!
//! It is no part of the product: the integration tests, the bench target and
//! the library's own unit tests include this file with `#[path]`.

// Each crate that includes this file uses a part of it.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the server was asked.
#[derive(Debug, Clone)]
pub struct FakeRequest {
    /// 0-based position among all requests the server received.
    pub index: usize,
    /// How many times the same prompt was received before this request
    /// (0 on the first try, 1 on the first retry...).
    pub repeat: usize,
    /// The last user message.
    pub prompt: String,
    pub body: Value,
}

/// What the server answers.
#[derive(Debug, Clone)]
pub enum FakeReply {
    /// A chat completion with this content (and separate reasoning).
    Answer {
        content: String,
        reasoning: Option<String>,
    },
    /// An HTTP status with a JSON error body.
    Error(u16),
    /// A status with this body as it is (garbage, HTML, empty).
    Raw(u16, String),
    /// A 200 whose body stops halfway, then the connection closes.
    Truncated,
    /// Wait, then reply.
    Delay(Duration, Box<FakeReply>),
    /// Never answer (until the client gives up).
    Hang,
    /// An answer with this `finish_reason` (`length`: cut off by max_tokens).
    Finished {
        content: String,
        reasoning: Option<String>,
        finish_reason: String,
    },
    /// Streamed: wait this long before each event (slow but steady).
    /// Not streamed: no effect.
    Paced(Duration, Box<FakeReply>),
    /// Streamed: send this many events, then nothing (a stalled server).
    /// Not streamed: never answer.
    Stall(usize, Box<FakeReply>),
    /// A 200 `text/event-stream` whose body is this text as it is (in
    /// 64 KiB chunks), whatever was asked: odd streams.
    RawStream(String),
    /// A hostile stream: a 200 `text/event-stream` body of `head`, then
    /// `unit` again and again until `bytes` were sent (or the client hung
    /// up), made on the fly: one endless event, or an endless run of tiny
    /// ones.
    Flood {
        head: String,
        unit: String,
        bytes: usize,
    },
}

impl FakeReply {
    pub fn answer(content: impl Into<String>) -> FakeReply {
        FakeReply::Answer {
            content: content.into(),
            reasoning: None,
        }
    }

    /// An answer cut off by max_tokens (`finish_reason: length`).
    pub fn cut(content: impl Into<String>) -> FakeReply {
        FakeReply::Finished {
            content: content.into(),
            reasoning: None,
            finish_reason: "length".into(),
        }
    }
}

type Script = Arc<dyn Fn(&FakeRequest) -> FakeReply + Send + Sync>;

struct State {
    script: Script,
    connections: std::sync::atomic::AtomicUsize,
    requests: Mutex<Vec<FakeRequest>>,
    seen: Mutex<HashMap<String, usize>>,
}

/// The running server.
pub struct FakeServer {
    base_url: String,
    state: Arc<State>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeServer {
    /// Start a server answering with `script`.
    pub fn start(
        script: impl Fn(&FakeRequest) -> FakeReply + Send + Sync + 'static,
    ) -> std::io::Result<FakeServer> {
        let state = Arc::new(State {
            script: Arc::new(script),
            connections: Default::default(),
            requests: Mutex::new(Vec::new()),
            seen: Mutex::new(HashMap::new()),
        });
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread_state = state.clone();
        let thread = std::thread::Builder::new()
            .name("fake-openai".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("fake server runtime");
                runtime.block_on(async move {
                    let listener =
                        TcpListener::from_std(std_listener).expect("fake server listener");
                    tokio::select! {
                        _ = stop_rx => {}
                        _ = accept_loop(listener, thread_state) => {}
                    }
                });
                runtime.shutdown_timeout(Duration::from_millis(100));
            })?;
        Ok(FakeServer {
            base_url: format!("http://{addr}/v1"),
            state,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    /// The API base to give a client, `http://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Connections accepted so far (fewer than requests when the client
    /// reuses them).
    pub fn connections(&self) -> usize {
        self.state
            .connections
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<FakeRequest> {
        self.state
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn accept_loop(listener: TcpListener, state: Arc<State>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        // A stream is many small writes: without this, Nagle's algorithm
        // holds each one for the client's delayed ACK (~40 ms), as real
        // servers (uvicorn under vLLM and SGLang) do not.
        let _ = stream.set_nodelay(true);
        state
            .connections
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let state = state.clone();
        tokio::spawn(async move {
            let _ = serve(stream, state).await;
        });
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Serve one keep-alive connection.
async fn serve(mut stream: TcpStream, state: Arc<State>) -> std::io::Result<()> {
    let mut buf = Vec::new();
    loop {
        let header_end = loop {
            if let Some(end) = find(&buf, b"\r\n\r\n") {
                break end;
            }
            let mut chunk = [0u8; 8192];
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..header_end]).to_string();
        let length = head
            .lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.trim().parse::<usize>().ok())
            .unwrap_or(0);
        let body_start = header_end + 4;
        while buf.len() < body_start + length {
            let mut chunk = [0u8; 8192];
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let body: Value =
            serde_json::from_slice(&buf[body_start..body_start + length]).unwrap_or(Value::Null);
        buf.drain(..body_start + length);
        let prompt = body["messages"]
            .as_array()
            .and_then(|m| m.iter().rev().find(|m| m["role"] == "user"))
            .and_then(|m| m["content"].as_str())
            .unwrap_or("")
            .to_owned();
        let request = {
            let mut seen = state.seen.lock().unwrap_or_else(|p| p.into_inner());
            let repeat = seen.entry(prompt.clone()).or_insert(0);
            let mut requests = state.requests.lock().unwrap_or_else(|p| p.into_inner());
            let request = FakeRequest {
                index: requests.len(),
                repeat: *repeat,
                prompt,
                body,
            };
            *repeat += 1;
            requests.push(request.clone());
            request
        };
        let mut reply = (state.script)(&request);
        let streamed = request.body["stream"] == true;
        let mut gap = Duration::ZERO;
        let mut stall_after = None;
        loop {
            match reply {
                FakeReply::Delay(d, next) => {
                    tokio::time::sleep(d).await;
                    reply = *next;
                }
                FakeReply::Paced(d, next) => {
                    gap = d;
                    reply = *next;
                }
                FakeReply::Stall(n, next) if streamed => {
                    stall_after = Some(n);
                    reply = *next;
                }
                FakeReply::Hang | FakeReply::Stall(..) => {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    return Ok(());
                }
                _ => break,
            }
        }
        let model = request.body["model"].as_str().unwrap_or("fake").to_owned();
        let usage = json!({"prompt_tokens": request.prompt.len() / 4 + 1, "completion_tokens": 7, "total_tokens": request.prompt.len() / 4 + 8});
        let (answer, reply) = match reply {
            FakeReply::Answer { content, reasoning } => (
                Some((content, reasoning, "stop".to_owned())),
                FakeReply::Hang,
            ),
            FakeReply::Finished {
                content,
                reasoning,
                finish_reason,
            } => (Some((content, reasoning, finish_reason)), FakeReply::Hang),
            other => (None, other),
        };
        if let (true, Some((content, reasoning, finish_reason))) = (streamed, &answer) {
            let include_usage = request.body["stream_options"]["include_usage"] == true;
            let mut events = Vec::new();
            let chunk = |delta: Value, finish: Option<&str>| {
                json!({"id": format!("chatcmpl-fake-{}", request.index), "object": "chat.completion.chunk",
                       "created": 0, "model": model, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
            };
            events.push(chunk(json!({"role": "assistant"}), None));
            for piece in pieces(reasoning.as_deref().unwrap_or("")) {
                events.push(chunk(json!({"reasoning_content": piece}), None));
            }
            for piece in pieces(content) {
                events.push(chunk(json!({"content": piece}), None));
            }
            events.push(chunk(json!({}), Some(finish_reason)));
            if include_usage {
                let mut last = chunk(json!({}), None);
                last["choices"] = json!([]);
                last["usage"] = usage.clone();
                events.push(last);
            }
            let head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n";
            stream.write_all(head.as_bytes()).await?;
            stream.flush().await?;
            let mut lines: Vec<String> = events.iter().map(|e| format!("data: {e}\n\n")).collect();
            lines.push("data: [DONE]\n\n".into());
            for (i, line) in lines.iter().enumerate() {
                if stall_after == Some(i) {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    return Ok(());
                }
                if !gap.is_zero() {
                    tokio::time::sleep(gap).await;
                }
                stream
                    .write_all(format!("{:x}\r\n{line}\r\n", line.len()).as_bytes())
                    .await?;
                stream.flush().await?;
            }
            stream.write_all(b"0\r\n\r\n").await?;
            stream.flush().await?;
            continue;
        }
        let (status, text) = match reply {
            _ if answer.is_some() => {
                let (content, reasoning, finish_reason) = answer.unwrap_or_default();
                let mut message = json!({"role": "assistant", "content": content});
                if let Some(r) = reasoning {
                    message["reasoning_content"] = json!(r);
                }
                let body = json!({
                    "id": format!("chatcmpl-fake-{}", request.index),
                    "object": "chat.completion",
                    "created": 0,
                    "model": model,
                    "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
                    "usage": usage,
                });
                (200, body.to_string())
            }
            FakeReply::Error(status) => {
                let body = json!({"error": {"message": format!("scripted HTTP {status}"), "type": "fake", "param": null, "code": null}});
                (status, body.to_string())
            }
            FakeReply::Raw(status, body) => (status, body),
            FakeReply::RawStream(body) => {
                write_stream(&mut stream, body.as_bytes(), b"", 0).await?;
                continue;
            }
            FakeReply::Flood { head, unit, bytes } => {
                write_stream(&mut stream, head.as_bytes(), unit.as_bytes(), bytes).await?;
                continue;
            }
            FakeReply::Truncated => {
                let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n{\"choices\": [{\"mess";
                stream.write_all(head.as_bytes()).await?;
                stream.flush().await?;
                return Ok(());
            }
            FakeReply::Answer { .. }
            | FakeReply::Finished { .. }
            | FakeReply::Delay(..)
            | FakeReply::Hang
            | FakeReply::Paced(..)
            | FakeReply::Stall(..) => unreachable!("resolved above"),
        };
        let response = format!(
            "HTTP/1.1 {status} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: keep-alive\r\n\r\n{text}",
            reason(status),
            text.len()
        );
        stream.write_all(response.as_bytes()).await?;
        stream.flush().await?;
    }
}

/// A 200 SSE reply of `head`, then `unit` repeated up to `bytes` in all, as
/// chunks of about 64 KiB.
async fn write_stream(
    stream: &mut TcpStream,
    head: &[u8],
    unit: &[u8],
    bytes: usize,
) -> std::io::Result<()> {
    let top = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n";
    stream.write_all(top.as_bytes()).await?;
    async fn chunk(stream: &mut TcpStream, piece: &[u8]) -> std::io::Result<()> {
        stream
            .write_all(format!("{:x}\r\n", piece.len()).as_bytes())
            .await?;
        stream.write_all(piece).await?;
        stream.write_all(b"\r\n").await
    }
    for piece in head.chunks(64 << 10) {
        chunk(stream, piece).await?;
    }
    if !unit.is_empty() {
        let block = unit.repeat(((64 << 10) / unit.len()).max(1));
        let mut sent = head.len();
        while sent < bytes {
            let piece = &block[..block.len().min(bytes - sent)];
            chunk(stream, piece).await?;
            sent += piece.len();
        }
    }
    stream.write_all(b"0\r\n\r\n").await?;
    stream.flush().await
}

/// A text in pieces of a few characters, as a model streams tokens (at most
/// about 256 pieces, so a huge answer streams in reasonable time).
fn pieces(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let size = (chars.len() / 256).max(16);
    chars.chunks(size).map(|c| c.iter().collect()).collect()
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}
