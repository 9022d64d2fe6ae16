//! The committed benchmarks, a Cargo bench target with its own harness
//! (`cargo bench --bench bootforge -- [--quick] [--only NAME] [--json]`,
//! `main.rs`); the integration tests run every one of them quickly
//! (`tests/benchmarks.rs`). They use the library's public API, run the real
//! `bootforge` binary where a child process is measured, and read their
//! bootcamps from `tests/bootcamps/` at run time.
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
//! - **audit_speed**: an audit of a library with a tail of heavy bootcamps:
//!   wall time and findings (`tests/bench/audit_speed.rs`);
//! - **solver**: the client's overhead per call over a fake server's own
//!   latency, at concurrency 64;
//! - **campaign**: 200 tasks x 4 drafts against a fake author and solver
//!   answering after 200 ms, concurrency 64 per role: wall time against the
//!   ideal latency and concurrency allow (target 1.15x), peak memory, SQLite
//!   rows written per second (run it alone, `--only campaign`, for a clean
//!   peak-memory figure);
//! - **fleet**: a campaign against three endpoints of 100, 200 and 400 ms,
//!   wall time against the fleet's ideal, all up and with the fastest one
//!   killed halfway (`tests/bench/fleet.rs`);
//! - **memory**: `bootforge check` as a child process on hostile bootcamps
//!   (cases of 340,000 zeros, a 16 MiB case sent past a raised guest cap, a
//!   100 MB harness reply) and against a solver answering 10 MB per call:
//!   the child's peak resident memory, with one sandbox instance at a time,
//!   against the guest's memory limit plus 100 MiB (the target: the host
//!   does not pay for what the guest sends);
//! - **generate**: `bootforge generate` of 100,000 Latin-square cases
//!   (records written to a file) with 1 job and with 2, against the same
//!   generator looped in one native `python3` process writing the same
//!   records (target: 2 jobs at 0.8 of native or better), and peak memory
//!   (run it alone, `--only generate`, for a clean figure);
//! - **serve**: `bootforge serve` over 10,000 review items: queue-page and
//!   item-page latency (median, p99 over 200 requests) and resident memory
//!   at rest (`tests/bench/serve.rs`);
//! - **calibrate**: solver calls the calibration search takes to reach a
//!   target accuracy within 0.1 against a plain grid search, on simulated
//!   solvers with known accuracy curves (`tests/bench/calibrate.rs`);
//! - **campcal**: author calls per accepted bootcamp in a campaign whose
//!   first drafts are all too easy, with calibration inside the campaign
//!   and without (`tests/bench/campcal.rs`);
//! - **reward**: `bootforge reward serve` scoring batches of 1,024 over HTTP
//!   against native `verify_score` in one python3 process, per core, with
//!   batch latency and memory with 100 bootcamps warm (`tests/bench/reward.rs`);
//! - **eval**: `bootforge eval` of 10,000 records against an instant
//!   scripted model, against scoring them alone, and peak memory
//!   (`tests/bench/eval.rs`);
//! - **levers**: the sandbox's batching lever (batches of cases per guest
//!   call against one call per case) and native `python3`, in alternating
//!   rounds (`tests/bench/levers.rs`);
//! - **hostile_llm**: what a hostile OpenAI endpoint costs one attempt of
//!   the client (one endless SSE event, endless tiny events, endless
//!   keep-alives, against an honest 1 MiB answer): wall time and peak memory
//!   growth, and the connections 20 streamed calls open
//!   (`tests/bench/hostile.rs`).

mod fleet;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::Serialize;

use bootforge::sandbox::{RunReport, RunSpec, Sandbox, SandboxOptions};

mod audit_speed;
mod calibrate;
mod campcal;
mod eval;
mod hostile;
mod levers;
mod reward;
mod serve;
mod sympy;
pub use serve::ServeBench;

const PUZZLE_FILE: &str = "latin_square.py";
/// A file of the repository, read at run time: the benchmarks' bootcamps
/// are the tests' fixtures and the sandbox's examples, never compiled into a
/// binary. Read once per run and kept (a benchmark reads them in loops).
fn repo_file(rel: &'static str) -> &'static str {
    static FILES: std::sync::Mutex<Vec<(&str, &str)>> = std::sync::Mutex::new(Vec::new());
    let mut files = FILES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, text)) = files.iter().find(|(path, _)| *path == rel) {
        return text;
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("reading the benchmark file {}: {err}", path.display()));
    let text: &'static str = Box::leak(text.into_boxed_str());
    files.push((rel, text));
    text
}

fn puzzle() -> &'static str {
    repo_file("sandbox/examples/latin_square.py")
}

fn native_runner() -> &'static str {
    repo_file("sandbox/bench/native.py")
}

fn base() -> &'static str {
    repo_file("sandbox/guest/bootforge_base.py")
}

