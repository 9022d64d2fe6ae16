//! Argument parsing and rendering for the `bootforge` binary. The work itself
//! lives in the library modules; this module turns flags into their typed
//! settings, prints results (human text or `--json` lines on stdout, warnings
//! and errors on stderr) and maps outcomes to exit codes.

mod calibrate;
mod campaign;
mod check;
mod eval;
mod export;
mod review;
mod reward;
mod run;
mod schedule;
mod serve;
mod synth;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::sandbox::{self, Sandbox, SandboxOptions};

/// Exit codes used everywhere.
pub mod exit {
    /// Everything ran.
    pub const OK: u8 = 0;
    /// The work failed: a bootcamp failed, a benchmark could not run.
    pub const FAILED: u8 = 1;
    /// Bad usage or input: the message says what to fix.
    pub const USAGE: u8 = 2;
    /// Could not judge: `check`, `audit` or `review add` found nothing wrong
    /// with a bootcamp but could not finish judging it (the solver endpoint
    /// refused the connection or the requests); the verdict is `undecided`.
    pub const UNDECIDED: u8 = 3;
}

#[derive(Parser, Debug)]
#[command(
    name = "bootforge",
    version,
    about = "Author, run and check InternBootcamp-style reasoning bootcamps in a wasmtime sandbox",
    after_help = "Exit status: 0 done, 1 the work failed (a bootcamp failed its checks), 2 bad usage or input, 3 a check could not judge a bootcamp (verdict undecided: the solver endpoint failed)."
)]
pub struct Cli {
    /// Directory for the compiled sandbox component (compiling it takes seconds;
    /// loading the cached artifact milliseconds).
    #[arg(long, global = true, env = "BOOTFORGE_CACHE_DIR", value_name = "DIR")]
    cache_dir: Option<PathBuf>,

    /// The SQLite database of campaigns (default: bootforge.db in the user
    /// data directory).
    #[arg(long, global = true, env = "BOOTFORGE_DB", value_name = "PATH")]
    db: Option<PathBuf>,

    #[command(flatten)]
    clock: schedule::ClockArgs,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run bootcamp files in the sandbox.
    #[command(subcommand)]
    Sandbox(SandboxCommand),
    /// Check one bootcamp: static checks, load, generation (determinism,
    /// diversity), prompts, self-consistency, verifier discrimination and,
    /// with --model, solver accuracy against a band. Exit 0 pass, 1 fail,
    /// 2 bad usage, 3 undecided (the solver endpoint failed, nothing else did).
    Check(check::CheckCommand),
    /// Check every bootcamp file under some paths, in parallel. Exit 0 all
    /// pass, 1 one failed, 2 bad usage, 3 none failed but one was undecided.
    Audit(check::AuditCommand),
    /// Run, resume and inspect authoring campaigns (task descriptions in,
    /// evaluated bootcamps out, every step stored in SQLite).
    #[command(subcommand)]
    Campaign(campaign::CampaignCommand),
    /// Run campaigns on cron schedules: add, list, show, pause, resume, rm,
    /// history (`bootforge daemon` runs them).
    #[command(subcommand)]
    Schedule(schedule::ScheduleCommand),
    /// Run due schedules, once per slot across daemons on one database,
    /// resuming runs whose daemon died; `daemon status` reports on them.
    Daemon(schedule::DaemonArgs),
    /// Find settings of a bootcamp's constructor parameters whose solver
    /// accuracy reaches a target (and a train ladder across the band), every
    /// setting tried stored; the same command again resumes. Exit 0 every
    /// target met, 1 one missed (the report says why), 2 bad usage.
    Calibrate(calibrate::CalibrateCommand),
    /// Show a task's family tree of drafts.
    Lineage(campaign::LineageCommand),
    /// The review queue: list, show and decide accepted bootcamps (approve,
    /// reject, revise), or queue bootcamp files of your own.
    #[command(subcommand)]
    Review(review::ReviewCommand),
    /// Write approved bootcamps in InternBootcamp's layout, with a manifest.
    Export(export::ExportCommand),
    /// Generate training records (InternBootcamp or verl JSONL, or Parquet)
    /// from a review item or a bootcamp file, in the sandbox on all cores.
    Generate(export::GenerateCommand),
    /// The review queue in a browser: queue, items, decisions, campaigns
    /// (default http://127.0.0.1:8421).
    Serve(serve::ServeCommand),
    /// Score RL rollouts with the bootcamps' verifiers in the sandbox: an
    /// HTTP service (`reward serve`) and verl's reward function for it.
    #[command(subcommand)]
    Reward(reward::RewardCommand),
    /// Evaluate a model on data in InternBootcamp's record format, each
    /// answer scored by its bootcamp in the sandbox; runs are stored,
    /// resumable, shown and compared.
    #[command(subcommand)]
    Eval(eval::EvalCommand),
    /// Sample K answers per prompt from a teacher, keep those its bootcamp
    /// scores at least --min-score, and write them as SFT chat records
    /// ({"messages": [user, assistant]}, the teacher's separate reasoning as
    /// a <think> block, each with its source). The same command again takes
    /// an unfinished run up without repeating its calls.
    Synth(synth::SynthArgs),
    /// Measure the sandbox: throughput against native python3, cold start,
    /// compile and cache load, 1 worker against 2.
    Bench(BenchArgs),
}

