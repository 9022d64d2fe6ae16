//! The sandbox: runs one bootcamp file in CPython compiled to a WebAssembly
//! component, under wasmtime. Nothing else in bootforge touches wasmtime.
//!
//! One [`Sandbox`] per process holds the engine and the pre-instantiated
//! component (and, set up when a bootcamp that imports sympy first runs, a
//! second component with sympy: see the private `variant` module). Every run gets a fresh store and instance (so nothing a bootcamp
//! does survives into the next run; a [`RunSpec::keep_warm`] run may instead
//! reuse a loaded instance of the same bootcamp, kept by its worker) with a
//! memory cap, a budget per guest
//! call counted in the CPU time of the thread running it, with a wall-clock
//! ceiling as a backstop (see the private `budget` module: epoch
//! interruption for running code, a timer for code blocked in the host),
//! capped stdout/stderr, and the isolation described in
//! the private `host` module (the per-run host state). Runs execute on a
//! bounded pool of worker threads, never on the caller's async runtime.
//!
//! A run is: instantiate, `load` (execute the file, choose the class,
//! instantiate it with the params), then the requested [`Call`]s in order.
//! Consecutive cases (and consecutive scorings) go to the guest in batches
//! of [`RunSpec::case_batch`], one guest call each, with a budget, caps and
//! a verdict per case as if each were a call of its own (the private `batch`
//! module).
//! The first failure ends the run; every result before it is kept. The host
//! classifies every failure into an [`ErrorKind`] from typed evidence (trap
//! codes, the limiter, the output caps, the deadline), never from text the
//! guest printed.

mod batch;
mod budget;
mod engine;
mod host;
mod pool;
pub mod protocol;
mod variant;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use serde::Serialize;
use wasmtime::component::{Component, Linker, WasmList};
use wasmtime::{AsContext, Engine, Store, Trap, UpdateDeadline};

pub use batch::DEFAULT_CASE_BATCH;
pub use budget::{BudgetClock, BudgetKind, BudgetUse, WALL_CEILING_FACTOR};
pub use engine::{ComponentSource, cache_key, component_digest, decompress_component};
pub use pool::next_ticket;
pub use protocol::{
    Call, CallResult, CaseResult, ClassInfo, ErrorKind, Inspection, Loaded, MethodInfo, RunError,
    ScoreResult, ScoresResult, Stage, SyntaxProblem,
};
pub use variant::{VariantInfo, needs_sympy};

use host::{GuestReply, HostState};

// The generated export wrappers take one argument per WIT parameter (plus the
// store): `load` has more than clippy's default of seven.
#[allow(clippy::too_many_arguments)]
mod bindings {
    wasmtime::component::bindgen!({
        world: "harness",
        path: "sandbox/wit",
        exports: { default: async },
    });
}

/// The sandbox's speed running Python as a fraction of native CPython's
/// (the same version's `python3` on the same machine), approximate: the
/// Latin-square loop of `bench --only levers` (generate, prompt, verify per
/// case; call-heavy Python), median of alternating rounds. Messages use it
/// to translate sandbox time into what an author measures natively.
pub const NATIVE_SPEED: f64 = 0.4;

/// Resource limits of one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Limits {
    /// The budget of each guest call (instantiation, loading the file, each
    /// case, each scoring): CPU time of the thread running the guest.
    pub timeout: Duration,
    /// The wall-clock ceiling of each guest call, the backstop for a guest
    /// that waits instead of computing; `None`: [`WALL_CEILING_FACTOR`]
    /// times `timeout`.
    pub wall_timeout: Option<Duration>,
    /// Linear memory cap.
    pub memory_bytes: usize,
    /// How much a run may print to stdout and stderr (each).
    pub output_bytes: usize,
    /// The largest case (as JSON) and the largest prompt the host accepts,
    /// in bytes, checked on what it receives (the guest's own check is
    /// advisory: bootcamp code can change it).
    pub case_bytes: usize,
}

impl Limits {
    /// The wall-clock time after which a call is stopped whatever its CPU
    /// time (never below the budget itself).
    pub fn wall_ceiling(&self) -> Duration {
        self.wall_timeout
            .unwrap_or_else(|| self.timeout.saturating_mul(WALL_CEILING_FACTOR))
            .max(self.timeout)
    }

    /// The largest reply the host copies out of guest memory for one call:
    /// a case and its prompt, each JSON-escaped (at most doubling them), and
    /// room for captured output and an error's traceback.
    pub fn reply_bytes(&self) -> usize {
        self.case_bytes.saturating_mul(4).saturating_add(1 << 20)
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout: Duration::from_secs(10),
            wall_timeout: None,
            memory_bytes: 1 << 30,
            output_bytes: 1 << 20,
            case_bytes: protocol::DEFAULT_CASE_BYTES,
        }
    }
}

/// Calls decided from the results so far (and the [`RunProgress`]): after
/// the run's calls (and each batch this returns) succeed, it is asked for the
/// next batch; an empty batch ends the run. It runs on the sandbox worker,
/// between guest calls, so it must be quick host logic: it lets a check do
/// in one instance what would otherwise take several (each instantiation
/// costs a few milliseconds, most of them in the kernel).
#[derive(Clone)]
pub struct FollowUp(Arc<std::sync::Mutex<FollowUpFn>>);

