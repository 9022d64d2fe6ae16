//! `bootforge bench`: the sandbox's committed benchmarks.
//!
//! Every comparison is made inside one run, as a ratio, because this machine
//! is shared and noisy:
//!
//! - **throughput**: generate + prompt + verify per case, for the Latin-square
//!   example (`sandbox/examples/latin_square.py`), in the sandbox against the
//!   same loop under the machine's native `python3` (target: the sandbox at
//!   0.6 of native speed or better);
//! - **cold start**: a new store, instantiation and loading the same ~200-line
//!   bootcamp, median over many runs (target: 15 ms or less);
//! - **compile**: the first compile of the component into an empty cache, then
//!   loading it from the cache;
//! - **workers**: the same batch of runs on a pool of 1 worker and of 2;
//! - **audit**: `bootforge audit` over 1,000 generated bootcamp files (variants
//!   of the examples and the check tests' bootcamps), 20 cases each, no
//!   solver: wall time and files per second per core (target: under 2 min);
//! - **solver**: the client's overhead per call over a fake server's own
//!   latency, at concurrency 64.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::Serialize;

use crate::sandbox::{RunReport, RunSpec, Sandbox, SandboxOptions};

const PUZZLE_FILE: &str = "latin_square.py";
const PUZZLE: &str = include_str!("../sandbox/examples/latin_square.py");
const NATIVE_RUNNER: &str = include_str!("../sandbox/bench/native.py");
const BASE: &str = include_str!("../sandbox/guest/bootforge_base.py");
/// A well-formed but wrong answer: the verifier parses and checks all of it.
const ANSWER: &str = "<think>fill rows</think>[answer]\n1 2 3 4 5\n2 3 4 5 1\n3 4 5 1 2\n4 5 1 2 3\n5 1 2 3 4\n[/answer]";

#[derive(Debug, Serialize)]
pub struct Throughput {
    pub cases: u64,
    pub sandbox_ms: f64,
    pub sandbox_cases_per_s: f64,
    /// None when no native python3 could be run.
    pub native_ms: Option<f64>,
    pub native_cases_per_s: Option<f64>,
    pub native_python: Option<String>,
    /// Sandbox speed as a fraction of native speed.
    pub ratio: Option<f64>,
    pub target_ratio: f64,
}

#[derive(Debug, Serialize)]
pub struct ColdStart {
    pub runs: usize,
    /// New store + instantiate + load, on the worker.
    pub median_ms: f64,
    pub p90_ms: f64,
    pub instantiate_median_ms: f64,
    pub load_median_ms: f64,
    /// Including the hop through the worker pool.
    pub end_to_end_median_ms: f64,
    pub target_ms: f64,
}

#[derive(Debug, Serialize)]
pub struct Compile {
    pub compile_ms: f64,
    pub cache_load_ms: f64,
    pub component_compressed_bytes: usize,
    pub artifact_bytes: u64,
}

#[derive(Debug, Serialize)]
pub struct Workers {
    pub runs: usize,
    pub cases_per_run: u64,
    pub one_worker_cases_per_s: f64,
    pub two_workers_cases_per_s: f64,
    pub speedup: f64,
}

#[derive(Debug, Serialize)]
pub struct Audit {
    pub files: usize,
    pub cases_per_file: u32,
    pub jobs: usize,
    pub wall_s: f64,
    pub files_per_s: f64,
    pub files_per_s_per_core: f64,
    pub passed: usize,
    pub failed: usize,
    pub target_s: f64,
}

#[derive(Debug, Serialize)]
pub struct SolverOverhead {
    pub calls: usize,
    pub concurrency: usize,
    pub server_latency_ms: f64,
    pub wall_ms: f64,
    /// calls / concurrency x latency: the wall time with zero overhead.
    pub ideal_wall_ms: f64,
    pub mean_call_ms: f64,
    pub p99_call_ms: f64,
    /// Mean call latency minus the server's latency.
    pub mean_overhead_ms: f64,
}