#[derive(Subcommand, Debug)]
enum SandboxCommand {
    /// Load a bootcamp file, generate cases, render prompts and optionally
    /// score an answer.
    Run(run::RunArgs),
    /// Show the embedded component, its cache entry and what it bundles.
    Info {
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Fewer iterations (a smoke run of every benchmark).
    #[arg(long)]
    quick: bool,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    json: bool,
    /// Run one benchmark: compile, cold_start, throughput, workers, audit,
    /// audit_speed, solver, campaign, fleet, generate, memory, serve,
    /// reward, calibrate, eval or hostile_llm.
    #[arg(long, value_name = "NAME")]
    only: Option<String>,
}

/// Parse the process arguments, run, and return the exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let code = if err.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            };
            let _ = err.print();
            return ExitCode::from(code);
        }
    };
    let cache_dir = cli
        .cache_dir
        .clone()
        .unwrap_or_else(sandbox::default_cache_dir);
    let code = match cli.command {
        Command::Sandbox(SandboxCommand::Run(args)) => run::run(args, &cache_dir),
        Command::Sandbox(SandboxCommand::Info { json }) => info(json, &cache_dir),
        Command::Check(cmd) => check::check(cmd, &cache_dir),
        Command::Audit(cmd) => check::audit(cmd, &cache_dir),
        Command::Campaign(command) => campaign::run(
            command,
            &campaign::DbArgs { db: cli.db.clone() },
            &cache_dir,
        ),
        Command::Calibrate(command) => calibrate::calibrate(
            command,
            &campaign::DbArgs { db: cli.db.clone() },
            &cache_dir,
        ),
        Command::Lineage(command) => {
            campaign::lineage(command, &campaign::DbArgs { db: cli.db.clone() })
        }
        Command::Review(command) => review::run(
            command,
            &campaign::DbArgs { db: cli.db.clone() },
            &cache_dir,
        ),
        Command::Export(command) => {
            export::export(command, &campaign::DbArgs { db: cli.db.clone() })
        }
        Command::Generate(command) => export::generate(
            command,
            &campaign::DbArgs { db: cli.db.clone() },
            &cache_dir,
        ),
        Command::Schedule(command) => schedule::schedule(
            command,
            &campaign::DbArgs { db: cli.db.clone() },
            &cli.clock,
        ),
        Command::Daemon(args) => schedule::daemon(
            args,
            &campaign::DbArgs { db: cli.db.clone() },
            &cli.clock,
            &cache_dir,
        ),
        Command::Serve(command) => serve::run(
            command,
            &campaign::DbArgs { db: cli.db.clone() },
            &cache_dir,
        ),
        Command::Reward(command) => reward::run(
            command,
            &campaign::DbArgs { db: cli.db.clone() },
            &cache_dir,
        ),
        Command::Eval(command) => eval::run(
            command,
            &campaign::DbArgs { db: cli.db.clone() },
            &cache_dir,
        ),
        Command::Synth(args) => {
            synth::synth(args, &campaign::DbArgs { db: cli.db.clone() }, &cache_dir)
        }
        Command::Bench(args) => bench(args, &cache_dir),
    };
    ExitCode::from(code)
}

