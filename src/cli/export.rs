//! `bootforge export` and `bootforge generate`: flags, progress display,
//! rendering and exit codes around [`crate::export`].

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;

use super::campaign::{DbArgs, open_store};
use super::run::{json_object, read_source};
use super::values::{FormatArg, PandasArg};
use super::{CliResult, Exit, Out, exit, failed, open_sandbox, runtime, usage};
use crate::export::generate::{self, GenerateRequest, Progress};
use crate::export::{self as exporting, ExportError, ExportRequest};
use crate::sandbox::Limits;

#[derive(Args, Debug)]
pub struct ExportCommand {
    /// The directory to write (InternBootcamp's layout plus MANIFEST.json):
    /// a new one, or an InternBootcamp clone (its __init__.py gets the
    /// import lines; nothing existing is replaced without --force).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Only approved bootcamps of this campaign.
    #[arg(long, value_name = "ID")]
    campaign: Option<i64>,
    /// Only these review items (repeatable); all approved ones by default.
    #[arg(long = "id", value_name = "ID")]
    ids: Vec<i64>,
    /// Write into a directory that is not empty, replacing bootcamps and
    /// parameter files of the same names in a clone.
    #[arg(long)]
    force: bool,
    /// Print the manifest as one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
pub struct GenerateCommand {
    /// A review item's id (approved or not) or a bootcamp file.
    target: String,
    /// Cases to generate (seeds S..S+N).
    #[arg(long, value_name = "N")]
    n: u64,
    /// The output file: JSONL, or Parquet when it ends in .parquet (any
    /// case). An existing file is replaced only with --force.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Written into verl's extra_info; for a calibrated review item it also
    /// picks the parameter sets: the train ladder (the seeds shared among
    /// its settings in order) or the test setting.
    #[arg(long, default_value = "train", value_parser = ["train", "test"])]
    split: String,
    /// Constructor parameters as a JSON object (default: the item's
    /// calibrated sets for --split, else its parameters, or the class
    /// defaults).
    #[arg(long, value_name = "JSON")]
    params: Option<String>,
    /// The bootcamp class, when a file defines several.
    #[arg(long, value_name = "NAME")]
    class: Option<String>,
    /// The first seed.
    #[arg(long, value_name = "S", default_value_t = 0)]
    seed: u64,
    #[arg(long, value_enum, default_value_t = FormatArg::Internbootcamp)]
    format: FormatArg,
    /// The Parquet types to match: those of files written by pandas 3
    /// (top-level strings as large_string) or pandas 2 (string), so that
    /// verl can concatenate the output with InternBootcamp-converted files.
    #[arg(long, value_enum, default_value_t = PandasArg::Pandas3)]
    parquet_like: PandasArg,
    /// Replace an existing --out file.
    #[arg(long)]
    force: bool,
    /// Sandbox workers (default: the number of cores). The output is the
    /// same whatever this is.
    #[arg(long, value_name = "J")]
    jobs: Option<usize>,
    /// CPU-time budget of each guest call, ms: the CPU time the sandbox
    /// thread spends in it, so a busy machine gives the same verdict as a
    /// quiet one.
    #[arg(long, value_name = "MS", default_value_t = 10_000)]
    timeout_ms: u64,
    /// Wall-clock ceiling of each guest call, ms (default: 10 times
    /// --timeout-ms): the backstop for a guest that waits instead of
    /// computing (a sleep). Lower it to stop sleepers sooner, at the risk of
    /// stopping CPU-bound calls on a busy machine.
    #[arg(long, value_name = "MS")]
    wall_timeout_ms: Option<u64>,
    /// Print the summary as one JSON object.
    #[arg(long)]
    json: bool,
}

pub fn export(cmd: ExportCommand, db: &DbArgs) -> CliResult {
    let rt = runtime()?;
    rt.block_on(async {
        let store = open_store(db).await?;
        let request = ExportRequest {
            out: cmd.out.clone(),
            campaign: cmd.campaign,
            ids: cmd.ids.clone(),
            force: cmd.force,
        };
        match exporting::export(&store, &request).await {
            Ok(manifest) => {
                let mut out = Out::new();
                if cmd.json {
                    out.line(serde_json::to_string(&manifest).unwrap_or_default());
                } else {
                    for b in &manifest.bootcamps {
                        out.line(format!(
                            "item {:>4}  {:<28} {}{}",
                            b.item,
                            b.class,
                            b.path,
                            b.renamed_from
                                .as_deref()
                                .map(|r| format!("  (renamed from {r}: the name was taken)"))
                                .unwrap_or_default()
                        ));
                    }
                    out.line(format!(
                        "{} bootcamp(s) exported to {}; import lines in {}, data config lines in {}/data_config_{{train,test}}.bootforge.jsonl, verl's reward function in {}, see MANIFEST.json",
                        manifest.bootcamps.len(),
                        cmd.out.display(),
                        manifest.imports_file,
                        exporting::DATA_CONFIGS,
                        exporting::VERL_FUNCTION_FILE,
                    ));
                }
                Ok(())
            }
            Err(
                err @ (ExportError::NotEmpty(_)
                | ExportError::NotApproved(_)
                | ExportError::NotADirectory(_)
                | ExportError::Conflicts(_)),
            ) => Err(usage(err)),
            Err(ExportError::Nothing(msg)) => {
                eprintln!("error: {}", ExportError::Nothing(msg));
                Err(Exit::code(exit::FAILED))
            }
            Err(ExportError::Other(err)) => Err(failed(err))
        }
    })
}

/// A progress bar on stderr (rate and ETA), only when it is a terminal.
struct Bar(indicatif::ProgressBar);

impl Progress for Bar {
    fn advance(&self, cases: u64) {
        self.0.inc(cases);
    }
}

fn bar(total: u64) -> Option<Bar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} cases · {per_sec} · ETA {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    Some(Bar(bar))
}