/// The decision function inside a [`FollowUp`].
type FollowUpFn = dyn FnMut(&[CallResult], &RunProgress) -> Vec<Call> + Send;

impl FollowUp {
    pub fn new(f: impl FnMut(&[CallResult], &RunProgress) -> Vec<Call> + Send + 'static) -> Self {
        FollowUp(Arc::new(std::sync::Mutex::new(f)))
    }

    fn next(&self, results: &[CallResult], progress: &RunProgress) -> Vec<Call> {
        let mut f = self.0.lock().unwrap_or_else(|p| p.into_inner());
        f(results, progress)
    }
}

/// How far a run has come, for a [`FollowUp`].
#[derive(Debug, Clone, Default)]
pub struct RunProgress {
    /// CPU time the run's calls (after loading) have used so far: a budget
    /// on it does not depend on how busy the machine is.
    pub calls_cpu: Duration,
}

impl std::fmt::Debug for FollowUp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FollowUp")
    }
}

/// What to run: one bootcamp file, its class and params, and the calls.
#[derive(Debug, Clone)]
pub struct RunSpec {
    /// The name tracebacks show for the file.
    pub filename: String,
    pub source: String,
    /// The class to run; by default the file's only bootcamp class (or the
    /// only one no other class derives from).
    pub class: Option<String>,
    /// Keyword arguments of the class's `__init__`.
    pub params: serde_json::Map<String, serde_json::Value>,
    /// Keyword arguments of `verify_score` (`format_score`, `short_penalty`,
    /// `short_threshold`, `ans_threshold`, `format_penalty`).
    pub score_flags: serde_json::Map<String, serde_json::Value>,
    pub calls: Vec<Call>,
    pub limits: Limits,
    /// Mixed into the OS random source and the clock (never into the seed of
    /// the global `random`): a run with another salt shows whether cases
    /// depend on entropy other than their seed.
    pub entropy_salt: u64,
    /// Read the syntax tree (into [`RunReport::inspection`]), then run as
    /// usual in the same instance.
    pub inspect_first: bool,
    /// Queue position: lower runs first, then arrival order (`None`: arrival
    /// order). Related runs share a ticket from [`next_ticket`].
    pub priority: Option<u64>,
    /// More calls decided from the results, in the same instance.
    pub follow_up: Option<FollowUp>,
    /// When positive: keep the loaded instance on its worker after a run
    /// without failure (the worker keeping at most this many, least
    /// recently used dropped first), and start from such an instance of the
    /// same file, class, params and limits when the worker has one
    /// (skipping instantiation and loading). The bootcamp's Python state
    /// (globals, `random`, what it printed towards the guest's output cap)
    /// then carries over between runs: only for callers that score with a
    /// loaded bootcamp many times. Each kept instance holds the pages its
    /// runs touched (100 bootcamps kept on 2 workers: 311 MiB resident).
    pub keep_warm: usize,
    /// The most consecutive cases (with the same answer), or consecutive
    /// [`Call::Score`]s, run in one guest call; each still has its own
    /// budget, caps and verdict, and gives the same result as a call of its
    /// own. 1: one call each.
    pub case_batch: usize,
}

impl RunSpec {
    pub fn new(filename: impl Into<String>, source: impl Into<String>) -> Self {
        RunSpec {
            filename: filename.into(),
            source: source.into(),
            class: None,
            params: Default::default(),
            score_flags: Default::default(),
            calls: Vec::new(),
            limits: Limits::default(),
            entropy_salt: 0,
            inspect_first: false,
            priority: None,
            follow_up: None,
            keep_warm: 0,
            case_batch: DEFAULT_CASE_BATCH,
        }
    }

    /// Add one case call per seed in `seeds`, each scoring `answer` if given.
    pub fn cases(mut self, seeds: impl IntoIterator<Item = u64>, answer: Option<&str>) -> Self {
        self.calls.extend(seeds.into_iter().map(|seed| Call::Case {
            seed,
            answer: answer.map(str::to_owned),
        }));
        self
    }
}

/// Time spent in each part of a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Timings {
    pub instantiate_us: u64,
    pub load_us: u64,
    pub calls_us: u64,
    pub total_us: u64,
    /// CPU time of the calls after loading (`calls_us` is wall time).
    pub calls_cpu_us: u64,
}

/// The CPU time the guest calls of one sandbox stage used.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageCpu {
    pub stage: Stage,
    pub calls: u32,
    /// The most CPU time one call used, µs (a call stopped by its budget
    /// counts with what it used until then).
    pub max_cpu_us: u64,
    pub total_cpu_us: u64,
}

/// Add one call's CPU time to the per-stage figures.
pub fn add_stage_cpu(
    stages: &mut Vec<StageCpu>,
    stage: Stage,
    calls: u32,
    max_us: u64,
    total_us: u64,
) {
    match stages.iter_mut().find(|s| s.stage == stage) {
        Some(s) => {
            s.calls += calls;
            s.max_cpu_us = s.max_cpu_us.max(max_us);
            s.total_cpu_us = s.total_cpu_us.saturating_add(total_us);
        }
        None => stages.push(StageCpu {
            stage,
            calls,
            max_cpu_us: max_us,
            total_cpu_us: total_us,
        }),
    }
}