#[derive(Debug, Serialize)]
pub struct BenchReport {
    pub quick: bool,
    pub compile: Compile,
    pub cold_start: ColdStart,
    pub throughput: Throughput,
    pub workers: Workers,
    pub audit: Audit,
    pub solver: SolverOverhead,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn median(values: &mut [f64]) -> f64 {
    percentile(values, 0.5)
}

fn percentile(values: &mut [f64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(|a, b| a.total_cmp(b));
    let index = ((values.len() - 1) as f64 * q).round() as usize;
    values[index]
}

fn checked(report: RunReport, what: &str) -> Result<RunReport> {
    if let Some(err) = &report.error {
        bail!("{what}: the benchmark bootcamp failed in the sandbox: {err}");
    }
    Ok(report)
}

fn open(cache_dir: &Path, workers: usize) -> Result<Sandbox> {
    let mut options = SandboxOptions::new(cache_dir.to_path_buf());
    options.workers = workers;
    Sandbox::open(&options)
}

fn puzzle_spec(seeds: std::ops::Range<u64>, answer: Option<&str>) -> RunSpec {
    RunSpec::new(PUZZLE_FILE, PUZZLE).cases(seeds, answer)
}

fn bench_compile() -> Result<Compile> {
    let dir = tempfile::tempdir().context("creating a temporary cache directory")?;
    let first = open(dir.path(), 1)?;
    let compiled = first.component_source().clone();
    drop(first);
    let second = open(dir.path(), 1)?;
    let loaded = second.component_source().clone();
    if compiled.cache_hit || !loaded.cache_hit {
        bail!("the compile benchmark expected a miss then a hit in {}", dir.path().display());
    }
    Ok(Compile {
        compile_ms: ms(compiled.elapsed),
        cache_load_ms: ms(loaded.elapsed),
        component_compressed_bytes: crate::sandbox::engine_component_len(),
        artifact_bytes: std::fs::metadata(&loaded.path).map(|m| m.len()).unwrap_or(0),
    })
}

fn bench_cold_start(sandbox: &Sandbox, runs: usize) -> Result<ColdStart> {
    // One warm-up run: the first instantiation faults in the image.
    checked(sandbox.run_blocking(puzzle_spec(0..0, None)), "cold start")?;
    let (mut total, mut inst, mut load, mut e2e) = (vec![], vec![], vec![], vec![]);
    for _ in 0..runs {
        let started = Instant::now();
        let report = checked(sandbox.run_blocking(puzzle_spec(0..0, None)), "cold start")?;
        e2e.push(ms(started.elapsed()));
        let t = &report.timings;
        total.push((t.instantiate_us + t.load_us) as f64 / 1e3);
        inst.push(t.instantiate_us as f64 / 1e3);
        load.push(t.load_us as f64 / 1e3);
    }
    Ok(ColdStart {
        runs,
        median_ms: median(&mut total),
        p90_ms: percentile(&mut total, 0.9),
        instantiate_median_ms: median(&mut inst),
        load_median_ms: median(&mut load),
        end_to_end_median_ms: median(&mut e2e),
        target_ms: 15.0,
    })
}

#[derive(serde::Deserialize)]
struct NativeResult {
    elapsed_us: u64,
    scores: Vec<f64>,
}

fn native(cases: u64) -> Result<(NativeResult, String)> {
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("bootforge_base.py"), BASE)?;
    std::fs::write(dir.path().join("native.py"), NATIVE_RUNNER)?;
    std::fs::write(dir.path().join(PUZZLE_FILE), PUZZLE)?;
    let version = Command::new("python3").arg("--version").output().context("running python3 --version")?;
    let version = String::from_utf8_lossy(&version.stdout).trim().to_owned();
    let out = Command::new("python3")
        .arg(dir.path().join("native.py"))
        .arg(dir.path())
        .arg(dir.path().join(PUZZLE_FILE))
        .arg(cases.to_string())
        .arg("0")
        .arg(ANSWER)
        .output()
        .context("running the native python3 loop")?;
    if !out.status.success() {
        bail!("native python3 loop failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let result = serde_json::from_slice(&out.stdout).context("reading the native loop's result")?;
    Ok((result, version))
}

fn bench_throughput(sandbox: &Sandbox, cases: u64) -> Result<Throughput> {
    let report = checked(sandbox.run_blocking(puzzle_spec(0..cases, Some(ANSWER))), "throughput")?;
    let sandbox_ms = report.timings.calls_us as f64 / 1e3;
    let sandbox_scores: Vec<f64> = report.cases().filter_map(|c| c.score).collect();
    let (native_ms, native_python) = match native(cases) {
        Ok((result, version)) => {
            if result.scores != sandbox_scores {
                bail!("native python3 and the sandbox scored the same cases differently");
            }
            (Some(result.elapsed_us as f64 / 1e3), Some(version))
        }
        Err(err) => {
            eprintln!("warning: no native comparison: {err:#}");
            (None, None)
        }
    };
    let per_s = |ms: f64| cases as f64 / (ms / 1e3);
    Ok(Throughput {
        cases,
        sandbox_ms,
        sandbox_cases_per_s: per_s(sandbox_ms),
        native_ms,
        native_cases_per_s: native_ms.map(per_s),
        native_python,
        ratio: native_ms.map(|n| n / sandbox_ms),
        target_ratio: 0.6,
    })
}

fn batch(sandbox: &Sandbox, runs: usize, cases: u64) -> Result<f64> {
    let started = Instant::now();
    let handles: Vec<_> = (0..runs as u64)
        .map(|i| {
            let sandbox = sandbox.clone();
            std::thread::spawn(move || sandbox.run_blocking(puzzle_spec(i * cases..(i + 1) * cases, Some(ANSWER))))
        })
        .collect();
    for handle in handles {
        let report = handle.join().map_err(|_| anyhow::anyhow!("a benchmark thread panicked"))?;
        checked(report, "workers")?;
    }
    Ok((runs as u64 * cases) as f64 / started.elapsed().as_secs_f64())
}

fn bench_workers(cache_dir: &Path, runs: usize, cases: u64) -> Result<Workers> {
    let one = open(cache_dir, 1)?;
    let two = open(cache_dir, 2)?;
    // Warm both pools, then alternate to spread the machine's noise.
    batch(&one, 1, 5)?;
    batch(&two, 2, 5)?;
    let (mut r1, mut r2) = (vec![], vec![]);
    for _ in 0..2 {
        r1.push(batch(&one, runs, cases)?);
        r2.push(batch(&two, runs, cases)?);
    }
    let one_rate = r1.iter().cloned().fold(f64::MIN, f64::max);
    let two_rate = r2.iter().cloned().fold(f64::MIN, f64::max);
    Ok(Workers {
        runs,
        cases_per_run: cases,
        one_worker_cases_per_s: one_rate,
        two_workers_cases_per_s: two_rate,
        speedup: two_rate / one_rate,
    })
}

/// Bootcamps the audit corpus is made from: the shipped examples and the
/// check tests' bootcamps (good and broken, as a real corpus is).
const CORPUS: [(&str, &str); 8] = [
    ("latin_square.py", PUZZLE),
    ("arithmetic_chain.py", include_str!("../sandbox/examples/arithmetic_chain.py")),
    ("good.py", include_str!("../tests/bootcamps/check/good.py")),
    ("knapsack.py", include_str!("../tests/bootcamps/knapsack_compat.py")),
    ("narrow.py", include_str!("../tests/bootcamps/check/narrow.py")),
    ("accepts_empty.py", include_str!("../tests/bootcamps/check/accepts_empty.py")),
    ("bad_reference.py", include_str!("../tests/bootcamps/check/bad_reference.py")),
    ("crash_generator.py", include_str!("../tests/bootcamps/check/crash_generator.py")),
];

fn bench_audit(cache_dir: &Path, files: usize) -> Result<Audit> {
    let dir = tempfile::tempdir()?;
    let mut paths = Vec::with_capacity(files);
    for i in 0..files {
        let (name, source) = CORPUS[i % CORPUS.len()];
        // Distinct files: a header comment, like a corpus of siblings.
        let path = dir.path().join(format!("{i:04}_{name}"));
        std::fs::write(&path, format!("# corpus file {i}\n{source}"))?;
        paths.push(path);
    }
    let jobs = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
    let sandbox = open(cache_dir, jobs)?;
    let config = crate::evaluate::CheckConfig::default();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let started = Instant::now();
    let reports = runtime.block_on(crate::evaluate::audit::audit(&sandbox, None, &paths, &config, jobs, &|_, _| {}));
    let wall = started.elapsed().as_secs_f64();
    let passed = reports.iter().filter(|r| r.verdict == crate::evaluate::Verdict::Pass).count();
    Ok(Audit {
        files,
        cases_per_file: config.cases,
        jobs,
        wall_s: wall,
        files_per_s: files as f64 / wall,
        files_per_s_per_core: files as f64 / wall / jobs as f64,
        passed,
        failed: files - passed,
        target_s: 120.0,
    })
}

fn bench_solver(calls: usize) -> Result<SolverOverhead> {
    use crate::llm::ChatModel;
    use crate::llm::fake::{FakeReply, FakeServer};
    let latency = Duration::from_millis(50);
    let server = FakeServer::start(move |_| {
        FakeReply::Delay(latency, Box::new(FakeReply::answer("[answer]42[/answer]")))
    })?;
    let concurrency = 64;
    let mut config = crate::llm::EndpointConfig::new(server.base_url(), "bench");
    config.concurrency = concurrency;
    let model = std::sync::Arc::new(crate::llm::openai::OpenAiModel::new(config));
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let (wall, mut latencies) = runtime.block_on(async {
        let started = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..calls {
            let model = model.clone();
            tasks.spawn(async move { model.complete(&format!("question {i}")).await });
        }
        let mut latencies = Vec::with_capacity(calls);
        while let Some(done) = tasks.join_next().await {
            match done {
                Ok(Ok(completion)) => latencies.push(completion.latency_ms),
                Ok(Err(failure)) => bail!("a benchmark solver call failed: {}", failure.error),
                Err(err) => bail!("a benchmark task failed: {err}"),
            }
        }
        Ok((ms(started.elapsed()), latencies))
    })?;
    let mean = latencies.iter().sum::<f64>() / latencies.len().max(1) as f64;
    Ok(SolverOverhead {
        calls,
        concurrency,
        server_latency_ms: ms(latency),
        wall_ms: wall,
        ideal_wall_ms: (calls as f64 / concurrency as f64).ceil() * ms(latency),
        mean_call_ms: mean,
        p99_call_ms: percentile(&mut latencies, 0.99),
        mean_overhead_ms: mean - ms(latency),
    })
}

/// Run every benchmark. `quick` runs few iterations (a smoke test).
pub fn run(cache_dir: &Path, quick: bool) -> Result<BenchReport> {
    eprintln!("bench: compiling the component into an empty cache...");
    let compile = bench_compile()?;
    let sandbox = open(cache_dir, 1)?;
    eprintln!("bench: cold start...");
    let cold_start = bench_cold_start(&sandbox, if quick { 5 } else { 50 })?;
    eprintln!("bench: throughput against native python3...");
    let throughput = bench_throughput(&sandbox, if quick { 100 } else { 2000 })?;
    eprintln!("bench: 1 worker against 2...");
    let workers = if quick { bench_workers(cache_dir, 2, 20)? } else { bench_workers(cache_dir, 8, 250)? };
    eprintln!("bench: audit of a generated corpus...");
    let audit = bench_audit(cache_dir, if quick { 16 } else { 1000 })?;
    eprintln!("bench: solver client overhead...");
    let solver = bench_solver(if quick { 128 } else { 1280 })?;
    Ok(BenchReport { quick, compile, cold_start, throughput, workers, audit, solver })
}

impl BenchReport {
    /// The human table.
    pub fn render(&self) -> Vec<String> {
        let t = &self.throughput;
        let c = &self.cold_start;
        let w = &self.workers;
        let mut lines = vec![
            format!(
                "compile      first compile {:.0} ms; load from cache {:.1} ms ({} MB compressed component, {} MB artifact)",
                self.compile.compile_ms,
                self.compile.cache_load_ms,
                self.compile.component_compressed_bytes / 1_000_000,
                self.compile.artifact_bytes / 1_000_000
            ),
            format!(
                "cold start   median {:.2} ms, p90 {:.2} ms (instantiate {:.2} ms + load {:.2} ms; {:.2} ms through the pool) over {} runs; target <= {} ms",
                c.median_ms, c.p90_ms, c.instantiate_median_ms, c.load_median_ms, c.end_to_end_median_ms, c.runs, c.target_ms
            ),
        ];
        match (t.native_ms, t.ratio) {
            (Some(native), Some(ratio)) => lines.push(format!(
                "throughput   {} cases: sandbox {:.0} ms ({:.0}/s), native {} {:.0} ms ({:.0}/s): sandbox at {:.2} of native; target >= {}",
                t.cases,
                t.sandbox_ms,
                t.sandbox_cases_per_s,
                t.native_python.as_deref().unwrap_or("python3"),
                native,
                t.native_cases_per_s.unwrap_or(0.0),
                ratio,
                t.target_ratio
            )),
            _ => lines.push(format!(
                "throughput   {} cases: sandbox {:.0} ms ({:.0}/s); no native python3 to compare with",
                t.cases, t.sandbox_ms, t.sandbox_cases_per_s
            )),
        }
        lines.push(format!(
            "workers      {} runs x {} cases: 1 worker {:.0} cases/s, 2 workers {:.0} cases/s ({:.2}x)",
            w.runs, w.cases_per_run, w.one_worker_cases_per_s, w.two_workers_cases_per_s, w.speedup
        ));
        let a = &self.audit;
        lines.push(format!(
            "audit        {} files x {} cases, {} jobs: {:.1} s ({:.1} files/s, {:.1} per core; {} pass, {} fail); target < {} s",
            a.files, a.cases_per_file, a.jobs, a.wall_s, a.files_per_s, a.files_per_s_per_core, a.passed, a.failed, a.target_s
        ));
        let s = &self.solver;
        lines.push(format!(
            "solver       {} calls at concurrency {} against {} ms server latency: wall {:.0} ms (ideal {:.0} ms), per call mean {:.1} ms, p99 {:.1} ms: overhead {:.2} ms per call",
            s.calls, s.concurrency, s.server_latency_ms, s.wall_ms, s.ideal_wall_ms, s.mean_call_ms, s.p99_call_ms, s.mean_overhead_ms
        ));
        lines
    }
}