pub fn generate(cmd: GenerateCommand, db: &DbArgs, cache_dir: &Path) -> CliResult {
    if cmd.n == 0 || cmd.jobs == Some(0) || cmd.timeout_ms == 0 || cmd.wall_timeout_ms == Some(0) {
        return Err(usage(
            "--n, --jobs, --timeout-ms and --wall-timeout-ms must be positive",
        ));
    }
    // A name a user chose for another format must not silently get JSONL.
    let extension = cmd
        .out
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    if !matches!(
        extension.as_deref(),
        Some("jsonl" | "json" | "ndjson" | "parquet")
    ) {
        return Err(usage(format!(
            "--out {}: give a .jsonl file (JSON lines) or a .parquet file",
            cmd.out.display()
        )));
    }
    if cmd.out.is_dir() {
        return Err(usage(format!(
            "--out {} is a directory: give a file name",
            cmd.out.display()
        )));
    }
    if cmd.out.exists() && !cmd.force {
        return Err(usage(format!(
            "--out {} exists: choose another file or pass --force to replace it",
            cmd.out.display()
        )));
    }
    let params = match cmd
        .params
        .as_deref()
        .map(|p| json_object(p, "--params", r#"{"size": 5}"#))
    {
        Some(Err(msg)) => return Err(usage(msg)),
        Some(Ok(p)) => Some(p),
        None => None,
    };
    let rt = runtime()?;
    rt.block_on(async {
        let file = Path::new(&cmd.target);
        let (filename, source, class, stored_params) = match cmd.target.parse::<i64>() {
            Ok(id) if !file.exists() => {
                let store = open_store(db).await?;
                let item = match store.review_item(id).await {
                    Ok(Some(item)) => item,
                    Ok(None) => return Err(usage(format!("no review item {id} (see `bootforge review list`), and no file named {id}"))),
                    Err(err) => return Err(failed(err)),
                };
                let summary = crate::review::summarize(&item, 0);
                let sets = match exporting::split_params(&store, &item).await {
                    Ok((sets, _)) => sets.get(&cmd.split).to_vec(),
                    Err(err) => return Err(failed(err)),
                };
                (format!("{}.py", item.task_id), item.code, summary.class, sets)
            }
            _ => match read_source(file) {
                Ok(source) => (cmd.target.clone(), source, None, vec![Default::default()]),
                Err(msg) => return Err(usage(msg)),
            },
        };
        let sandbox = open_sandbox(cache_dir, cmd.jobs)?;
        let request = GenerateRequest {
            filename,
            source,
            class: cmd.class.clone().or(class),
            params: params.map_or(stored_params, |p| vec![p]),
            n: cmd.n,
            seed: cmd.seed,
            split: cmd.split.clone(),
            format: cmd.format.into(),
            parquet_like: cmd.parquet_like.into(),
            jobs: sandbox.workers(),
            out: cmd.out.clone(),
            limits: Limits {
                timeout: Duration::from_millis(cmd.timeout_ms),
                wall_timeout: cmd.wall_timeout_ms.map(Duration::from_millis),
                ..Limits::default()
            },
        };
        let progress = bar(cmd.n);
        let result = match &progress {
            Some(bar) => generate::generate(&sandbox, &request, bar).await,
            None => generate::generate(&sandbox, &request, &generate::Quiet).await,
        };
        if let Some(bar) = progress {
            bar.0.finish_and_clear();
        }
        let report = result?;
        let mut out = Out::new();
        if cmd.json {
            out.line(serde_json::to_string(&report).unwrap_or_default());
        } else {
            out.line(format!(
                "{} records written to {} ({} duplicate prompt(s) dropped) · {:.0} cases/s on {} job(s)",
                report.written,
                report.out.display(),
                report.duplicates,
                report.cases_per_s,
                report.jobs
            ));
        }
        match &report.failure {
            None => Ok(()),
            Some(f) => {
                eprintln!(
                    "error: the bootcamp failed at seed {}: {}\n{} complete record(s) before it are kept in {}",
                    f.seed,
                    f.error,
                    report.written,
                    report.out.display()
                );
                Err(Exit::code(exit::FAILED))
            }
        }
    })
}
