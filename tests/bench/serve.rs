//! The `serve` benchmark: `bootforge serve` (this binary, as a child
//! process) over a store holding N review items (10,000; 500 with
//! `--quick`): queue-page and item-page latency (median and p99 over R
//! requests, one connection each, as a browser's first load), and the
//! server's resident memory at rest after start-up and after the requests.

use super::rss_mib;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::Serialize;

use super::{median, percentile, puzzle};
use bootforge::store::{NewReviewItem, Store};

#[derive(Debug, Serialize)]
pub struct ServeBench {
    pub items: usize,
    pub requests: usize,
    /// The queue page (first page of the whole queue, unfiltered).
    pub queue_median_ms: f64,
    pub queue_p99_ms: f64,
    /// Item pages (each runs the item's three sample cases in the sandbox).
    pub item_median_ms: f64,
    pub item_p99_ms: f64,
    /// Resident memory after start-up, and after the requests.
    pub rss_start_mib: f64,
    pub rss_after_mib: f64,
}

/// GET `path`, returning the status.
fn get(addr: &str, path: &str) -> Result<u16> {
    let mut stream = TcpStream::connect(addr)?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply)?;
    let head = String::from_utf8_lossy(&reply[..reply.len().min(64)]).into_owned();
    head.split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("a malformed reply to {path}: {head:?}"))
}

fn item(i: usize) -> NewReviewItem {
    let attempts: Vec<_> = (0..12)
        .map(|s| {
            serde_json::json!({"seed": s, "prompt": "Fill the square", "response": "<think>rows</think>[answer]1 2 3[/answer]", "score": if s % 3 == 0 { 1.0 } else { 0.0 }})
        })
        .collect();
    let report = serde_json::json!({
        "class": "LatinSquarebootcamp",
        "metrics": {"diversity": 1.0, "solver": {"accuracy": 0.33, "wilson_low": 0.14, "wilson_high": 0.61, "cases": 12, "attempts": attempts}},
        "findings": [{"kind": "simplification_marker", "severity": "warning", "stage": "static", "message": "a marker", "evidence": {"line": 3}}],
    });
    NewReviewItem {
        task_id: format!("task-{i:05}"),
        file_path: Some(format!("bench/{i}.py")),
        class_name: None,
        params_json: "{}".into(),
        code: puzzle().into(),
        report_json: report.to_string(),
        accuracy: Some(0.33),
        note: None,
    }
}

pub fn bench_serve(cache_dir: &Path, items: usize, requests: usize) -> Result<ServeBench> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("serve.db");
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(async {
            let store = Store::open(&db).await?;
            // The queue is filled as `review add` fills it, one entry at a
            // time; only the requests after it are measured.
            for i in 0..items {
                store.add_review_item(&item(i)).await?;
            }
            anyhow::Ok(())
        })?;
    let exe = std::path::PathBuf::from(env!("CARGO_BIN_EXE_bootforge"));
    let mut child = Command::new(exe)
        .arg("--cache-dir")
        .arg(cache_dir)
        .arg("--db")
        .arg(&db)
        .args(["serve", "--bind", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("starting bootforge serve")?;
    let result = (|| {
        let mut lines = BufReader::new(child.stderr.take().context("stderr")?).lines();
        let addr = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(a) = line.split("listening on http://").nth(1) {
                        break a.trim().to_owned();
                    }
                }
                _ => bail!("bootforge serve ended before listening"),
            }
        };
        std::thread::spawn(move || for _ in lines {});
        std::thread::sleep(Duration::from_millis(300));
        let rss_start_mib = rss_mib(child.id());
        let time = |path: &str| -> Result<f64> {
            let t = Instant::now();
            let status = get(&addr, path)?;
            if status != 200 {
                bail!("{path} answered {status}");
            }
            Ok(t.elapsed().as_secs_f64() * 1e3)
        };
        let mut queue = Vec::with_capacity(requests);
        let mut item_ms = Vec::with_capacity(requests);
        for i in 0..requests {
            queue.push(time("/queue")?);
            // Spread over the store: the last items are the slowest to find.
            let id = 1 + (i * 7919) % items;
            item_ms.push(time(&format!("/items/{id}"))?);
        }
        std::thread::sleep(Duration::from_millis(300));
        Ok(ServeBench {
            items,
            requests,
            queue_median_ms: median(&mut queue),
            queue_p99_ms: percentile(&mut queue, 0.99),
            item_median_ms: median(&mut item_ms),
            item_p99_ms: percentile(&mut item_ms, 0.99),
            rss_start_mib,
            rss_after_mib: rss_mib(child.id()),
        })
    })();
    let _ = child.kill();
    let _ = child.wait();
    result
}
