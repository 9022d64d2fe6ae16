//! `bootforge generate`: training records from a bootcamp, generated in the
//! sandbox on all cores. Seeds `S, S+1, ...` are cut into chunks that run in
//! parallel and are written back in seed order, so the output is the same
//! whatever the number of jobs. A case whose prompt repeats an earlier one
//! is dropped (and counted). A failure stops the run at its seed with every
//! record before it written whole.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use futures::StreamExt;
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::sandbox::{Limits, RunSpec, Sandbox};

/// The record layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// `{"data_source", "prompt", "ground_truth"}`, as InternBootcamp's
    /// data pipeline writes them.
    Internbootcamp,
    /// verl's RL records (chat prompt, rule reward model, extra info).
    Verl,
}

/// Whose Parquet a `.parquet` output matches: pandas 3 writes top-level
/// string columns as `large_string`, pandas 2 as `string`, and verl mixes
/// files only when the types are equal. Pick the pandas that wrote the
/// files yours will be concatenated with (InternBootcamp's converter runs
/// whatever pandas is installed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PandasLike {
    #[default]
    Pandas3,
    Pandas2,
}

/// Seeds per sandbox run: big enough that instantiating and loading (a few
/// ms) is noise, small enough to keep both cores busy and memory flat.
pub const CHUNK: u64 = 500;

/// What to generate.
#[derive(Debug, Clone)]
pub struct GenerateRequest {
    /// The name tracebacks show.
    pub filename: String,
    pub source: String,
    pub class: Option<String>,
    /// Parameter sets (never empty): the seeds are shared out among them in
    /// order as InternBootcamp's `data_generator.py` shares its cases out
    /// (`n / sets` each, the last one the remainder).
    pub params: Vec<Map<String, Value>>,
    pub n: u64,
    pub seed: u64,
    pub split: String,
    pub format: Format,
    pub parquet_like: PandasLike,
    pub jobs: usize,
    pub out: PathBuf,
    pub limits: Limits,
}

/// Where a run stopped early.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    pub seed: u64,
    pub error: String,
}

/// What a run did.
#[derive(Debug, Clone, Serialize)]
pub struct GenerateReport {
    pub out: PathBuf,
    pub format: Format,
    pub class: Option<String>,
    /// Records written.
    pub written: u64,
    /// Cases dropped because their prompt repeated an earlier one.
    pub duplicates: u64,
    pub seeds: [u64; 2],
    /// The parameter sets the seeds were shared among, in order.
    pub params: Vec<Map<String, Value>>,
    pub jobs: usize,
    pub elapsed_s: f64,
    pub cases_per_s: f64,
    pub failure: Option<Failure>,
}

/// Progress reports, implemented by the CLI (a bar on a terminal).
pub trait Progress: Send + Sync {
    fn advance(&self, cases: u64);
}

/// No progress display.
pub struct Quiet;

impl Progress for Quiet {
    fn advance(&self, _: u64) {}
}

#[derive(Serialize)]
struct IbRecord<'a> {
    data_source: &'a str,
    prompt: &'a str,
    ground_truth: &'a RawValue,
}

#[derive(Serialize)]
struct Message<'a> {
    role: &'static str,
    content: &'a str,
}

#[derive(Serialize)]
struct RewardModel<'a> {
    style: &'static str,
    ground_truth: &'a str,
}

#[derive(Serialize)]
struct ExtraInfo<'a> {
    split: &'a str,
    index: u64,
}

/// Exactly the fields InternBootcamp's converter
/// (`examples/verl_usage/verl_data_preprocess.py`) writes, in its order:
/// verl concatenates training files only when their schemas are equal, so
/// an extra field (an `ability`, the seed) would keep bootforge's files from
/// being mixed with converted ones.
#[derive(Serialize)]
struct VerlRecord<'a> {
    data_source: &'a str,
    prompt: [Message<'a>; 1],
    reward_model: RewardModel<'a>,
    extra_info: ExtraInfo<'a>,
}

/// One training record, before it is laid out.
pub struct Record<'a> {
    pub class: &'a str,
    pub prompt: &'a str,
    /// The case's JSON text as the bootcamp wrote it (validated).
    pub case: &'a RawValue,
    pub split: &'a str,
    pub index: u64,
    pub seed: u64,
}

