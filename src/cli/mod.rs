//! Argument parsing and rendering for the `bootforge` binary. The work itself
//! lives in the library modules; this module turns flags into their typed
//! settings, prints results (human text or `--json` lines on stdout, warnings
//! and errors on stderr) and maps outcomes to exit codes.

mod calibrate;
mod campaign;
mod check;
mod client;
mod eval;
mod export;
mod log;
mod review;
mod reward;
mod run;
mod schedule;
mod serve;
mod synth;
mod values;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::sandbox::{self, Sandbox, SandboxOptions};

/// Exit codes used everywhere.
pub mod exit {
    /// Everything ran.
    pub const OK: u8 = 0;
    /// The work failed: a bootcamp failed its checks, a run did not finish.
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
    /// List every kind of finding a check can report, with what it means.
    Findings {
        /// Print the Markdown table `docs/checks.md` carries.
        #[arg(long)]
        markdown: bool,
    },
}

#[derive(Subcommand, Debug)]
enum SandboxCommand {
    /// Load a bootcamp file, generate cases, render prompts and optionally
    /// score an answer.
    Run(run::RunArgs),
    /// Show the embedded components (the base one, and the sympy one used
    /// only by bootcamps that import sympy or mpmath) and their cache entries.
    Info {
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
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
    log::init(&cli.command);
    let cache_dir = cli
        .cache_dir
        .clone()
        .unwrap_or_else(sandbox::default_cache_dir);
    let result = match cli.command {
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
        Command::Findings { markdown } => findings(markdown),
    };
    match result {
        Ok(()) => ExitCode::from(exit::OK),
        Err(exit) => {
            exit.report();
            ExitCode::from(exit.code)
        }
    }
}

/// What a command returns: done, or an [`Exit`] with the code and the
/// message to end on.
pub(crate) type CliResult<T = ()> = Result<T, Exit>;

/// Why a command ends without success: the exit code and what to say on
/// stderr, printed once by [`main`] (or earlier, by [`Exit::report_now`],
/// where it must come before later output).
#[derive(Debug)]
pub(crate) struct Exit {
    code: u8,
    message: Option<Message>,
}

#[derive(Debug)]
enum Message {
    /// One line, `error: ...`.
    Text(String),
    /// `error: ...` and one `caused by: ...` line per cause.
    Chain(anyhow::Error),
}

impl Exit {
    /// Bad usage or input (exit 2): the message says what to fix.
    pub fn usage(message: impl std::fmt::Display) -> Self {
        Exit {
            code: exit::USAGE,
            message: Some(Message::Text(message.to_string())),
        }
    }

    /// The work failed (exit 1), said in one line.
    pub fn failure(message: impl std::fmt::Display) -> Self {
        Exit {
            code: exit::FAILED,
            message: Some(Message::Text(message.to_string())),
        }
    }

    /// The work failed (exit 1) with an error whose causes are all printed.
    pub fn failed(err: impl Into<anyhow::Error>) -> Self {
        Exit {
            code: exit::FAILED,
            message: Some(Message::Chain(err.into())),
        }
    }

    /// An exit code whose reason is already on the output (a failing
    /// verdict, a report that says what was missed).
    pub fn code(code: u8) -> Self {
        Exit {
            code,
            message: None,
        }
    }

    /// The process exit code.
    pub fn exit_code(&self) -> u8 {
        self.code
    }

    /// Print the message now (before output that must follow it) and keep
    /// only the code.
    pub fn report_now(self) -> Self {
        self.report();
        Exit::code(self.code)
    }

