//! `bench --only hostile_llm`: what a hostile OpenAI-compatible
//! endpoint can cost one attempt of the client (async-openai over
//! bootforge's capped, idle-timed body): the wall time and the growth of
//! this process's peak resident memory while reading, for
//!
//! - an honest streamed answer of about 1 MiB (the reference),
//! - one SSE event that never ends (`data: {"choices"...` and then 3x the cap
//!   of `x`, no newline): async-openai's parser buffers an event until its
//!   end, so here the cap is what bounds it,
//! - an endless run of the smallest events (`data: {}`), each one a parsed
//!   JSON value handed through async-openai's channel,
//! - an endless run of keep-alive comments (no event at all).
//!
//! Each hostile reply must end as `TooLarge` after one request. Then 20
//! honest streamed calls in a row: the connections they opened (one, when
//! the drain after `[DONE]` hands each back to the pool). Peak memory
//! is reset between cases through `/proc/self/clear_refs` (Linux); the fake
//! server runs in this process but makes its bytes on the fly.

use std::time::Instant;

use anyhow::{Result, bail};
use serde::Serialize;

use crate::fake::{FakeReply, FakeServer};
use bootforge::llm::openai::{MAX_BODY_BYTES, OpenAiModel};
use bootforge::llm::{ChatModel, EndpointConfig, LlmError};

#[derive(Debug, Serialize)]
pub struct HostileCase {
    pub name: String,
    /// Bytes the server was ready to send.
    pub offered_mib: f64,
    pub outcome: String,
    pub wall_ms: f64,
    /// Peak resident memory during the attempt, above the resident memory
    /// before it.
    pub peak_growth_mib: f64,
}

#[derive(Debug, Serialize)]
pub struct HostileBench {
    pub cap_mib: f64,
    pub cases: Vec<HostileCase>,
    /// Sequential streamed calls to one endpoint, and the connections they
    /// opened (async-openai stops reading at `[DONE]`; the rest of the body
    /// is drained so the connection is reused).
    pub reuse_calls: usize,
    pub reuse_connections: usize,
}

fn field_mib(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|t| {
            let line = t.lines().find(|l| l.starts_with(field))?.to_owned();
            line.split_whitespace().nth(1)?.parse::<f64>().ok()
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

pub fn bench(quick: bool) -> Result<HostileBench> {
    let offered = if quick { 2 } else { 3 } * MAX_BODY_BYTES;
    let delta = r#"data: {"choices": [{"delta": {"content": ""#;
    let honest = "y".repeat(1 << 20);
    let cases: Vec<(&str, FakeReply)> = vec![
        ("honest 1 MiB answer", FakeReply::answer(honest)),
        (
            "one endless event",
            FakeReply::Flood {
                head: delta.into(),
                unit: "x".repeat(1000),
                bytes: offered,
            },
        ),
        (
            "endless tiny events",
            FakeReply::Flood {
                head: String::new(),
                unit: "data: {}\n\n".into(),
                bytes: offered,
            },
        ),
        (
            "endless keep-alives",
            FakeReply::Flood {
                head: String::new(),
                unit: ": keep-alive\n\n".into(),
                bytes: offered,
            },
        ),
    ];
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let mut out = Vec::new();
    for (name, reply) in cases {
        let honest = matches!(reply, FakeReply::Answer { .. });
        let server = FakeServer::start(move |_| reply.clone())?;
        let mut config = EndpointConfig::new(server.base_url(), "bench");
        config.max_retries = 0;
        let model = OpenAiModel::new(config);
        // Reset the high-water mark (Linux: "5" clears VmHWM).
        let _ = std::fs::write("/proc/self/clear_refs", "5");
        let before = field_mib("VmRSS:");
        let started = Instant::now();
        let result = runtime.block_on(model.complete("q"));
        let wall_ms = started.elapsed().as_secs_f64() * 1e3;
        let peak_growth_mib = field_mib("VmHWM:") - before;
        let outcome = match (&result, honest) {
            (Ok(c), true) => format!("answered, {} bytes", c.content.len()),
            (Err(f), false) if matches!(f.error, LlmError::TooLarge { .. }) => {
                format!("{} after {} request", f.error, server.requests().len())
            }
            (other, _) => bail!("{name}: unexpected outcome {other:?}"),
        };
        out.push(HostileCase {
            name: name.into(),
            offered_mib: if honest {
                1.0
            } else {
                offered as f64 / 1048576.0
            },
            outcome,
            wall_ms,
            peak_growth_mib,
        });
    }
    let reuse_calls = 20;
    let server = FakeServer::start(|_| FakeReply::answer("[answer]1[/answer]"))?;
    let model = OpenAiModel::new(EndpointConfig::new(server.base_url(), "bench"));
    for _ in 0..reuse_calls {
        if let Err(f) = runtime.block_on(model.complete("q")) {
            bail!("an honest call failed: {}", f.error);
        }
    }
    Ok(HostileBench {
        cap_mib: MAX_BODY_BYTES as f64 / 1048576.0,
        cases: out,
        reuse_calls,
        reuse_connections: server.connections(),
    })
}

impl HostileBench {
    pub fn render(&self, lines: &mut Vec<String>) {
        for c in &self.cases {
            lines.push(format!(
                "hostile_llm  {} ({:.0} MiB offered, cap {:.0} MiB): {}; {:.0} ms, peak RSS +{:.1} MiB",
                c.name, c.offered_mib, self.cap_mib, c.outcome, c.wall_ms, c.peak_growth_mib
            ));
        }
        lines.push(format!(
            "hostile_llm  {} streamed calls in a row opened {} connection(s)",
            self.reuse_calls, self.reuse_connections
        ));
    }
}
