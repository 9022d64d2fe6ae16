//! The benchmark harness: `cargo bench --bench bootforge -- [--quick]
//! [--only NAME] [--json]`. Cargo passes `--bench` to it; the benchmarks are
//! in `mod.rs`, shared with the integration tests' quick run of all of them.
//!
//! The compiled-component cache is `--cache-dir`, `BOOTFORGE_CACHE_DIR` or
//! bootforge's default, as for the binary. Exit status: 0 done, 1 a
//! benchmark could not run, 2 bad usage.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

#[path = "mod.rs"]
mod bench;
// The scripted OpenAI-compatible server the benchmarks measure against.
#[path = "../support/fake.rs"]
mod fake;

#[derive(Parser, Debug)]
#[command(
    name = "bootforge-bench",
    about = "Measure bootforge: the sandbox (throughput against native python3, cold start, compile and cache load, workers), the LLM client, campaigns, serve, reward, eval"
)]
struct Args {
    /// Fewer iterations (a smoke run of every benchmark).
    #[arg(long)]
    quick: bool,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    json: bool,
    /// Run one benchmark by name.
    #[arg(long, value_name = "NAME", value_parser = clap::builder::PossibleValuesParser::new(bench::NAMES))]
    only: Option<String>,
    /// Directory for the compiled sandbox component.
    #[arg(long, env = "BOOTFORGE_CACHE_DIR", value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// Passed by `cargo bench`; nothing to do with it.
    #[arg(long, hide = true)]
    bench: bool,
}

fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(err) => {
            let _ = err.print();
            return ExitCode::from(if err.use_stderr() { 2 } else { 0 });
        }
    };
    let cache_dir = args
        .cache_dir
        .unwrap_or_else(bootforge::sandbox::default_cache_dir);
    let report = match bench::run(&cache_dir, args.quick, args.only.as_deref()) {
        Ok(report) => report,
        Err(err) => {
            eprintln!("error: {err:#}");
            return ExitCode::from(1);
        }
    };
    if args.json {
        println!("{}", serde_json::to_string(&report).unwrap_or_default());
    } else {
        for line in report.render() {
            println!("{line}");
        }
    }
    ExitCode::SUCCESS
}
