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
//! - **workers**: the same batch of runs on a pool of 1 worker and of 2.

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
pub struct BenchReport {
    pub quick: bool,
    pub compile: Compile,
    pub cold_start: ColdStart,
    pub throughput: Throughput,
    pub workers: Workers,
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
    Ok(BenchReport { quick, compile, cold_start, throughput, workers })
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
        lines
    }
}
