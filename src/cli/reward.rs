//! `bootforge reward serve` and `bootforge reward verl-function`: flags,
//! the bind rule (exit 2 when refused), start-up messages, around
//! [`crate::reward`]. The bound address is printed on stderr (`listening on
//! http://ADDR`), so `--bind 127.0.0.1:0` can be used by scripts and tests.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Subcommand};

use super::campaign::{DbArgs, open_store};
use super::{CliResult, Out, failed, open_sandbox, runtime, usage};
use crate::reward::http::{self, HttpOptions};
use crate::reward::{self, Service, Settings, Sources};
use crate::serve::bind;

#[derive(Subcommand, Debug)]
pub enum RewardCommand {
    /// Score rollouts over HTTP: POST /v1/score with a JSON array of
    /// {"data_source", "solution_str", "ground_truth"} answers one
    /// {"score", "error"?} per item, each scored by its bootcamp's
    /// verify_score in the sandbox; GET /healthz, GET /metrics (Prometheus).
    Serve(ServeArgs),
    /// Print the Python file verl loads as its custom reward function
    /// (compute_score, compute_score_batch), which posts to this service.
    VerlFunction,
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port; the address bound is
    /// printed on stderr). Anything but loopback needs --auth-token-file.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8431")]
    bind: String,
    /// Also score with the bootcamp files under DIR (repeatable): an
    /// InternBootcamp tree or any tree of .py files, classes named
    /// `<Name>bootcamp`. Review items of the store come first; the store is
    /// read unless --bootcamps is given without --db.
    #[arg(long = "bootcamps", value_name = "DIR")]
    bootcamps: Vec<PathBuf>,
    /// Sandbox workers (default: the number of cores).
    #[arg(long, value_name = "N")]
    workers: Option<usize>,
    /// A file whose first line is the token clients send as
    /// `Authorization: Bearer TOKEN`. Required to bind beyond loopback.
    #[arg(long, value_name = "FILE")]
    auth_token_file: Option<PathBuf>,
    /// Score with review items of any status, not only approved ones.
    #[arg(long)]
    any_status: bool,
    /// Wall-clock limit of each verify_score call, ms.
    #[arg(long, value_name = "MS", default_value_t = 5_000)]
    timeout_ms: u64,
    /// Memory cap of each sandbox instance, MiB.
    #[arg(long, value_name = "MIB", default_value_t = 512)]
    memory_mib: usize,
    /// The largest solution_str scored, bytes (a larger one scores 0 with
    /// the error `too_large`).
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 20)]
    max_solution_bytes: usize,
    /// The most items in one request.
    #[arg(long, value_name = "N", default_value_t = 8192)]
    max_batch: usize,
    /// Loaded bootcamp instances each worker keeps for later requests
    /// (least recently used dropped first; 100 bootcamps kept on 2 workers
    /// took 311 MiB). 0 loads every bootcamp afresh for each request.
    #[arg(long, value_name = "N", default_value_t = 32)]
    warm: usize,
    /// The largest request body, MiB.
    #[arg(long, value_name = "MIB", default_value_t = 256)]
    max_body_mib: usize,
}

pub fn run(cmd: RewardCommand, db: &DbArgs, cache_dir: &Path) -> CliResult {
    match cmd {
        RewardCommand::VerlFunction => {
            let mut out = Out::new();
            out.line(reward::VERL_FUNCTION.trim_end().to_owned());
            Ok(())
        }
        RewardCommand::Serve(args) => serve(args, db, cache_dir),
    }
}

fn serve(args: ServeArgs, db: &DbArgs, cache_dir: &Path) -> CliResult {
    let addr: SocketAddr = match args.bind.parse() {
        Ok(a) => a,
        Err(_) => {
            return Err(usage(format!(
                "--bind {:?} is not an address with a port, like 127.0.0.1:8431 or [::1]:8431",
                args.bind
            )));
        }
    };
    if args.workers == Some(0)
        || args.timeout_ms == 0
        || args.memory_mib == 0
        || args.max_batch == 0
    {
        return Err(usage(
            "--workers, --timeout-ms, --memory-mib and --max-batch must be positive",
        ));
    }
    for dir in &args.bootcamps {
        if !dir.is_dir() {
            return Err(usage(format!(
                "--bootcamps {}: not a directory (give the root of an InternBootcamp clone or a folder of bootcamp files)",
                dir.display()
            )));
        }
    }
    let token = bind::read_token_file(args.auth_token_file.as_deref()).map_err(usage)?;
    if let Err(message) = bind::check_bind_for(&addr, token.is_some(), "reward scores") {
        return Err(usage(message));
    }
    let sources = Sources {
        read_store: db.db.is_some() || args.bootcamps.is_empty(),
        any_status: args.any_status,
        dirs: args.bootcamps.clone(),
    };
    let mut settings = Settings::default();
    settings.limits.timeout = Duration::from_millis(args.timeout_ms);
    settings.limits.memory_bytes = args.memory_mib.saturating_mul(1 << 20);
    settings.batch.max_solution_bytes = args.max_solution_bytes;
    settings.batch.max_items = args.max_batch;
    settings.warm_per_worker = args.warm;
    let rt = runtime()?;
    rt.block_on(async move {
        let store = if sources.read_store {
            Some(open_store(db).await?)
        } else {
            None
        };
        let (catalog, warnings) = reward::catalog(store.as_ref(), &sources).await?;
        for warning in &warnings {
            eprintln!("warning: {}", super::visible(warning));
        }
        if catalog.is_empty() {
            return Err(usage(
                "no bootcamp to score with: approve review items (`bootforge review approve ID`), pass --any-status, or give --bootcamps DIR",
            ));
        }
        let sandbox = open_sandbox(cache_dir, args.workers)?;
        let workers = sandbox.workers();
        let count = catalog.len();
        let service = Service::new(sandbox, catalog, settings);
        let options = HttpOptions {
            bind: addr,
            token,
            max_body_bytes: args.max_body_mib.saturating_mul(1 << 20),
        };
        let result = http::run(service, options, |bound| {
            eprintln!(
                "bootforge reward serve: {count} bootcamp(s), {workers} worker(s); listening on http://{bound}"
            );
        })
        .await;
        result.map_err(failed)
    })
}