impl Record<'_> {
    /// InternBootcamp's `data_source`: the class name without its
    /// `bootcamp` suffix (its reward function and loaders append it again).
    pub fn ib_source(&self) -> String {
        super::names::base_name(self.class).to_owned()
    }

    /// verl's `data_source`: `bootcamp/<Name>` as InternBootcamp's converter
    /// writes it, which its reward function turns back into `<Name>bootcamp`.
    pub fn verl_source(&self) -> String {
        format!("bootcamp/{}", self.ib_source())
    }
}

/// One record as a JSON line (without the newline). The identity is the
/// case's JSON text as the bootcamp wrote it, so big integers stay exact.
fn record_line(format: Format, r: &Record<'_>) -> Result<String, serde_json::Error> {
    match format {
        Format::Internbootcamp => serde_json::to_string(&IbRecord {
            data_source: &r.ib_source(),
            prompt: r.prompt.trim(),
            ground_truth: r.case,
        }),
        Format::Verl => serde_json::to_string(&VerlRecord {
            data_source: &r.verl_source(),
            prompt: [Message {
                role: "user",
                content: r.prompt,
            }],
            reward_model: RewardModel {
                style: "rule",
                ground_truth: r.case.get(),
            },
            extra_info: ExtraInfo {
                split: r.split,
                index: r.index,
            },
        }),
    }
}