fn zeros() -> &'static str {
    repo_file("tests/bootcamps/hostile/zeros.py")
}

fn raise_cap() -> &'static str {
    repo_file("tests/bootcamps/hostile/raise_cap.py")
}

fn huge_reply() -> &'static str {
    repo_file("tests/bootcamps/hostile/huge_reply.py")
}

fn bench_bootcamp() -> &'static str {
    repo_file("tests/bootcamps/campaign/interval_merge.py")
}

fn native_generate() -> &'static str {
    repo_file("sandbox/bench/native_generate.py")
}

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
pub struct CampaignBench {
    pub tasks: usize,
    pub drafts_per_task: u32,
    pub solver_cases: u32,
    pub concurrency: usize,
    pub server_latency_ms: f64,
    pub wall_s: f64,
    /// The wall time latency and concurrency allow: the busiest role's calls
    /// in waves of `concurrency`, plus one author and one solver round trip.
    pub ideal_s: f64,
    pub ratio_to_ideal: f64,
    pub author_calls: usize,
    pub solver_calls: usize,
    pub accepted: usize,
    /// Peak resident memory of this process (VmHWM), MiB.
    pub peak_rss_mib: f64,
    pub rows_written: i64,
    pub rows_per_s: f64,
    pub target_ratio: f64,
}

/// The benchmarks, by name (`--only`).
pub const NAMES: [&str; 19] = [
    "compile",
    "cold_start",
    "throughput",
    "workers",
    "audit",
    "audit_speed",
    "solver",
    "campaign",
    "fleet",
    "generate",
    "memory",
    "serve",
    "reward",
    "calibrate",
    "campcal",
    "eval",
    "sympy",
    "levers",
    "hostile_llm",
];

#[derive(Debug, Default, Serialize)]
pub struct BenchReport {
    pub quick: bool,
    pub compile: Option<Compile>,
    pub cold_start: Option<ColdStart>,
    pub throughput: Option<Throughput>,
    pub workers: Option<Workers>,
    pub audit: Option<Audit>,
    pub audit_speed: Option<audit_speed::AuditSpeed>,
    pub solver: Option<SolverOverhead>,
    pub campaign: Option<CampaignBench>,
    pub fleet: Option<fleet::FleetBench>,
    pub generate: Option<GenerateBench>,
    pub memory: Option<Vec<MemoryCase>>,
    pub serve: Option<ServeBench>,
    pub reward: Option<reward::RewardBench>,
    pub calibrate: Option<calibrate::CalibrateBench>,
    pub campcal: Option<campcal::CampcalBench>,
    pub eval: Option<eval::EvalBench>,
    pub sympy: Option<sympy::SympyBench>,
    pub levers: Option<levers::LeversBench>,
    pub hostile_llm: Option<hostile::HostileBench>,
}

/// One hostile input and what a `check` of it cost the host.
#[derive(Debug, Serialize)]
pub struct MemoryCase {
    pub name: String,
    /// What the check was run with.
    pub args: String,
    /// The check's exit code (1: the bootcamp failed, as it should for most).
    pub exit_code: i32,
    /// Peak resident memory of the `bootforge check` process, MiB (guest
    /// linear memory included: it is mapped in the same process).
    pub peak_rss_mib: f64,
    /// The guest's memory limit plus 100 MiB.
    pub target_mib: f64,
    pub within_target: bool,
    pub wall_s: f64,
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
    RunSpec::new(PUZZLE_FILE, puzzle()).cases(seeds, answer)
}