/// Everything a run produced.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunReport {
    /// The class that ran and every bootcamp class in the file (when loading
    /// got that far).
    pub loaded: Option<Loaded>,
    /// One result per call that succeeded, in order.
    pub results: Vec<CallResult>,
    /// The failure that ended the run, if any.
    pub error: Option<RunError>,
    /// Static facts, for an `inspect_first` run.
    pub inspection: Option<Inspection>,
    /// stdout/stderr the guest wrote outside Python's `sys.stdout` (clipped).
    pub raw_stdout: String,
    pub raw_stderr: String,
    /// Peak linear memory, bytes.
    pub peak_memory: usize,
    pub timings: Timings,
    /// CPU time per sandbox stage, in the order the stages first ran.
    pub cpu: Vec<StageCpu>,
}

impl RunReport {
    pub fn cases(&self) -> impl Iterator<Item = &CaseResult> {
        self.results.iter().filter_map(|r| match r {
            CallResult::Case(c) => Some(c),
            CallResult::Score(_) | CallResult::Scores(_) | CallResult::Reference { .. } => None,
        })
    }
}

/// How the sandbox is set up.
#[derive(Debug, Clone)]
pub struct SandboxOptions {
    /// Where the compiled component is cached.
    pub cache_dir: PathBuf,
    /// Worker threads running guests (default: the number of cores).
    pub workers: usize,
}

impl SandboxOptions {
    pub fn new(cache_dir: PathBuf) -> Self {
        let workers = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        SandboxOptions { cache_dir, workers }
    }
}

/// The default cache directory: the user cache directory's `bootforge`.
pub fn default_cache_dir() -> PathBuf {
    dirs::cache_dir()
        .unwrap_or_else(std::env::temp_dir)
        .join("bootforge")
}

pub(crate) struct Shared {
    engine: Engine,
    pre: bindings::HarnessPre<HostState>,
    /// For the sympy component, pre-instantiated on demand.
    linker: Linker<HostState>,
    sympy: variant::LazyComponent,
    _ticker: Arc<std::thread::JoinHandle<()>>,
    /// Marshalled code objects by SHA-256 of (file name, source): CPython
    /// compiling a 200-line bootcamp is most of a cold start, and a check
    /// loads the same file in several fresh instances. The bytes come from
    /// the harness's `compile`, called before any bootcamp code ran in that
    /// instance, so a bootcamp cannot plant code for later runs.
    code_cache: std::sync::Mutex<CodeCache>,
}

/// The per-process cache of compiled bootcamp code, bounded in bytes so that
/// the host's memory does not follow what guests compile to.
#[derive(Default)]
struct CodeCache {
    entries: std::collections::HashMap<[u8; 32], Arc<Vec<u8>>>,
    bytes: usize,
}

impl CodeCache {
    fn get(&self, key: &[u8; 32]) -> Option<Arc<Vec<u8>>> {
        self.entries.get(key).cloned()
    }

    /// Keep `code` unless it is too large; empty the cache when it is full
    /// (a crude but bounded policy: a refill costs one compile per file).
    fn insert(&mut self, key: [u8; 32], code: Arc<Vec<u8>>) {
        if code.len() > CODE_CACHE_MAX_BYTES {
            return;
        }
        if self.bytes + code.len() > CODE_CACHE_TOTAL_BYTES {
            self.entries.clear();
            self.bytes = 0;
        }
        self.bytes += code.len();
        if let Some(old) = self.entries.insert(key, code) {
            self.bytes -= old.len();
        }
    }
}

/// The largest compiled file kept.
const CODE_CACHE_MAX_BYTES: usize = 4 << 20;
/// All compiled files kept, in bytes (a 200-line bootcamp is ~10 KB).
const CODE_CACHE_TOTAL_BYTES: usize = 64 << 20;

fn code_key(filename: &str, source: &str) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut digest = Sha256::new();
    digest.update(filename.as_bytes());
    digest.update([0]);
    digest.update(source.as_bytes());
    digest.finalize().into()
}

/// The process's sandbox: engine, pre-instantiated component, worker pool.
/// Cheap to clone.
#[derive(Clone)]
pub struct Sandbox {
    pool: Arc<pool::Pool>,
    source: ComponentSource,
    shared: Arc<Shared>,
}

impl Sandbox {
    /// Set up the engine and load (or compile and cache) the component. This
    /// blocks for the seconds a first compile takes; call it off the async
    /// runtime (`spawn_blocking`) where that matters.
    pub fn open(options: &SandboxOptions) -> Result<Sandbox> {
        let engine = engine::engine()?;
        let (component, source) = engine::load_component(&engine, &options.cache_dir)?;
        Self::from_component(engine, component, source, options)
    }