    fn report(&self) {
        match &self.message {
            None => {}
            Some(Message::Text(text)) => eprintln!("error: {}", visible(text)),
            Some(Message::Chain(err)) => report_error(err),
        }
    }
}

/// Every library error is "the work failed" unless mapped otherwise.
impl From<anyhow::Error> for Exit {
    fn from(err: anyhow::Error) -> Self {
        Exit::failed(err)
    }
}

/// Bad usage or input (exit 2): `.map_err(usage)?`.
pub(crate) fn usage(message: impl std::fmt::Display) -> Exit {
    Exit::usage(message)
}

/// Bad input (exit 2) whose causes are said on one line (`cannot read F:
/// No such file`): `.map_err(bad_input)?`.
pub(crate) fn bad_input(err: anyhow::Error) -> Exit {
    Exit::usage(format!("{err:#}"))
}

/// The work failed (exit 1), with the cause chain: `.map_err(failed)?`.
pub(crate) fn failed(err: impl Into<anyhow::Error>) -> Exit {
    Exit::failed(err)
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
pub(crate) fn runtime() -> CliResult<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Exit::failure(format!("starting the async runtime: {e}")))
}

/// Print an error with its cause chain to stderr.
fn report_error(err: &anyhow::Error) {
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
) -> CliResult<Sandbox> {
    let mut options = SandboxOptions::new(cache_dir.to_path_buf());
    if let Some(workers) = workers {
        options.workers = workers;
    }
    Sandbox::open(&options).map_err(|err| failed(err.context("setting up the sandbox")))
}

fn findings(markdown: bool) -> CliResult {
    use crate::evaluate::FindingKind;
    let mut out = Out::new();
    if markdown {
        out.line(FindingKind::markdown().trim_end());
    } else {
        let width = FindingKind::ALL
            .iter()
            .map(|k| k.as_str().len())
            .max()
            .unwrap_or(0);
        for kind in FindingKind::ALL {
            out.line(format!("{:width$}  {}", kind.as_str(), kind.describe()));
        }
    }
    Ok(())
}

fn info(json: bool, cache_dir: &std::path::Path) -> CliResult {
    let sandbox = open_sandbox(cache_dir, Some(1))?;
    let source = sandbox.component_source();
    let compressed = sandbox::engine_component_len();
    // Described, never set up here: it is compiled when a bootcamp first
    // needs it.
    let sympy = sandbox.sympy_component();
    let value = serde_json::json!({
        "component_sha256": sandbox::component_digest(),
        "component_compressed_bytes": compressed,
        "cache_file": source.path,
        "cache_hit": source.cache_hit,
        "load_ms": source.elapsed.as_secs_f64() * 1e3,
        "workers": sandbox.workers(),
        "sympy_component": {
            "sha256": sympy.sha256,
            "compressed_bytes": sympy.compressed_bytes,
            "cache_file": sympy.cache_file,
            "cached": sympy.cached,
        },
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
        out.line(format!(
            "sympy       sha256 {} ({} bytes compressed), for bootcamps that import sympy or mpmath",
            sympy.sha256, sympy.compressed_bytes
        ));
        out.line(format!(
            "            {} ({})",
            sympy.cache_file.display(),
            if sympy.cached {
                "compiled"
            } else {
                "not compiled yet: compiled on first use"
            }
        ));
        out.line(format!("workers     {}", sandbox.workers()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_exit_carries_its_code() {
        assert_eq!(Exit::usage("bad flag").exit_code(), exit::USAGE);
        assert_eq!(Exit::failure("disk full").exit_code(), exit::FAILED);
        assert_eq!(
            Exit::failed(anyhow::anyhow!("gone")).exit_code(),
            exit::FAILED
        );
        let from: Exit = anyhow::anyhow!("store").into();
        assert_eq!(from.exit_code(), exit::FAILED);
        assert_eq!(Exit::code(exit::UNDECIDED).exit_code(), exit::UNDECIDED);
    }

    #[test]
    fn an_exit_reported_now_keeps_its_code_and_says_nothing_again() {
        let said = Exit::usage("said once").report_now();
        assert_eq!(said.exit_code(), exit::USAGE);
        assert!(said.message.is_none());
    }

    #[test]
    fn a_failure_keeps_its_causes() {
        let err = anyhow::anyhow!("disk full").context("writing the manifest");
        let Exit {
            message: Some(Message::Chain(err)),
            ..
        } = Exit::failed(err)
        else {
            panic!("a failure with a cause chain");
        };
        assert_eq!(format!("{err:#}"), "writing the manifest: disk full");
    }
}