/// Where records go: JSONL (each line written whole) or Parquet.
pub(super) trait Sink {
    fn push(&mut self, record: &Record<'_>) -> Result<()>;
    /// Write what is buffered and close the file validly.
    fn finish(self: Box<Self>) -> Result<()>;
}

struct Jsonl(std::io::BufWriter<std::fs::File>, Format);

impl Sink for Jsonl {
    fn push(&mut self, record: &Record<'_>) -> Result<()> {
        let mut line = record_line(self.1, record)?;
        line.push('\n');
        self.0.write_all(line.as_bytes())?;
        Ok(())
    }
    fn finish(mut self: Box<Self>) -> Result<()> {
        self.0.flush()?;
        self.0.get_ref().sync_all()?;
        Ok(())
    }
}

fn sink(out: &Path, format: Format, like: PandasLike) -> Result<Box<dyn Sink>> {
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let file = std::fs::File::create(out).with_context(|| format!("creating {}", out.display()))?;
    if out
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet"))
    {
        return Ok(Box::new(super::parquet::ParquetSink::new(
            file, format, like,
        )?));
    }
    Ok(Box::new(Jsonl(std::io::BufWriter::new(file), format)))
}

/// The seed ranges of `sets` parameter sets sharing `n` seeds from `seed`:
/// `n / sets` each, the last one the rest (what InternBootcamp's
/// `data_generator.py` does with a config file's list).
pub fn share(seed: u64, n: u64, sets: usize) -> Vec<(u64, u64)> {
    let sets = sets.max(1) as u64;
    let each = n / sets;
    (0..sets)
        .map(|i| {
            let first = seed.saturating_add(i * each);
            let end = if i + 1 == sets {
                seed.saturating_add(n)
            } else {
                first.saturating_add(each)
            };
            (first, end)
        })
        .collect()
}

/// Generate `request.n` cases' records (seeds from `request.seed`).
pub async fn generate(
    sandbox: &Sandbox,
    request: &GenerateRequest,
    progress: &dyn Progress,
) -> Result<GenerateReport> {
    let started = Instant::now();
    let mut out = sink(&request.out, request.format, request.parquet_like)?;
    // Lazy: `--n` may be far larger than what is worth holding as a list.
    // A chunk never spans two parameter sets.
    let chunks = share(request.seed, request.n, request.params.len())
        .into_iter()
        .enumerate()
        .flat_map(|(set, (first, end))| {
            (first..end)
                .step_by(CHUNK as usize)
                .map(move |start| (set, start, start.saturating_add(CHUNK).min(end)))
        });
    let runs = futures::stream::iter(chunks)
        .map(|(set, start, stop)| {
            let mut spec = RunSpec::new(request.filename.clone(), request.source.clone())
                .cases(start..stop, None);
            spec.class = request.class.clone();
            spec.params = request.params.get(set).cloned().unwrap_or_default();
            spec.limits = request.limits;
            async move { (start, stop, sandbox.run(spec).await) }
        })
        // In order, two runs in flight per job: seeds come back in order
        // whatever finishes first.
        .buffered(request.jobs.max(1) * 2);
    futures::pin_mut!(runs);
    let mut seen: HashSet<[u8; 16]> = HashSet::new();
    let (mut written, mut duplicates) = (0u64, 0u64);
    let mut class = request.class.clone();
    let mut failure = None;
    while let Some((start, stop, report)) = runs.next().await {
        if let Some(loaded) = &report.loaded {
            class.get_or_insert_with(|| loaded.class.clone());
        }
        let name = class.clone().unwrap_or_else(|| "Unknown".into());
        let mut next_seed = start;
        for case in report.cases() {
            next_seed = case.seed + 1;
            let digest = Sha256::digest(case.prompt.as_bytes());
            let key: [u8; 16] = digest[..16].try_into().expect("16 bytes");
            if !seen.insert(key) {
                duplicates += 1;
                continue;
            }
            let raw: &RawValue = match serde_json::from_str(&case.case_json) {
                Ok(raw) => raw,
                Err(e) => {
                    failure = Some(Failure {
                        seed: case.seed,
                        error: format!("the case is not valid JSON ({e})"),
                    });
                    break;
                }
            };
            out.push(&Record {
                class: &name,
                prompt: &case.prompt,
                case: raw,
                split: &request.split,
                index: written,
                seed: case.seed,
            })?;
            written += 1;
        }
        progress.advance(next_seed - start);
        if failure.is_some() {
            break;
        }
        if let Some(err) = &report.error {
            failure = Some(Failure {
                seed: next_seed,
                error: format!(
                    "{} in {}: {}{}",
                    err.kind.as_str(),
                    err.stage.as_str(),
                    err.message,
                    if err.traceback.is_empty() {
                        String::new()
                    } else {
                        format!("\n{}", err.traceback)
                    }
                ),
            });
            break;
        }
        if next_seed < stop {
            failure = Some(Failure {
                seed: next_seed,
                error: "the sandbox returned fewer cases than asked for".into(),
            });
            break;
        }
    }
    out.finish()?;
    let elapsed = started.elapsed().as_secs_f64();
    Ok(GenerateReport {
        out: request.out.clone(),
        format: request.format,
        class,
        written,
        duplicates,
        seeds: [request.seed, request.seed.saturating_add(request.n)],
        params: request.params.clone(),
        jobs: request.jobs,
        elapsed_s: elapsed,
        cases_per_s: (written + duplicates) as f64 / elapsed.max(1e-9),
        failure,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_are_shared_out_as_internbootcamp_does() {
        assert_eq!(share(10, 10, 3), [(10, 13), (13, 16), (16, 20)]);
        assert_eq!(share(0, 5, 1), [(0, 5)]);
        // Fewer seeds than sets: the last set takes them all.
        assert_eq!(share(0, 2, 3), [(0, 0), (0, 0), (0, 2)]);
        assert_eq!(share(0, 7, 0), [(0, 7)]);
    }

    #[test]
    fn records_embed_the_case_as_written() {
        let text = r#"{"n": 910996981214243194829, "xs": [1.50, -2]}"#;
        let case: &RawValue = serde_json::from_str(text).unwrap();
        let record = |split, index| Record {
            class: "BigNbootcamp",
            prompt: "  Q?\n",
            case,
            split,
            index,
            seed: 7,
        };
        let line = record_line(Format::Internbootcamp, &record("train", 0)).unwrap();
        assert_eq!(
            line,
            r#"{"data_source":"BigN","prompt":"Q?","ground_truth":{"n": 910996981214243194829, "xs": [1.50, -2]}}"#
        );
        let line = record_line(Format::Verl, &record("test", 3)).unwrap();
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["data_source"], "bootcamp/BigN");
        assert_eq!(
            v.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["data_source", "prompt", "reward_model", "extra_info"]
        );
        assert_eq!(v["extra_info"].as_object().unwrap().len(), 2);
        assert_eq!(v["prompt"][0]["role"], "user");
        assert_eq!(v["reward_model"]["ground_truth"], text);
        assert_eq!(v["extra_info"]["index"], 3);
        assert_eq!(v["extra_info"]["split"], "test");
        assert!(serde_json::from_str::<&RawValue>("{NaN").is_err());
    }
}