    fn from_component(
        engine: Engine,
        component: Component,
        source: ComponentSource,
        options: &SandboxOptions,
    ) -> Result<Sandbox> {
        let workers = options.workers;
        let mut linker = Linker::<HostState>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(anyhow::Error::from)?;
        // The harness's `reply` import, by hand rather than through the
        // generated bindings: taking the bytes as a `WasmList` (a view into
        // guest memory) lets the host refuse an oversized reply before
        // copying a byte of it.
        linker
            .root()
            .func_wrap(
                "reply",
                |mut cx: wasmtime::StoreContextMut<'_, HostState>, (text,): (WasmList<u8>,)| {
                    let cap = cx.data().reply_cap;
                    let reply = if text.len() > cap {
                        GuestReply::TooLarge(text.len())
                    } else {
                        match std::str::from_utf8(text.as_le_slice(cx.as_context())) {
                            Ok(text) => GuestReply::Text(text.to_owned()),
                            Err(_) => GuestReply::Invalid,
                        }
                    };
                    let state = cx.data_mut();
                    if state.batch.is_none() {
                        state.reply = reply;
                    } else if batch::receive(state, reply) == Some(true) {
                        // The next step of a batch starts now, with a
                        // deadline of its own.
                        cx.set_epoch_deadline(1);
                    }
                    Ok(())
                },
            )
            .map_err(anyhow::Error::from)?;
        let instance_pre = linker
            .instantiate_pre(&component)
            .map_err(anyhow::Error::from)?;
        let pre = bindings::HarnessPre::new(instance_pre).map_err(anyhow::Error::from)?;
        let ticker = engine::start_epoch_ticker(&engine);
        let shared = Arc::new(Shared {
            engine,
            pre,
            linker,
            sympy: variant::LazyComponent::new(options.cache_dir.clone()),
            _ticker: ticker,
            code_cache: Default::default(),
        });
        let pool = Arc::new(pool::Pool::new(shared.clone(), workers.max(1)));
        Ok(Sandbox {
            pool,
            source,
            shared,
        })
    }

    /// Where the compiled component came from, and how long that took.
    pub fn component_source(&self) -> &ComponentSource {
        &self.source
    }

    /// The sympy component, without setting it up: what is embedded, where
    /// its compiled artifact is cached, and whether a run has needed it in
    /// this process yet.
    pub fn sympy_component(&self) -> VariantInfo {
        self.shared.sympy.info(&self.shared.engine)
    }

    /// The number of worker threads.
    pub fn workers(&self) -> usize {
        self.pool.workers()
    }

    /// Run `spec` on the worker pool.
    pub async fn run(&self, spec: RunSpec) -> RunReport {
        self.pool.submit(spec).await
    }

    /// Run `spec` on the worker pool, blocking the calling thread (not for use
    /// inside an async runtime).
    pub fn run_blocking(&self, spec: RunSpec) -> RunReport {
        self.pool.submit_blocking(spec)
    }
}

/// A timeout raised by the epoch callback, to tell it from other interrupts.
#[derive(Debug)]
struct DeadlinePassed(BudgetKind);

impl std::fmt::Display for DeadlinePassed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the call ran out of its budget")
    }
}

impl std::error::Error for DeadlinePassed {}

/// Extra time the host timer grants over the wall-clock ceiling, so code
/// that is running is stopped by the epoch (cleanly) and only code blocked in
/// a host call (a sleep) needs the timer.
const TIMER_GRACE: Duration = Duration::from_millis(50);

enum Outcome<T> {
    Done(T),
    Failed(RunError),
}

struct Runner<'a> {
    store: Store<HostState>,
    limits: &'a Limits,
    /// CPU time per sandbox stage.
    cpu: Vec<StageCpu>,
    /// CPU time of every call so far.
    cpu_total: Duration,
}