/// Report bad usage or input: the message says what to fix.
pub(crate) fn usage(message: impl std::fmt::Display) -> u8 {
    eprintln!("error: {}", visible(&message.to_string()));
    exit::USAGE
}

/// Text made safe for a terminal; the one function the page uses too.
pub(crate) use crate::text::visible;

/// `eprintln!` for text that may hold guest or model output.
macro_rules! eprintln_visible {
    ($($arg:tt)*) => {
        eprintln!("{}", $crate::cli::visible(&format!($($arg)*)))
    };
}
pub(crate) use eprintln_visible;

/// The async runtime for commands that need one.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, u8> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("error: starting the async runtime: {e}");
            exit::FAILED
        })
}

/// Print an error with its cause chain to stderr.
pub(crate) fn report_error(err: &anyhow::Error) {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "error: {}", visible(&err.to_string()));
    for cause in err.chain().skip(1) {
        let _ = writeln!(stderr, "  caused by: {}", visible(&cause.to_string()));
    }
}

/// Write to stdout; a closed pipe (`| head`) ends output quietly.
pub(crate) struct Out {
    inner: std::io::StdoutLock<'static>,
    closed: bool,
}

impl Out {
    pub fn new() -> Self {
        Out {
            inner: std::io::stdout().lock(),
            closed: false,
        }
    }

    /// Print one line, with control characters made [`visible`]: every
    /// line may carry guest or model text.
    pub fn line(&mut self, text: impl std::fmt::Display) {
        if self.closed {
            return;
        }
        if let Err(err) = writeln!(self.inner, "{}", visible(&text.to_string())) {
            if err.kind() != std::io::ErrorKind::BrokenPipe {
                eprintln!("error: writing to stdout: {err}");
            }
            self.closed = true;
        }
    }
}

pub(crate) fn open_sandbox(
    cache_dir: &std::path::Path,
    workers: Option<usize>,
) -> Result<Sandbox, u8> {
    let mut options = SandboxOptions::new(cache_dir.to_path_buf());
    if let Some(workers) = workers {
        options.workers = workers;
    }
    Sandbox::open(&options).map_err(|err| {
        report_error(&err.context("setting up the sandbox"));
        exit::FAILED
    })
}

fn info(json: bool, cache_dir: &std::path::Path) -> u8 {
    let sandbox = match open_sandbox(cache_dir, Some(1)) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let source = sandbox.component_source();
    let compressed = sandbox::engine_component_len();
    let value = serde_json::json!({
        "component_sha256": sandbox::component_digest(),
        "component_compressed_bytes": compressed,
        "cache_file": source.path,
        "cache_hit": source.cache_hit,
        "load_ms": source.elapsed.as_secs_f64() * 1e3,
        "workers": sandbox.workers(),
    });
    let mut out = Out::new();
    if json {
        out.line(value);
    } else {
        out.line(format!(
            "component   sha256 {} ({} bytes compressed)",
            sandbox::component_digest(),
            compressed
        ));
        out.line(format!(
            "cache       {} ({}, {:.1} ms)",
            source.path.display(),
            if source.cache_hit {
                "loaded"
            } else {
                "compiled now"
            },
            source.elapsed.as_secs_f64() * 1e3
        ));
        out.line(format!("workers     {}", sandbox.workers()));
    }
    exit::OK
}

fn bench(args: BenchArgs, cache_dir: &std::path::Path) -> u8 {
    match crate::bench::run(cache_dir, args.quick, args.only.as_deref()) {
        Ok(report) => {
            let mut out = Out::new();
            if args.json {
                out.line(serde_json::to_string(&report).unwrap_or_default());
            } else {
                for line in report.render() {
                    out.line(line);
                }
            }
            exit::OK
        }
        Err(err) => {
            report_error(&err);
            exit::FAILED
        }
    }
}
