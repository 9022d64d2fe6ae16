//! `bootforge synth`: flags and rendering around [`crate::eval::synth`],
//! over the same run storage and engine as `eval`.

use std::path::{Path, PathBuf};

use clap::Args;

use super::campaign::DbArgs;
use super::eval::{RunArgs, execute, pct, prepare};
use super::values::KeepArg;
use super::{CliResult, Exit, Out, exit, failed, runtime, usage};
use crate::eval;
use crate::eval::synth::{self, Keep};

/// The kind of a synth run.
pub(super) const SYNTH: &str = "synth";

#[derive(Args, Debug)]
pub struct SynthArgs {
    #[command(flatten)]
    run: RunArgs,
    /// Where the SFT records go (JSONL, replaced whole when done).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// The least score an answer needs to be kept.
    #[arg(long, value_name = "S", default_value_t = 1.0)]
    min_score: f64,
    /// Which passing answers of a record are kept.
    #[arg(long, value_enum, default_value_t = KeepArg::All)]
    keep: KeepArg,
}

/// What `synth --json` prints.
#[derive(Debug, serde::Serialize)]
struct SynthReport {
    run: i64,
    out: String,
    written: usize,
    min_score: f64,
    keep: Keep,
    samples: usize,
    tasks: Vec<crate::eval::synth::SynthTask>,
    excluded: Vec<crate::eval::report::Excluded>,
    pending: usize,
}

pub fn synth(args: SynthArgs, db: &DbArgs, cache_dir: &Path) -> CliResult {
    if !args.min_score.is_finite() {
        return Err(usage("--min-score must be a number"));
    }
    let rt = runtime()?;
    rt.block_on(async move {
        let (store, run, config) = prepare(&args.run, db, Some(SYNTH)).await?;
        // Said before the summary, as it happened.
        let result = execute(&store, run, &config, &args.run.client, cache_dir)
            .await
            .map_err(Exit::report_now);
        if matches!(&result, Err(e) if e.exit_code() == exit::USAGE) {
            return result;
        }
        let loaded = async {
            Ok::<_, anyhow::Error>((
                store.eval_records(run).await?,
                store.eval_answers(run).await?,
                eval::load_report(&store, run).await?,
            ))
        };
        let (records, answers, report) = match loaded.await {
            Ok((r, a, Some(report))) => (r, a, report),
            Ok(_) => return Err(Exit::code(exit::FAILED)),
            Err(err) => return Err(failed(err)),
        };
        let (kept, tasks) =
            synth::select(run, &config.model, &records, &answers, args.min_score, args.keep.into());
        write_jsonl(&args.out, &kept)?;
        let summary = SynthReport {
            run,
            out: args.out.display().to_string(),
            written: kept.len(),
            min_score: args.min_score,
            keep: args.keep.into(),
            samples: config.samples,
            tasks,
            excluded: report.excluded,
            pending: report.overall.pending,
        };
        let mut out = Out::new();
        if args.run.json {
            out.line(serde_json::to_string(&summary).unwrap_or_default());
        } else {
            out.line(format!(
                "synth run {run}: {} record(s) written to {} (score >= {}, keep {}, {} sample(s) per prompt)",
                summary.written, summary.out, summary.min_score, summary.keep.as_str(), summary.samples
            ));
            out.line(format!(
                "{:<32} {:>7} {:>7} {:>6} {:>7} {:>7}",
                "task", "prompts", "answers", "kept", "pass@1", "pass@K"
            ));
            for t in &summary.tasks {
                out.line(format!(
                    "{:<32} {:>7} {:>7} {:>6} {:>7} {:>7}",
                    t.data_source,
                    t.prompts,
                    t.answers,
                    t.kept,
                    pct(t.pass_at_1),
                    pct(t.pass_at_k)
                ));
            }
            for e in &summary.excluded {
                out.line(format!(
                    "excluded: {} ({} record(s)): {}",
                    e.data_source, e.records, e.reason
                ));
            }
            if summary.pending > 0 {
                out.line(format!(
                    "pending: {} answer(s) not given yet; the same command again takes the run up",
                    summary.pending
                ));
            }
        }
        result
    })
}

/// Write records as JSONL to a file beside `path`, then move it in place: a
/// crash never leaves half a file under the name.
fn write_jsonl<T: serde::Serialize>(path: &Path, records: &[T]) -> anyhow::Result<()> {
    use anyhow::Context;
    use std::io::Write;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    let mut file = std::io::BufWriter::new(
        std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?,
    );
    for r in records {
        serde_json::to_writer(&mut file, r)?;
        file.write_all(b"\n")?;
    }
    file.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