impl Runner<'_> {
    /// Await one guest call under the run's deadline and classify a failure.
    async fn guarded<T, F>(&mut self, stage: Stage, seed: u64, call: F) -> Outcome<T>
    where
        F: AsyncFnOnce(&mut Store<HostState>) -> wasmtime::Result<T>,
    {
        self.store.data_mut().reset_for_call(seed, self.limits);
        self.store.set_epoch_deadline(1);
        let timer = self.limits.wall_ceiling() + TIMER_GRACE;
        let result = tokio::time::timeout(timer, call(&mut self.store)).await;
        let outcome = match result {
            Ok(Ok(value)) => Outcome::Done(value),
            Ok(Err(err)) => Outcome::Failed(self.classify(stage, err)),
            Err(_elapsed) => Outcome::Failed(self.timeout_error(stage, BudgetKind::Wall)),
        };
        let (cpu, _wall) = self.store.data().budget.used();
        self.cpu_total += cpu;
        add_stage_cpu(&mut self.cpu, stage, 1, micros(cpu), micros(cpu));
        outcome
    }

    /// The reply a finished call sent through the `reply` import (capped in
    /// size before it was copied out of guest memory).
    fn reply(&mut self, stage: Stage, outcome: Outcome<()>) -> Outcome<String> {
        if let Outcome::Failed(err) = outcome {
            return Outcome::Failed(err);
        }
        let reply = std::mem::take(&mut self.store.data_mut().reply);
        match reply_text(stage, reply, self.limits) {
            Ok(text) => Outcome::Done(text),
            Err(err) => Outcome::Failed(err),
        }
    }

    /// Run `seeds` (each scored with `answer` when given) in one guest call,
    /// each case with its own budget (see the `batch` module). Returns the
    /// results in order up to the first failure, and that failure.
    async fn run_batch(
        &mut self,
        harness: &bindings::Harness,
        work: &batch::Work,
        flags: &str,
    ) -> (Vec<CallResult>, Option<RunError>) {
        let batch = batch::Batch::new(work, *self.limits);
        let step_started = batch.step_started.clone();
        self.store
            .data_mut()
            .reset_for_call(batch.first_seed(), self.limits);
        self.store.data_mut().batch = Some(batch);
        self.store.set_epoch_deadline(1);
        let timer = self.limits.wall_ceiling() + TIMER_GRACE;
        let result = {
            let call = async |store: &mut Store<HostState>| match work {
                batch::Work::Cases { seeds, answer } => {
                    harness
                        .call_run_cases(store, seeds, answer.as_deref(), flags)
                        .await
                }
                batch::Work::Scores { items } => harness.call_score_many(store, items, flags).await,
            };
            let call = call(&mut self.store);
            let mut call = std::pin::pin!(call);
            // The timer is per step: each reply moves the step's start on.
            loop {
                let started = *step_started.lock().unwrap_or_else(|p| p.into_inner());
                let deadline = tokio::time::Instant::from_std(started + timer);
                match tokio::time::timeout_at(deadline, &mut call).await {
                    Ok(result) => break Some(result),
                    Err(_elapsed) => {
                        let now = *step_started.lock().unwrap_or_else(|p| p.into_inner());
                        if now == started {
                            break None;
                        }
                    }
                }
            }
        };
        let batch = self
            .store
            .data_mut()
            .batch
            .take()
            .expect("the batch stays in the store during its call");
        let running = batch.running_stage();
        let mut results = Vec::with_capacity(batch.done.len());
        let scored = matches!(
            work,
            batch::Work::Cases {
                answer: Some(_),
                ..
            }
        );
        let mut held: Option<CaseResult> = None;
        let mut failure = None;
        for step in batch.done {
            let cpu = micros(step.cpu);
            self.cpu_total += step.cpu;
            add_stage_cpu(&mut self.cpu, step.stage, 1, cpu, cpu);
            if failure.is_some() {
                continue;
            }
            match step.result {
                Ok(batch::StepResult::Case(case)) if scored => held = Some(case),
                Ok(batch::StepResult::Case(case)) => results.push(CallResult::Case(case)),
                Ok(batch::StepResult::Score(s)) => match held.take() {
                    Some(mut case) => {
                        case.score = Some(s.score);
                        case.stdout.push_str(&s.stdout);
                        case.stderr.push_str(&s.stderr);
                        results.push(CallResult::Case(case));
                    }
                    None => results.push(CallResult::Score(s)),
                },
                Err(err) => failure = Some(err),
            }
        }
        // A step still pending after a failed one never ran (the guest
        // stops at a failure); one pending after answered steps was running
        // when the call ended, and that ended it.
        if let Some(stage) = running.filter(|_| failure.is_none()) {
            let (cpu, _wall) = self.store.data().budget.used();
            self.cpu_total += cpu;
            add_stage_cpu(&mut self.cpu, stage, 1, micros(cpu), micros(cpu));
            failure = Some(match result {
                None => self.timeout_error(stage, BudgetKind::Wall),
                Some(Err(err)) => self.classify(stage, err),
                Some(Ok(())) => match reply_text(stage, GuestReply::None, self.limits) {
                    Err(err) => err,
                    Ok(_) => RunError::new(ErrorKind::InvalidOutput, stage, "no reply"),
                },
            });
        }
        (results, failure)
    }

    /// A failure the guest reported can hide a limit the host saw: a write
    /// refused at the output cap surfaces in Python as an `OSError`.
    fn refine(&self, mut err: RunError) -> RunError {
        let state = self.store.data();
        if err.kind == ErrorKind::Exception && (state.stdout.exceeded() || state.stderr.exceeded())
        {
            err.kind = ErrorKind::OutputLimit;
            err.message = format!(
                "the bootcamp printed more than {} bytes ({})",
                self.limits.output_bytes, err.message
            );
        }
        err
    }

    fn timeout_error(&self, stage: Stage, ended_by: BudgetKind) -> RunError {
        let usage = self.store.data().budget.usage(ended_by);
        let message = match ended_by {
            BudgetKind::Cpu => format!(
                "the call used its {:.0} ms CPU budget ({:.0} ms of CPU time in {:.0} ms): an endless loop, \
                 or a computation too slow for the budget on any machine (raise --timeout-ms if it is meant to take this long)",
                usage.budget_ms, usage.cpu_ms, usage.wall_ms
            ),
            BudgetKind::Wall => format!(
                "the call was still not done at its {:.0} ms wall-clock ceiling, having used {:.0} ms of its {:.0} ms CPU budget: \
                 it waited instead of computing (a sleep), or the machine was overloaded (see --wall-timeout-ms)",
                usage.wall_ceiling_ms, usage.cpu_ms, usage.budget_ms
            ),
        };
        let mut error = RunError::new(ErrorKind::Timeout, stage, message);
        error.budget = Some(usage);
        error
    }

    fn classify(&self, stage: Stage, err: wasmtime::Error) -> RunError {
        let state = self.store.data();
        if let Some(DeadlinePassed(ended_by)) = err.downcast_ref::<DeadlinePassed>() {
            return self.timeout_error(stage, *ended_by);
        }
        if matches!(err.downcast_ref::<Trap>(), Some(Trap::Interrupt)) {
            return self.timeout_error(stage, BudgetKind::Wall);
        }
        if state.limiter.denied {
            return RunError::new(
                ErrorKind::Memory,
                stage,
                format!(
                    "the bootcamp needed more than the {} MiB memory cap",
                    self.limits.memory_bytes >> 20
                ),
            );
        }
        if state.stdout.exceeded() || state.stderr.exceeded() {
            return RunError::new(
                ErrorKind::OutputLimit,
                stage,
                format!(
                    "the bootcamp printed more than {} bytes",
                    self.limits.output_bytes
                ),
            );
        }
        if let Some(exit) = err.downcast_ref::<wasmtime_wasi::I32Exit>() {
            return RunError::new(
                ErrorKind::Trap,
                stage,
                format!(
                    "the bootcamp ended the interpreter (exit status {})",
                    exit.0
                ),
            );
        }
        let tail = stderr_tail(&state.stderr.text());
        let mut error = match err.downcast_ref::<Trap>() {
            Some(Trap::StackOverflow) => RunError::new(
                ErrorKind::Trap,
                stage,
                "wasm stack overflow: recursion too deep for the sandbox's stack",
            ),
            Some(trap) => RunError::new(ErrorKind::Trap, stage, format!("wasm trap: {trap}")),
            None => RunError::new(ErrorKind::Trap, stage, format!("the guest failed: {err}")),
        };
        if !tail.is_empty() {
            error.traceback = tail;
        }
        error
    }
}

