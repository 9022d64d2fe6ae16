//! The `eval` benchmark: `eval`'s engine over 10,000 records against an
//! instant scripted model (the fake OpenAI-compatible server, in process),
//! against scoring the same answers alone through the reward service's
//! batches, and against making the same calls alone. Reported: the wall
//! times and the ratio to scoring alone (one run), and the
//! process's peak resident memory (the fake server included).

use super::peak_rss_mib;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Result;
use serde::Serialize;

use crate::fake::{FakeReply, FakeServer};
use bootforge::eval::{self, RunConfig};
use bootforge::llm::openai::OpenAiModel;
use bootforge::llm::{ChatModel, EndpointConfig};
use bootforge::reward::batch::Item;
use bootforge::reward::{Service, Settings, Sources};
use bootforge::store::Store;

const SUM: &str = r#"
import random
import re
from bootcamp import Basebootcamp


class BenchSumbootcamp(Basebootcamp):
    def case_generator(self):
        return {"a": random.randint(1, 999), "b": random.randint(1, 999)}

    @staticmethod
    def prompt_func(identity):
        return f"What is {identity['a']} + {identity['b']}? Answer as [answer]N[/answer]."

    @staticmethod
    def extract_output(output):
        found = re.findall(r"\[answer\]\s*(-?\d+)\s*\[/answer\]", output)
        return int(found[-1]) if found else None

    @classmethod
    def _verify_correction(cls, solution, identity):
        return solution == identity["a"] + identity["b"]
"#;

#[derive(Debug, Serialize)]
pub struct EvalBench {
    pub records: usize,
    pub workers: usize,
    pub eval_ms: f64,
    pub scoring_alone_ms: f64,
    /// The same calls to the model alone, nothing stored or scored.
    pub calls_alone_ms: f64,
    /// Eval wall time over scoring alone.
    pub ratio: f64,
    pub accuracy: f64,
    pub peak_rss_mib: f64,
}

fn answer_of(prompt: &str) -> String {
    let sum: i64 = prompt
        .trim_start_matches("What is ")
        .split('?')
        .next()
        .unwrap_or("")
        .split(" + ")
        .filter_map(|n| n.trim().parse::<i64>().ok())
        .sum();
    format!("[answer]{sum}[/answer]")
}

pub fn bench_eval(cache_dir: &Path, quick: bool) -> Result<EvalBench> {
    let n = if quick { 500 } else { 10_000 };
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("bench_sum.py"), SUM)?;
    let server = FakeServer::start(|req| FakeReply::answer(answer_of(&req.prompt)))?;
    let sandbox = super::open(cache_dir, 2)?;
    let workers = sandbox.workers();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let store = Store::open(&dir.path().join("bench.db")).await?;
        let sources = Sources {
            read_store: false,
            any_status: false,
            dirs: vec![dir.path().to_path_buf()],
        };
        let (catalog, _) = bootforge::reward::catalog(None, &sources).await?;
        let service = Arc::new(Service::new(sandbox, catalog, Settings::default()));
        let records: Vec<(String, String, String)> = (0..n)
            .map(|i| {
                let (a, b) = (i % 997 + 1, i / 997 + 1);
                (
                    "BenchSum".to_owned(),
                    format!("What is {a} + {b}? Answer as [answer]N[/answer]."),
                    format!("{{\"a\": {a}, \"b\": {b}}}"),
                )
            })
            .collect();
        let config = RunConfig {
            model: "instant".into(),
            base_url: server.base_url().to_owned(),
            samples: 1,
            temperature: None,
            max_tokens: None,
            score_flags: Settings::default().default_flags,
            bootcamps: sources.dirs.clone(),
            read_store: false,
            data: vec![],
            kind: None,
            data_sha256: String::new(),
            client: None,
            limits: eval::Limits::default(),
        };
        let run = store
            .create_eval_run("bench", &serde_json::to_string(&config)?, &records)
            .await?;
        let mut endpoint = EndpointConfig::new(server.base_url(), "instant");
        endpoint.concurrency = 64;
        let model: Arc<dyn ChatModel> = Arc::new(OpenAiModel::new(endpoint));
        let started = Instant::now();
        let client = eval::Client {
            backend: bootforge::calls::Backend::Live(model.clone()),
            recorder: None,
            concurrency: 64,
            limits: eval::Limits::default(),
            prices: Default::default(),
        };
        eval::execute(&store, run, &config, client, service.clone()).await?;
        let eval_ms = started.elapsed().as_secs_f64() * 1e3;
        let report = eval::load_report(&store, run)
            .await?
            .ok_or_else(|| anyhow::anyhow!("the run vanished"))?;

        // The same answers scored alone, in the same batches.
        let flags = serde_json::to_string(&config.score_flags)?;
        let items: Vec<Item> = records
            .iter()
            .map(|(source, prompt, truth)| Item {
                data_source: source.clone(),
                solution: answer_of(prompt),
                ground_truth: truth.clone(),
                flags: flags.clone(),
            })
            .collect();
        let started = Instant::now();
        for chunk in items.chunks(512) {
            service.score(chunk.iter().cloned().map(Ok).collect()).await;
        }
        let scoring_alone_ms = started.elapsed().as_secs_f64() * 1e3;

        // The same calls alone.
        use futures::StreamExt;
        let started = Instant::now();
        let mut calls = futures::stream::iter(records.iter())
            .map(|(_, prompt, _)| model.complete(prompt))
            .buffer_unordered(128);
        while calls.next().await.is_some() {}
        let calls_alone_ms = started.elapsed().as_secs_f64() * 1e3;
        Ok(EvalBench {
            records: n,
            workers,
            eval_ms,
            scoring_alone_ms,
            calls_alone_ms,
            ratio: eval_ms / scoring_alone_ms,
            accuracy: report.overall.answer_accuracy,
            peak_rss_mib: peak_rss_mib(),
        })
    })
}