fn bench_compile() -> Result<Compile> {
    let dir = tempfile::tempdir().context("creating a temporary cache directory")?;
    let first = open(dir.path(), 1)?;
    let compiled = first.component_source().clone();
    drop(first);
    let second = open(dir.path(), 1)?;
    let loaded = second.component_source().clone();
    if compiled.cache_hit || !loaded.cache_hit {
        bail!(
            "the compile benchmark expected a miss then a hit in {}",
            dir.path().display()
        );
    }
    Ok(Compile {
        compile_ms: ms(compiled.elapsed),
        cache_load_ms: ms(loaded.elapsed),
        component_compressed_bytes: bootforge::sandbox::engine_component_len(),
        artifact_bytes: std::fs::metadata(&loaded.path)
            .map(|m| m.len())
            .unwrap_or(0),
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
    std::fs::write(dir.path().join("bootforge_base.py"), base())?;
    std::fs::write(dir.path().join("native.py"), native_runner())?;
    std::fs::write(dir.path().join(PUZZLE_FILE), puzzle())?;
    let version = Command::new("python3")
        .arg("--version")
        .output()
        .context("running python3 --version")?;
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
        bail!(
            "native python3 loop failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let result = serde_json::from_slice(&out.stdout).context("reading the native loop's result")?;
    Ok((result, version))
}

fn bench_throughput(sandbox: &Sandbox, cases: u64) -> Result<Throughput> {
    let report = checked(
        sandbox.run_blocking(puzzle_spec(0..cases, Some(ANSWER))),
        "throughput",
    )?;
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
            std::thread::spawn(move || {
                sandbox.run_blocking(puzzle_spec(i * cases..(i + 1) * cases, Some(ANSWER)))
            })
        })
        .collect();
    for handle in handles {
        let report = handle
            .join()
            .map_err(|_| anyhow::anyhow!("a benchmark thread panicked"))?;
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
fn corpus() -> [(&'static str, &'static str); 8] {
    [
        ("latin_square.py", puzzle()),
        (
            "arithmetic_chain.py",
            repo_file("sandbox/examples/arithmetic_chain.py"),
        ),
        ("good.py", repo_file("tests/bootcamps/check/good.py")),
        (
            "knapsack.py",
            repo_file("tests/bootcamps/knapsack_compat.py"),
        ),
        ("narrow.py", repo_file("tests/bootcamps/check/narrow.py")),
        (
            "accepts_empty.py",
            repo_file("tests/bootcamps/check/accepts_empty.py"),
        ),
        (
            "bad_reference.py",
            repo_file("tests/bootcamps/check/bad_reference.py"),
        ),
        (
            "crash_generator.py",
            repo_file("tests/bootcamps/check/crash_generator.py"),
        ),
    ]
}

fn bench_audit(cache_dir: &Path, files: usize) -> Result<Audit> {
    let dir = tempfile::tempdir()?;
    let mut paths = Vec::with_capacity(files);
    for i in 0..files {
        let corpus = corpus();
        let (name, source) = corpus[i % corpus.len()];
        // Distinct files: a header comment, like a corpus of siblings.
        let path = dir.path().join(format!("{i:04}_{name}"));
        std::fs::write(&path, format!("# corpus file {i}\n{source}"))?;
        paths.push(path);
    }
    let jobs = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    let sandbox = open(cache_dir, jobs)?;
    let config = bootforge::evaluate::CheckConfig::default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let started = Instant::now();
    let reports = runtime.block_on(bootforge::evaluate::audit::audit(
        &sandbox,
        None,
        &paths,
        &config,
        jobs,
        &|_, _| {},
    ));
    let wall = started.elapsed().as_secs_f64();
    let passed = reports
        .iter()
        .filter(|r| r.verdict == bootforge::evaluate::Verdict::Pass)
        .count();
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
    use crate::fake::{FakeReply, FakeServer};
    use bootforge::llm::ChatModel;
    let latency = Duration::from_millis(50);
    let server = FakeServer::start(move |_| {
        FakeReply::Delay(latency, Box::new(FakeReply::answer("[answer]42[/answer]")))
    })?;
    let concurrency = 64;
    let mut config = bootforge::llm::EndpointConfig::new(server.base_url(), "bench");
    config.concurrency = concurrency;
    let model = std::sync::Arc::new(bootforge::llm::openai::OpenAiModel::new(config));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
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

/// Run `bootforge check` (this executable) and return its exit code and
/// peak RSS from the kernel's accounting of the child (`wait4`).
fn child_peak(cmd: &mut Command) -> Result<(i32, f64)> {
    let child = cmd
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .context("starting bootforge check")?;
    let pid = libc::pid_t::try_from(child.id()).context("child pid")?;
    let mut status: libc::c_int = 0;
    // SAFETY: a zeroed rusage is a valid value for wait4 to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: pid is our own unwaited child; status and usage are valid
    // pointers for the duration of the call.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    if waited != pid {
        bail!(
            "waiting for bootforge check: {}",
            std::io::Error::last_os_error()
        );
    }
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    // ru_maxrss is in KiB on Linux.
    Ok((code, usage.ru_maxrss as f64 / 1024.0))
}

fn bench_memory(cache_dir: &Path, quick: bool) -> Result<Vec<MemoryCase>> {
    let exe = std::path::PathBuf::from(env!("CARGO_BIN_EXE_bootforge"));
    let dir = tempfile::tempdir()?;
    let memory_mb = 256u64;
    let target_mib = memory_mb as f64 + 100.0;
    // A solver answering 10 MB per call: the endpoint's bytes are the
    // host's to bound too.
    let answer = format!("<think>{}</think>[answer]7[/answer]", "x".repeat(10 << 20));
    let server = crate::fake::FakeServer::start(move |_| crate::fake::FakeReply::Answer {
        content: answer.clone(),
        reasoning: None,
    })?;
    // Quick mode (the smoke test) keeps each scenario to a few cases.
    let (default_cases, zeros_cases, solver_cases) = if quick {
        ("2", "3", "2")
    } else {
        ("20", "60", "40")
    };
    let mut scenarios: Vec<(&str, &str, Vec<String>)> = vec![
        (
            "zeros_default_cases",
            zeros(),
            vec!["--cases".into(), default_cases.into()],
        ),
        (
            "zeros_many_cases",
            zeros(),
            vec!["--cases".into(), zeros_cases.into()],
        ),
        (
            "raised_guest_cap_16mib_case",
            raise_cap(),
            vec!["--cases".into(), "4".into()],
        ),
        ("reply_of_100mb", huge_reply(), vec![]),
    ];
    scenarios.push((
        "solver_answers_of_10mb",
        zeros(),
        vec![
            "--cases".into(),
            "4".into(),
            "--model".into(),
            "fake-solver".into(),
            "--base-url".into(),
            server.base_url().to_owned(),
            "--solver-cases".into(),
            solver_cases.into(),
        ],
    ));
    let mut results = Vec::new();
    for (name, source, extra) in scenarios {
        let file = dir.path().join(format!("{name}.py"));
        std::fs::write(&file, source)?;
        let mut cmd = Command::new(&exe);
        cmd.arg("--cache-dir")
            .arg(cache_dir)
            .arg("check")
            .arg(&file)
            .arg("--json")
            // One instance at a time: with N workers a check may hold N
            // guests' memory, each bounded by --memory-mb; the target is
            // about what the host adds.
            .args(["--workers", "1"])
            .args(["--memory-mb", &memory_mb.to_string()])
            .args(&extra)
            .env("OPENAI_API_KEY", "bench");
        let started = Instant::now();
        let (exit_code, peak_rss_mib) = child_peak(&mut cmd)?;
        results.push(MemoryCase {
            name: name.into(),
            args: format!("--workers 1 --memory-mb {memory_mb} {}", extra.join(" ")),
            exit_code,
            peak_rss_mib,
            target_mib,
            within_target: peak_rss_mib <= target_mib,
            wall_s: started.elapsed().as_secs_f64(),
        });
    }
    Ok(results)
}

/// A memory figure of a process from `/proc/PID/status` (`self` for this
/// one), in MiB: `VmRSS:` now, `VmHWM:` its peak.
fn status_mib(pid: &str, field: &str) -> Option<f64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = text.lines().find(|l| l.starts_with(field))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Peak resident memory of this process, MiB (0 where /proc is missing).
fn peak_rss_mib() -> f64 {
    status_mib("self", "VmHWM:").unwrap_or(0.0)
}

/// Resident memory of process `pid` now, MiB (NaN where it cannot be read).
fn rss_mib(pid: u32) -> f64 {
    status_mib(&pid.to_string(), "VmRSS:").unwrap_or(f64::NAN)
}

fn bench_campaign(cache_dir: &Path, tasks: usize) -> Result<CampaignBench> {
    use crate::fake::{FakeReply, FakeServer};
    use bootforge::calls::Backend;
    use bootforge::campaign::config::CampaignConfig;
    let latency = Duration::from_millis(200);
    let code = format!("```python\n{}```\n", bench_bootcamp());
    let server = FakeServer::start(move |req| {
        let reply = if req.prompt.starts_with("You write bootcamps") {
            FakeReply::answer(format!("Here it is.\n{code}"))
        } else {
            FakeReply::answer("[answer]0[/answer]")
        };
        FakeReply::Delay(latency, Box::new(reply))
    })?;
    let concurrency = 64;
    let drafts_per_task = 4;
    let solver_cases = 10;
    let mut config = CampaignConfig {
        name: "bench".into(),
        task_concurrency: tasks,
        ..CampaignConfig::default()
    };
    for role in [&mut config.author, &mut config.solver] {
        role.concurrency = concurrency;
        role.timeout_s = 30.0;
    }
    config.author.model = "bench-author".into();
    config.solver.model = "bench-solver".into();
    config.evolution.drafts_per_task = drafts_per_task;
    config.evolution.max_generations = 1;
    config.selftest.cases = 10;
    config.selftest.solver_cases = solver_cases;
    // A solver that is never right must not send every task to a second
    // generation: the band admits it, so each task is one generation.
    config.selftest.accuracy_min = 0.0;
    let endpoint = |model: &str| {
        let mut e = bootforge::llm::EndpointConfig::new(server.base_url(), model);
        e.concurrency = concurrency;
        Backend::Live(std::sync::Arc::new(
            bootforge::llm::openai::OpenAiModel::new(e),
        ))
    };
    let tasks_list: Vec<bootforge::campaign::tasks::Task> = (0..tasks)
        .map(|i| bootforge::campaign::tasks::Task {
            id: format!("task-{i:03}"),
            description: format!("Merge intervals, variant {i}."),
            title: None,
            examples: None,
            reference_solution: None,
            tags: vec![],
        })
        .collect();
    let dir = tempfile::tempdir()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let jobs = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    let sandbox = open(cache_dir, jobs)?;
    let (outcome, wall, rows) = runtime.block_on(async {
        let store = bootforge::store::Store::open(&dir.path().join("bench.db")).await?;
        let engines = bootforge::campaign::Engines {
            store: store.clone(),
            sandbox,
            author: endpoint("bench-author"),
            solver: endpoint("bench-solver"),
            recorder: None,
            progress: None,
        };
        let started = Instant::now();
        let outcome = bootforge::campaign::start(engines, config, None, tasks_list).await?;
        let wall = started.elapsed().as_secs_f64();
        let rows: i64 = store.table_counts().await?.iter().map(|t| t.rows).sum();
        Ok::<_, anyhow::Error>((outcome, wall, rows))
    })?;
    let requests = server.requests();
    let author_calls = requests
        .iter()
        .filter(|r| r.body["model"] == "bench-author")
        .count();
    let solver_calls = requests.len() - author_calls;
    let waves = |calls: usize| (calls as f64 / concurrency as f64).ceil();
    let lat = latency.as_secs_f64();
    let ideal = waves(author_calls).max(waves(solver_calls)) * lat + 2.0 * lat;
    Ok(CampaignBench {
        tasks,
        drafts_per_task,
        solver_cases,
        concurrency,
        server_latency_ms: ms(latency),
        wall_s: wall,
        ideal_s: ideal,
        ratio_to_ideal: wall / ideal,
        author_calls,
        solver_calls,
        accepted: outcome
            .tasks
            .iter()
            .filter(|t| t.status == bootforge::campaign::status::TaskStatus::Accepted)
            .count(),
        peak_rss_mib: peak_rss_mib(),
        rows_written: rows,
        rows_per_s: rows as f64 / wall,
        target_ratio: 1.15,
    })
}

#[derive(Debug, Serialize)]
pub struct GenerateBench {
    pub cases: u64,
    pub written: u64,
    pub duplicates: u64,
    pub one_job_s: f64,
    pub one_job_cases_per_s: f64,
    pub two_jobs_s: f64,
    pub two_jobs_cases_per_s: f64,
    /// The same records whatever the number of jobs.
    pub identical: bool,
    pub native_python: Option<String>,
    pub native_s: Option<f64>,
    pub native_cases_per_s: Option<f64>,
    pub one_job_ratio: Option<f64>,
    pub two_jobs_ratio: Option<f64>,
    pub target_ratio: f64,
    /// Peak resident memory of this process (VmHWM), MiB.
    pub peak_rss_mib: f64,
}

fn bench_generate(cache_dir: &Path, cases: u64) -> Result<GenerateBench> {
    use bootforge::export::generate::{self, Format, GenerateRequest, Quiet};
    use sha2::{Digest, Sha256};
    let dir = tempfile::tempdir()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let mut runs = Vec::new();
    for jobs in [1usize, 2] {
        let sandbox = open(cache_dir, jobs)?;
        let out = dir.path().join(format!("jobs{jobs}.jsonl"));
        let request = GenerateRequest {
            filename: PUZZLE_FILE.into(),
            source: puzzle().into(),
            class: None,
            params: vec![Default::default()],
            n: cases,
            seed: 0,
            split: "train".into(),
            format: Format::Internbootcamp,
            parquet_like: Default::default(),
            jobs,
            out: out.clone(),
            limits: Default::default(),
        };
        let started = Instant::now();
        let report = runtime.block_on(generate::generate(&sandbox, &request, &Quiet))?;
        let elapsed = started.elapsed().as_secs_f64();
        if let Some(f) = &report.failure {
            bail!("generate failed at seed {}: {}", f.seed, f.error);
        }
        let digest = Sha256::digest(std::fs::read(&out)?);
        std::fs::remove_file(&out)?;
        runs.push((elapsed, report, digest));
    }
    let native = (|| -> Result<(f64, String)> {
        std::fs::write(dir.path().join("bootforge_base.py"), base())?;
        std::fs::write(dir.path().join("native_generate.py"), native_generate())?;
        std::fs::write(dir.path().join(PUZZLE_FILE), puzzle())?;
        let version = Command::new("python3").arg("--version").output()?;
        let out = Command::new("python3")
            .arg(dir.path().join("native_generate.py"))
            .arg(dir.path())
            .arg(dir.path().join(PUZZLE_FILE))
            .arg(cases.to_string())
            .arg("0")
            .arg(dir.path().join("native.jsonl"))
            .output()
            .context("running the native python3 generator")?;
        if !out.status.success() {
            bail!(
                "native python3 generator failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let result: serde_json::Value = serde_json::from_slice(&out.stdout)?;
        let us = result["elapsed_us"]
            .as_f64()
            .context("the native generator's time")?;
        Ok((
            us / 1e6,
            String::from_utf8_lossy(&version.stdout).trim().to_owned(),
        ))
    })();
    let (native_s, native_python) = match native {
        Ok((s, v)) => (Some(s), Some(v)),
        Err(err) => {
            eprintln!("warning: no native comparison: {err:#}");
            (None, None)
        }
    };
    let rate = |s: f64| cases as f64 / s.max(1e-9);
    let native_rate = native_s.map(rate);
    let (one, two) = (&runs[0], &runs[1]);
    Ok(GenerateBench {
        cases,
        written: two.1.written,
        duplicates: two.1.duplicates,
        one_job_s: one.0,
        one_job_cases_per_s: rate(one.0),
        two_jobs_s: two.0,
        two_jobs_cases_per_s: rate(two.0),
        identical: one.2 == two.2,
        native_python,
        native_s,
        native_cases_per_s: native_rate,
        one_job_ratio: native_rate.map(|n| rate(one.0) / n),
        two_jobs_ratio: native_rate.map(|n| rate(two.0) / n),
        target_ratio: 0.8,
        peak_rss_mib: peak_rss_mib(),
    })
}

/// Run the benchmarks (`only` one of [`NAMES`], or all). `quick` runs few
/// iterations (a smoke test).
pub fn run(cache_dir: &Path, quick: bool, only: Option<&str>) -> Result<BenchReport> {
    if let Some(name) = only
        && !NAMES.contains(&name)
    {
        bail!(
            "no benchmark named {name:?}; the benchmarks are: {}",
            NAMES.join(", ")
        );
    }
    let want = |name: &str| only.is_none_or(|o| o == name);
    let mut report = BenchReport {
        quick,
        ..BenchReport::default()
    };
    if only == Some("calibrate") {
        // Pure simulation: no sandbox to open.
        report.calibrate = Some(calibrate::bench_calibrate(quick));
        return Ok(report);
    }
    if want("calibrate") {
        report.calibrate = Some(calibrate::bench_calibrate(quick));
    }
    if want("hostile_llm") {
        // No sandbox either: the LLM client against hostile endpoints.
        eprintln!("bench: hostile OpenAI endpoints against the client's caps...");
        report.hostile_llm = Some(hostile::bench(quick)?);
        if only.is_some() {
            return Ok(report);
        }
    }
    if want("compile") {
        eprintln!("bench: compiling the component into an empty cache...");
        report.compile = Some(bench_compile()?);
    }
    if want("campcal") {
        eprintln!("bench: author calls per accepted bootcamp, with and without calibration...");
        report.campcal = Some(campcal::bench(cache_dir, quick)?);
    }
    let sandbox = open(cache_dir, 1)?;
    if want("cold_start") {
        eprintln!("bench: cold start...");
        report.cold_start = Some(bench_cold_start(&sandbox, if quick { 5 } else { 50 })?);
    }
    if want("throughput") {
        eprintln!("bench: throughput against native python3...");
        report.throughput = Some(bench_throughput(&sandbox, if quick { 100 } else { 2000 })?);
    }
    if want("workers") {
        eprintln!("bench: 1 worker against 2...");
        report.workers = Some(if quick {
            bench_workers(cache_dir, 2, 20)?
        } else {
            bench_workers(cache_dir, 8, 250)?
        });
    }
    if want("audit") {
        eprintln!("bench: audit of a generated corpus...");
        report.audit = Some(bench_audit(cache_dir, if quick { 16 } else { 1000 })?);
    }
    if want("audit_speed") {
        eprintln!("bench: audit of a library with heavy files...");
        report.audit_speed = Some(audit_speed::bench_audit_speed(cache_dir, quick)?);
    }
    if want("solver") {
        eprintln!("bench: solver client overhead...");
        report.solver = Some(bench_solver(if quick { 128 } else { 1280 })?);
    }
    if want("campaign") {
        eprintln!("bench: a campaign against a fake server answering after 200 ms...");
        report.campaign = Some(bench_campaign(cache_dir, if quick { 4 } else { 200 })?);
    }
    if want("fleet") {
        eprintln!(
            "bench: a campaign against a fleet of 100/200/400 ms endpoints, then with one killed..."
        );
        report.fleet = Some(fleet::bench(cache_dir, if quick { 4 } else { 100 })?);
    }
    if want("memory") {
        eprintln!("bench: host memory of checks of hostile bootcamps...");
        report.memory = Some(bench_memory(cache_dir, quick)?);
    }
    if want("generate") {
        eprintln!("bench: generate against native python3...");
        report.generate = Some(bench_generate(
            cache_dir,
            if quick { 2_000 } else { 100_000 },
        )?);
    }
    if want("serve") {
        eprintln!("bench: bootforge serve over a queue of review items...");
        report.serve = Some(if quick {
            serve::bench_serve(cache_dir, 500, 20)?
        } else {
            serve::bench_serve(cache_dir, 10_000, 200)?
        });
    }
    if want("reward") {
        eprintln!("bench: reward serve against native verify_score in python3...");
        report.reward = Some(reward::bench_reward(cache_dir, quick)?);
    }
    if want("eval") {
        eprintln!("bench: eval against an instant model, against scoring alone...");
        report.eval = Some(eval::bench_eval(cache_dir, quick)?);
    }
    if want("sympy") {
        eprintln!("bench: the sympy component against the base one...");
        report.sympy = Some(sympy::bench_sympy(cache_dir, quick)?);
    }
    if want("levers") {
        eprintln!(
            "bench: the sandbox's batching lever, against one call per case and native python3..."
        );
        report.levers = Some(levers::bench_levers(cache_dir, quick)?);
    }
    Ok(report)
}

impl BenchReport {
    /// The human table.
    pub fn render(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if let Some(l) = &self.levers {
            l.render(&mut lines);
        }
        if let Some(c) = &self.calibrate {
            for r in &c.curves {
                lines.push(format!(
                    "calibrate    curve half-point {:>3}: search {:.0} solver calls (met {}/{}, true error {:.3}), grid {:.0} (met {}/{}, true error {:.3}): {:.2}x fewer",
                    r.half, r.search_calls, r.search_met, r.runs, r.search_true_error,
                    r.grid_calls, r.grid_met, r.runs, r.grid_true_error,
                    r.grid_calls / r.search_calls.max(1.0)
                ));
            }
        }
        if let Some(c) = &self.campcal {
            for r in [&c.with_calibration, &c.without_calibration] {
                lines.push(format!(
                    "campcal      calibrate = {:<5}: {}/{} accepted, {:.2} author calls and {:.0} solver calls per accepted bootcamp ({:.0} s)",
                    r.calibrate, r.accepted, r.tasks, r.author_calls_per_accepted,
                    r.solver_calls_per_accepted, r.wall_s
                ));
            }
            lines.push(format!(
                "campcal      author calls per accepted bootcamp: {:.2}x fewer with calibration",
                c.author_ratio
            ));
        }
        if let Some(s) = &self.sympy {
            lines.extend(s.render());
        }
        if let Some(e) = &self.eval {
            lines.push(format!(
                "eval         {} records against an instant model, {} workers: {:.0} ms; scoring them alone {:.0} ms: {:.2}x; the calls alone {:.0} ms; accuracy {:.3}; peak RSS {:.0} MiB",
                e.records, e.workers, e.eval_ms, e.scoring_alone_ms, e.ratio, e.calls_alone_ms, e.accuracy, e.peak_rss_mib
            ));
        }
        if let Some(r) = &self.reward {
            for c in &r.cases {
                lines.push(format!(
                    "reward       {}: {} batches of {} over HTTP, {} workers: {:.0} scores/s ({:.0}/s per core); native python3 {:.0}/s: {:.2} of native per core{}; batch p50 {:.0} ms, p99 {:.0} ms{}",
                    c.verifier, c.batches, c.batch_size, c.workers, c.service_scores_per_s, c.service_scores_per_s_per_core,
                    c.native_scores_per_s, c.ratio_per_core,
                    if c.verifier.contains("cheap") { format!(" (target >= {})", r.target_ratio_cheap) } else { String::new() },
                    c.p50_batch_ms, c.p99_batch_ms,
                    if c.same_scores { "; same scores" } else { "; SCORES DIFFER from native" }
                ));
            }
            lines.push(format!(
                "reward       a batch of {} items over {} bootcamps: {:.0} ms first, {:.0} ms again; service RSS {:.0} MiB at start, {:.0} MiB after",
                r.spread_items, r.warm_bootcamps, r.spread_first_ms, r.spread_again_ms, r.rss_start_mib, r.rss_warm_mib
            ));
        }
        if let Some(c) = &self.compile {
            lines.push(format!(
                "compile      first compile {:.0} ms; load from cache {:.1} ms ({} MB compressed component, {} MB artifact)",
                c.compile_ms,
                c.cache_load_ms,
                c.component_compressed_bytes / 1_000_000,
                c.artifact_bytes / 1_000_000
            ));
        }
        if let Some(c) = &self.cold_start {
            lines.push(format!(
                "cold start   median {:.2} ms, p90 {:.2} ms (instantiate {:.2} ms + load {:.2} ms; {:.2} ms through the pool) over {} runs; target <= {} ms",
                c.median_ms, c.p90_ms, c.instantiate_median_ms, c.load_median_ms, c.end_to_end_median_ms, c.runs, c.target_ms
            ));
        }
        if let Some(t) = &self.throughput {
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
        }
        if let Some(w) = &self.workers {
            lines.push(format!(
                "workers      {} runs x {} cases: 1 worker {:.0} cases/s, 2 workers {:.0} cases/s ({:.2}x)",
                w.runs, w.cases_per_run, w.one_worker_cases_per_s, w.two_workers_cases_per_s, w.speedup
            ));
        }
        if let Some(a) = &self.audit {
            lines.push(format!(
                "audit        {} files x {} cases, {} jobs: {:.1} s ({:.1} files/s, {:.1} per core; {} pass, {} fail); target < {} s",
                a.files, a.cases_per_file, a.jobs, a.wall_s, a.files_per_s, a.files_per_s_per_core, a.passed, a.failed, a.target_s
            ));
        }
        if let Some(a) = &self.audit_speed {
            lines.push(a.render());
        }
        if let Some(s) = &self.solver {
            lines.push(format!(
                "solver       {} calls at concurrency {} against {} ms server latency: wall {:.0} ms (ideal {:.0} ms), per call mean {:.1} ms, p99 {:.1} ms: overhead {:.2} ms per call",
                s.calls, s.concurrency, s.server_latency_ms, s.wall_ms, s.ideal_wall_ms, s.mean_call_ms, s.p99_call_ms, s.mean_overhead_ms
            ));
        }
        if let Some(c) = &self.campaign {
            lines.push(format!(
                "campaign     {} tasks x {} drafts ({} author + {} solver calls, {} ms latency, concurrency {}): {:.1} s against an ideal {:.1} s ({:.2}x; target <= {}); peak RSS {:.0} MiB; {} rows, {:.0} rows/s; {} accepted",
                c.tasks, c.drafts_per_task, c.author_calls, c.solver_calls, c.server_latency_ms, c.concurrency, c.wall_s, c.ideal_s, c.ratio_to_ideal, c.target_ratio, c.peak_rss_mib, c.rows_written, c.rows_per_s, c.accepted
            ));
        }
        if let Some(f) = &self.fleet {
            for (what, r) in [("all up", &f.all_up), ("one killed", &f.one_killed)] {
                lines.push(format!(
                    "fleet        {} tasks, endpoints {:?} ms x concurrency {}, {what}: {:.1} s against an ideal {:.1} s ({:.2}x); {} author + {} solver calls, requests per endpoint {:?}; {} accepted ({})",
                    f.tasks, f.latencies_ms, f.concurrency, r.wall_s, r.ideal_s, r.ratio_to_ideal, r.author_calls, r.solver_calls, r.requests, r.accepted, r.status
                ));
            }
            for (what, r) in [
                ("all up", &f.calls_all_up),
                ("one killed", &f.calls_one_killed),
            ] {
                lines.push(format!(
                    "fleet        the same {} calls straight through the fleet, {what}: {:.1} s against an ideal {:.1} s ({:.2}x); requests per endpoint {:?}",
                    r.calls, r.wall_s, r.ideal_s, r.ratio_to_ideal, r.requests
                ));
            }
        }
        if let Some(g) = &self.generate {
            lines.push(format!(
                "generate     {} cases: 1 job {:.0}/s, 2 jobs {:.0}/s{}; native {} one process {}: 1 job at {}, 2 jobs at {} of native; target >= {}; same output with 1 and 2 jobs: {}; peak RSS {:.0} MiB",
                g.cases,
                g.one_job_cases_per_s,
                g.two_jobs_cases_per_s,
                format_args!(" ({} written, {} duplicate prompts)", g.written, g.duplicates),
                g.native_python.as_deref().unwrap_or("python3"),
                g.native_cases_per_s.map(|n| format!("{n:.0}/s")).unwrap_or_else(|| "unavailable".into()),
                g.one_job_ratio.map(|r| format!("{r:.2}")).unwrap_or_else(|| "-".into()),
                g.two_jobs_ratio.map(|r| format!("{r:.2}")).unwrap_or_else(|| "-".into()),
                g.target_ratio,
                g.identical,
                g.peak_rss_mib
            ));
        }
        for m in self.memory.iter().flatten() {
            lines.push(format!(
                "memory       {:<28} peak RSS {:>5.0} MiB, target <= {:.0} MiB ({}); check exit {}, {:.1} s [{}]",
                m.name,
                m.peak_rss_mib,
                m.target_mib,
                if m.within_target { "met" } else { "MISSED" },
                m.exit_code,
                m.wall_s,
                m.args.trim()
            ));
        }
        if let Some(s) = &self.serve {
            lines.push(format!(
                "serve        {} items, {} requests each: queue page median {:.1} ms, p99 {:.1} ms; item page median {:.1} ms, p99 {:.1} ms; RSS at rest {:.0} MiB after start, {:.0} MiB after the requests",
                s.items, s.requests, s.queue_median_ms, s.queue_p99_ms, s.item_median_ms, s.item_p99_ms, s.rss_start_mib, s.rss_after_mib
            ));
        }
        if let Some(h) = &self.hostile_llm {
            h.render(&mut lines);
        }
        lines
    }
}