/// The text of a call's reply, or why there is none to use.
pub(crate) fn reply_text(
    stage: Stage,
    reply: GuestReply,
    limits: &Limits,
) -> Result<String, RunError> {
    let invalid = |message: String| RunError::new(ErrorKind::InvalidOutput, stage, message);
    match reply {
        GuestReply::Text(text) => Ok(text),
        GuestReply::TooLarge(len) => Err(invalid(format!(
            "the bootcamp produced a result of {len} bytes, over the {} byte limit \
             (it follows the case limit: raise it with --max-case-bytes)",
            limits.reply_bytes()
        ))),
        GuestReply::Invalid => Err(invalid("the harness reply was not valid UTF-8".into())),
        GuestReply::None => Err(invalid(
            "the harness sent no reply; the bootcamp may have tampered with the sandbox".into(),
        )),
    }
}

fn stderr_tail(text: &str) -> String {
    const TAIL: usize = 4096;
    if text.len() <= TAIL {
        return text.to_owned();
    }
    let mut start = text.len() - TAIL;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    text[start..].to_owned()
}

fn options_json(limits: &Limits) -> String {
    serde_json::json!({ "output-limit": limits.output_bytes, "case-bytes": limits.case_bytes })
        .to_string()
}

/// A loaded instance kept on a worker for later runs of the same bootcamp.
pub(crate) struct WarmInstance {
    store: Store<HostState>,
    harness: bindings::Harness,
    loaded: Loaded,
}

/// A worker's kept instances, most recently used last.
#[derive(Default)]
pub(crate) struct WarmCache {
    entries: std::collections::VecDeque<([u8; 32], WarmInstance)>,
}

impl WarmCache {
    fn take(&mut self, key: &[u8; 32]) -> Option<WarmInstance> {
        let at = self.entries.iter().position(|(k, _)| k == key)?;
        self.entries.remove(at).map(|(_, w)| w)
    }

    fn put(&mut self, key: [u8; 32], warm: WarmInstance, cap: usize) {
        while !self.entries.is_empty() && self.entries.len() >= cap {
            self.entries.pop_front();
        }
        if cap > 0 {
            self.entries.push_back((key, warm));
        }
    }
}

/// What makes two runs able to share a loaded instance.
fn warm_key(spec: &RunSpec) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut digest = Sha256::new();
    for part in [
        spec.filename.as_str(),
        spec.source.as_str(),
        spec.class.as_deref().unwrap_or(""),
    ] {
        digest.update(part.len().to_le_bytes());
        digest.update(part.as_bytes());
    }
    digest.update(serde_json::Value::Object(spec.params.clone()).to_string());
    digest.update(format!("{:?}", spec.limits));
    digest.update(spec.entropy_salt.to_le_bytes());
    digest.finalize().into()
}

/// Execute one run in a fresh store, or in a kept-warm one for a
/// [`RunSpec::keep_warm`] run. Runs on a pool worker's runtime.
pub(crate) async fn execute(shared: &Shared, spec: RunSpec, warm: &mut WarmCache) -> RunReport {
    let started = Instant::now();
    let limits = spec.limits;
    let cap = spec.keep_warm;
    let key = (cap > 0 && !spec.inspect_first).then(|| warm_key(&spec));
    let mut report = RunReport {
        loaded: None,
        results: Vec::new(),
        error: None,
        inspection: None,
        raw_stdout: String::new(),
        raw_stderr: String::new(),
        peak_memory: 0,
        timings: Timings::default(),
        cpu: Vec::new(),
    };
    let kept = key.as_ref().and_then(|k| warm.take(k));
    let (mut runner, harness) = match kept {
        Some(kept) => {
            kept.store.data().stdout.reset();
            kept.store.data().stderr.reset();
            report.loaded = Some(kept.loaded);
            (
                Runner {
                    store: kept.store,
                    limits: &limits,
                    cpu: Vec::new(),
                    cpu_total: Duration::ZERO,
                },
                kept.harness,
            )
        }
        None => match cold_start(shared, &spec, &limits, &mut report).await {
            Ok(pair) => pair,
            Err(runner) => {
                let err = report.error.take();
                return finish(report, runner, err, started);
            }
        },
    };
    let result = run_calls(&mut runner, &harness, spec, &limits, &mut report).await;
    match (result, key) {
        (None, Some(key)) if report.loaded.is_some() => {
            let state = runner.store.data();
            report.raw_stdout = state.stdout.text();
            report.raw_stderr = state.stderr.text();
            report.peak_memory = state.limiter.peak;
            report.timings.total_us = micros(started.elapsed());
            report.cpu = runner.cpu.clone();
            let loaded = report.loaded.clone().expect("checked above");
            warm.put(
                key,
                WarmInstance {
                    store: runner.store,
                    harness,
                    loaded,
                },
                cap,
            );
            report
        }
        (failure, _) => finish(report, runner, failure, started),
    }
}

/// Instantiate and load `spec`'s bootcamp in a fresh store. On failure the
/// error is in `report.error` and the runner is returned for [`finish`].
async fn cold_start<'a>(
    shared: &Shared,
    spec: &RunSpec,
    limits: &'a Limits,
    report: &mut RunReport,
) -> Result<(Runner<'a>, bindings::Harness), Runner<'a>> {
    // The runner borrows the caller's limits; the code below reads a copy.
    let limits_ref = limits;
    let limits = *limits;
    let state = HostState::new(
        limits.memory_bytes,
        limits.output_bytes,
        limits.reply_bytes(),
        spec.entropy_salt,
    );
    let mut store = Store::new(&shared.engine, state);
    store.limiter(|s| &mut s.limiter);
    // Runs on the thread executing the guest, so the budget reads that
    // thread's CPU clock.
    store.epoch_deadline_callback(|ctx| match ctx.data().budget.check(engine::EPOCH_TICK) {
        budget::Check::Continue(ticks) => Ok(UpdateDeadline::Continue(ticks)),
        budget::Check::Over(kind) => Err(wasmtime::Error::new(DeadlinePassed(kind))),
    });
    let mut runner = Runner {
        store,
        limits: limits_ref,
        cpu: Vec::new(),
        cpu_total: Duration::ZERO,
    };

    let t = Instant::now();
    let pre = match shared.pre_for(&spec.source) {
        Ok(pre) => pre,
        Err(err) => {
            report.error = Some(err);
            return Err(runner);
        }
    };
    let instance = runner
        .guarded(Stage::Instantiate, 0, async |store| {
            pre.instantiate_async(store).await
        })
        .await;
    report.timings.instantiate_us = micros(t.elapsed());
    let harness = match instance {
        Outcome::Done(h) => h,
        Outcome::Failed(err) => {
            report.error = Some(err);
            return Err(runner);
        }
    };

    if spec.inspect_first {
        let t = Instant::now();
        let out = runner
            .guarded(Stage::Inspect, 0, async |store| {
                harness
                    .call_inspect(store, &spec.filename, &spec.source)
                    .await
            })
            .await;
        report.timings.load_us = micros(t.elapsed());
        let result = match out {
            Outcome::Done(text) => protocol::parse_inspection(&text),
            Outcome::Failed(err) => Err(err),
        };
        match result {
            Ok(inspection) => report.inspection = Some(inspection),
            Err(err) => {
                report.error = Some(err);
                return Err(runner);
            }
        }
    }

    let t = Instant::now();
    let params = serde_json::Value::Object(spec.params.clone()).to_string();
    let options = options_json(&limits);
    let key = code_key(&spec.filename, &spec.source);
    let mut cached = shared
        .code_cache
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&key);
    if cached.is_none() {
        // Compiled here, before any of the bootcamp's code has run in this
        // instance: code taken after loading could have been swapped by the
        // bootcamp (the harness is reachable from it through sys.modules),
        // and every later run of the same file in this process would then
        // execute the forgery.
        if let Outcome::Done(Some(code)) = runner
            .guarded(Stage::Load, 0, async |store| {
                harness
                    .call_compile(store, &spec.filename, &spec.source)
                    .await
            })
            .await
        {
            let code = Arc::new(code);
            shared
                .code_cache
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(key, code.clone());
            cached = Some(code);
        }
    }
    let loaded = runner
        .guarded(Stage::Load, 0, async |store| {
            harness
                .call_load(
                    store,
                    &spec.filename,
                    &spec.source,
                    spec.class.as_deref(),
                    &params,
                    &options,
                    cached.as_deref().map(Vec::as_slice),
                )
                .await
        })
        .await;
    report.timings.load_us = micros(t.elapsed());
    match runner.reply(Stage::Load, loaded) {
        Outcome::Done(text) => match protocol::parse_load(&text).result {
            Ok(loaded) => report.loaded = Some(loaded),
            Err(err) => {
                let err = runner.refine(err);
                {
                    report.error = Some(err);
                    return Err(runner);
                };
            }
        },
        Outcome::Failed(err) => {
            report.error = Some(err);
            return Err(runner);
        }
    }

    Ok((runner, harness))
}

/// The run's calls, in order (and those its follow-up adds). `Some`: the
/// failure that ended them.
async fn run_calls(
    runner: &mut Runner<'_>,
    harness: &bindings::Harness,
    spec: RunSpec,
    limits: &Limits,
    report: &mut RunReport,
) -> Option<RunError> {
    let limits = *limits;
    let t = Instant::now();
    let flags = serde_json::Value::Object(spec.score_flags).to_string();
    let mut failure = None;
    let mut pending: std::collections::VecDeque<Call> = spec.calls.into();
    let cpu_before_calls = runner.cpu_total;
    loop {
        let Some(call) = pending.pop_front() else {
            match &spec.follow_up {
                Some(follow_up) => {
                    let progress = RunProgress {
                        calls_cpu: runner.cpu_total.saturating_sub(cpu_before_calls),
                    };
                    let next = follow_up.next(&report.results, &progress);
                    if next.is_empty() {
                        break;
                    }
                    pending.extend(next);
                    continue;
                }
                None => break,
            }
        };
        let call_kind = if matches!(call, Call::ScoreUnflagged { .. }) {
            CallKind::Unflagged
        } else {
            CallKind::Other
        };
        // Consecutive cases with the same answer, or consecutive scorings:
        // one guest call for many.
        let call = match batch::take(call, &mut pending, spec.case_batch) {
            Ok(work) => {
                let (results, err) = runner.run_batch(harness, &work, &flags).await;
                report.results.extend(results);
                if let Some(err) = err {
                    failure = Some(runner.refine(err));
                    break;
                }
                continue;
            }
            Err(call) => call,
        };
        let outcome = match call {
            Call::Case { seed, answer } => {
                // Scoring is a call of its own, so that a trap or timeout in
                // the verifier is reported at the verify stage.
                let out = runner
                    .guarded(Stage::Generate, seed, async |store| {
                        harness.call_run_case(store, seed).await
                    })
                    .await;
                let case = match runner.reply(Stage::Generate, out) {
                    Outcome::Done(text) => {
                        protocol::parse_case(&text, seed, limits.case_bytes).result
                    }
                    Outcome::Failed(err) => Err(err),
                };
                match (case, answer) {
                    (Ok(mut case), Some(answer)) => {
                        let identity = case.case_json.clone();
                        let out = runner
                            .guarded(Stage::Verify, seed, async |store| {
                                harness.call_score(store, &identity, &answer, &flags).await
                            })
                            .await;
                        let scored = match runner.reply(Stage::Verify, out) {
                            Outcome::Done(text) => protocol::parse_score(&text).result,
                            Outcome::Failed(err) => Err(err),
                        };
                        scored.map(|s| {
                            case.score = Some(s.score);
                            case.stdout.push_str(&s.stdout);
                            case.stderr.push_str(&s.stderr);
                            CallResult::Case(case)
                        })
                    }
                    (case, _) => case.map(CallResult::Case),
                }
            }
            Call::Reference { identity } => {
                let out = runner
                    .guarded(Stage::Reference, 0, async |store| {
                        harness.call_reference(store, &identity).await
                    })
                    .await;
                match runner.reply(Stage::Reference, out) {
                    Outcome::Done(text) => protocol::parse_reference(&text, limits.case_bytes)
                        .result
                        .map(|output| CallResult::Reference { output }),
                    Outcome::Failed(err) => Err(err),
                }
            }
            Call::ScoreBatch { identity, answers } => {
                let out = runner
                    .guarded(Stage::Verify, 0, async |store| {
                        harness
                            .call_score_batch(store, &identity, &answers, &flags)
                            .await
                    })
                    .await;
                match runner.reply(Stage::Verify, out) {
                    Outcome::Done(text) => protocol::parse_scores(&text, answers.len())
                        .result
                        .map(CallResult::Scores),
                    Outcome::Failed(err) => Err(err),
                }
            }
            Call::Score { identity, answer } | Call::ScoreUnflagged { identity, answer } => {
                let flags = if matches!(call_kind, CallKind::Unflagged) {
                    "{}"
                } else {
                    flags.as_str()
                };
                let out = runner
                    .guarded(Stage::Verify, 0, async |store| {
                        harness.call_score(store, &identity, &answer, flags).await
                    })
                    .await;
                match runner.reply(Stage::Verify, out) {
                    Outcome::Done(text) => {
                        protocol::parse_score(&text).result.map(CallResult::Score)
                    }
                    Outcome::Failed(err) => Err(err),
                }
            }
        };
        match outcome {
            Ok(result) => report.results.push(result),
            Err(err) => {
                failure = Some(runner.refine(err));
                break;
            }
        }
    }
    report.timings.calls_us = micros(t.elapsed());
    report.timings.calls_cpu_us = micros(runner.cpu_total.saturating_sub(cpu_before_calls));
    failure
}

enum CallKind {
    Unflagged,
    Other,
}

fn finish(
    mut report: RunReport,
    runner: Runner<'_>,
    error: Option<RunError>,
    started: Instant,
) -> RunReport {
    let state = runner.store.data();
    report.cpu = runner.cpu.clone();
    report.error = error;
    report.raw_stdout = state.stdout.text();
    report.raw_stderr = state.stderr.text();
    report.peak_memory = state.limiter.peak;
    report.timings.total_us = micros(started.elapsed());
    report
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// Size of the embedded, compressed component.
pub fn engine_component_len() -> usize {
    engine::COMPONENT_ZST.len()
}
