//! `bootforge eval run|resume|list|show|compare`: flags and rendering
//! around [`crate::eval`].

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Subcommand};
use serde_json::{Map, Value};

use super::campaign::{DbArgs, open_store};
use super::{Out, exit, open_sandbox, report_error, runtime, usage};
use crate::eval::report::{Report, compare};
use crate::eval::{self, RunConfig};
use crate::llm::openai::OpenAiModel;
use crate::llm::{ChatModel, EndpointConfig};
use crate::reward::{self, Service, Settings, Sources};
use crate::store::Store;

#[derive(Subcommand, Debug)]
pub enum EvalCommand {
    /// Evaluate a model on data in InternBootcamp's record format
    /// ({"data_source", "prompt", "ground_truth"} lines, as Bootcamp-Eval
    /// ships them and `generate --format internbootcamp` writes them): every
    /// answer scored by its bootcamp's verify_score in the sandbox, stored
    /// as it comes. Exit 0 done, 1 calls failed (resume the run), 2 bad input.
    Run(RunArgs),
    /// Finish a killed or incomplete run: no finished call is made again.
    Resume {
        /// The run's id (`eval list`).
        run: i64,
        #[command(flatten)]
        model: ModelArgs,
        /// Print the report as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// List runs.
    List {
        #[arg(long)]
        json: bool,
    },
    /// A run's report: per task, records, answers, mean score, accuracy with
    /// its 95% Wilson interval, mean completion tokens, truncated share; the
    /// excluded tasks with the reason; the overall mean over tasks.
    Show {
        run: i64,
        #[arg(long, conflicts_with = "csv")]
        json: bool,
        /// The per-task table as CSV.
        #[arg(long)]
        csv: bool,
        /// Also print every answer with its score.
        #[arg(long)]
        answers: bool,
    },
    /// Compare two runs task by task: accuracies, the difference (B - A),
    /// `*` where the 95% intervals do not overlap.
    Compare {
        a: i64,
        b: i64,
        #[arg(long)]
        json: bool,
    },
}

/// How the model is reached (the same client as `check --model`).
#[derive(Args, Debug, Clone)]
pub struct ModelArgs {
    /// Environment variable holding the API key (none needed for local servers).
    #[arg(long, value_name = "NAME", default_value = "OPENAI_API_KEY")]
    api_key_env: String,
    /// Requests in flight at once.
    #[arg(long, value_name = "N", default_value_t = 16)]
    concurrency: usize,
    /// Limit of each request attempt, seconds.
    #[arg(long, value_name = "S", default_value_t = 600.0)]
    request_timeout_s: f64,
    /// Retries of a request on 429, 5xx, timeouts and unreadable bodies.
    #[arg(long, value_name = "N", default_value_t = 4)]
    max_retries: u32,
    /// Sandbox workers scoring answers (default: the number of cores).
    #[arg(long, value_name = "N")]
    workers: Option<usize>,
    /// The most calls of the whole run (its earlier invocations count).
    #[arg(long, value_name = "N", default_value_t = u64::MAX, hide_default_value = true)]
    max_calls: u64,
    /// The most prompt and completion tokens of the whole run.
    #[arg(long, value_name = "N", default_value_t = u64::MAX, hide_default_value = true)]
    max_tokens_total: u64,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// JSONL data files, or directories whose *.jsonl files are read (repeatable).
    #[arg(long = "data", value_name = "FILE|DIR", required = true)]
    data: Vec<PathBuf>,
    /// Bootcamp files under DIR (repeatable): an InternBootcamp tree or any
    /// tree of .py files; `<Name>` resolves to the class `<Name>bootcamp`.
    /// The store's approved review items are bootcamps too.
    #[arg(long = "bootcamps", value_name = "DIR")]
    bootcamps: Vec<PathBuf>,
    /// The model's name.
    #[arg(long, value_name = "MODEL")]
    model: String,
    /// OpenAI-compatible API base.
    #[arg(
        long,
        value_name = "URL",
        env = "OPENAI_BASE_URL",
        default_value = "https://api.openai.com/v1"
    )]
    base_url: String,
    /// Answers per record.
    #[arg(long, value_name = "K", default_value_t = 1)]
    samples: usize,
    #[arg(long)]
    temperature: Option<f32>,
    #[arg(long)]
    max_tokens: Option<u32>,
    /// verify_score's keyword arguments, a JSON object (default
    /// {"format_score": 0}, as InternBootcamp's reward function calls it).
    #[arg(long, value_name = "JSON")]
    score_flags: Option<String>,
    /// Only the first N records.
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    /// The run's name (default: the model's).
    #[arg(long)]
    name: Option<String>,
    #[command(flatten)]
    pub(super) client: ModelArgs,
    /// Print the report as one JSON object.
    #[arg(long)]
    pub(super) json: bool,
}

pub fn run(cmd: EvalCommand, db: &DbArgs, cache_dir: &Path) -> u8 {
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    rt.block_on(async move {
        match cmd {
            EvalCommand::Run(args) => start(args, db, cache_dir).await,
            EvalCommand::Resume { run, model, json } => {
                let store = match open_store(db).await {
                    Ok(s) => s,
                    Err(code) => return code,
                };
                let row = match store.eval_run(run).await {
                    Ok(Some(row)) => row,
                    Ok(None) => {
                        return usage(format!("no eval run {run} (see `bootforge eval list`)"));
                    }
                    Err(err) => {
                        report_error(&err);
                        return exit::FAILED;
                    }
                };
                let config: RunConfig = match serde_json::from_str(&row.config_json) {
                    Ok(c) => c,
                    Err(e) => {
                        return usage(format!(
                            "eval run {run} has an unreadable configuration: {e}"
                        ));
                    }
                };
                let code = execute(&store, run, &config, &model, cache_dir).await;
                if config.kind.as_deref() == Some(super::synth::SYNTH) {
                    eprintln!("run {run} is a synth run: `bootforge synth` with the same flags writes its file");
                }
                match eval::load_report(&store, run).await {
                    Ok(Some(report)) => print_report(&report, json, false),
                    Ok(None) => {}
                    Err(err) => {
                        report_error(&err);
                        return exit::FAILED;
                    }
                }
                code
            }
            EvalCommand::List { json } => list(db, json).await,
            EvalCommand::Show {
                run,
                json,
                csv,
                answers,
            } => show(db, run, json, csv, answers).await,
            EvalCommand::Compare { a, b, json } => compare_runs(db, a, b, json).await,
        }
    })
}

fn read_data(paths: &[PathBuf]) -> Result<(Vec<eval::Record>, Vec<String>), String> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| format!("--data {}: {e}", path.display()))?
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
                .collect();
            found.sort();
            if found.is_empty() {
                return Err(format!(
                    "--data {}: no .jsonl file in this directory",
                    path.display()
                ));
            }
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    let mut records = Vec::new();
    for file in &files {
        let text =
            std::fs::read_to_string(file).map_err(|e| format!("--data {}: {e}", file.display()))?;
        records.extend(eval::parse_records(&text, &file.display().to_string())?);
    }
    Ok((
        records,
        files.iter().map(|f| f.display().to_string()).collect(),
    ))
}

async fn start(args: RunArgs, db: &DbArgs, cache_dir: &Path) -> u8 {
    let (store, run, config) = match prepare(&args, db, None).await {
        Ok(p) => p,
        Err(code) => return code,
    };
    let code = execute(&store, run, &config, &args.client, cache_dir).await;
    if code == exit::USAGE {
        return code;
    }
    match eval::load_report(&store, run).await {
        Ok(Some(report)) => print_report(&report, args.json, false),
        Ok(None) => {}
        Err(err) => {
            report_error(&err);
            return exit::FAILED;
        }
    }
    code
}

/// Read the data and create the run; for `synth`, a stored run of the same
/// kind, model, settings and records is taken up again instead (what it
/// already answered is not asked again).
pub(super) async fn prepare(
    args: &RunArgs,
    db: &DbArgs,
    kind: Option<&str>,
) -> Result<(Store, i64, RunConfig), u8> {
    if args.samples == 0 || args.samples > 1024 {
        return Err(usage("--samples must be between 1 and 1024"));
    }
    if !args.base_url.starts_with("http://") && !args.base_url.starts_with("https://") {
        return Err(usage(format!(
            "--base-url must be an http:// or https:// URL, got {:?}",
            args.base_url
        )));
    }
    for dir in &args.bootcamps {
        if !dir.is_dir() {
            return Err(usage(format!(
                "--bootcamps {}: not a directory",
                dir.display()
            )));
        }
    }
    let mut score_flags = Settings::default().default_flags;
    if let Some(text) = &args.score_flags {
        match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(map)) => {
                for (k, v) in map {
                    if !reward::batch::SCORE_FLAGS.contains(&k.as_str()) {
                        return Err(usage(format!(
                            "--score-flags: unknown flag {k:?}; verify_score takes {}",
                            reward::batch::SCORE_FLAGS.join(", ")
                        )));
                    }
                    score_flags.insert(k, v);
                }
            }
            _ => {
                return Err(usage(
                    "--score-flags must be a JSON object, like '{\"format_score\": 0}'",
                ));
            }
        }
    }
    let (mut records, files) = match read_data(&args.data) {
        Ok(r) => r,
        Err(e) => return Err(usage(e)),
    };
    if let Some(limit) = args.limit {
        records.truncate(limit);
    }
    if records.is_empty() {
        return Err(usage("the data holds no record"));
    }
    let config = RunConfig {
        model: args.model.clone(),
        base_url: args.base_url.clone(),
        samples: args.samples,
        temperature: args.temperature,
        max_tokens: args.max_tokens,
        score_flags,
        bootcamps: args
            .bootcamps
            .iter()
            .map(|d| std::fs::canonicalize(d).unwrap_or_else(|_| d.clone()))
            .collect(),
        read_store: true,
        data: files,
        kind: kind.map(str::to_owned),
        data_sha256: eval::records_digest(&records),
    };
    let store = match Store::open(&db.path()).await {
        Ok(s) => s,
        Err(err) => {
            report_error(&err);
            return Err(exit::FAILED);
        }
    };
    let rows: Vec<(String, String, String)> = records
        .into_iter()
        .map(|r| (r.data_source, r.prompt, r.ground_truth))
        .collect();
    let name = args.name.clone().unwrap_or_else(|| args.model.clone());
    let config_json = serde_json::to_string(&config).unwrap_or_default();
    if kind.is_some() {
        match store.eval_runs().await {
            Ok(runs) => {
                if let Some(row) = runs.iter().rev().find(|r| r.config_json == config_json) {
                    eprintln!(
                        "taking up run {} (same model, settings and records)",
                        row.id
                    );
                    return Ok((store, row.id, config));
                }
            }
            Err(err) => {
                report_error(&err);
                return Err(exit::FAILED);
            }
        }
    }
    let run = match store.create_eval_run(&name, &config_json, &rows).await {
        Ok(id) => id,
        Err(err) => {
            report_error(&err);
            return Err(exit::FAILED);
        }
    };
    eprintln!(
        "eval run {run}: {} record(s) × {} sample(s)",
        rows.len(),
        args.samples
    );
    Ok((store, run, config))
}

fn model(config: &RunConfig, args: &ModelArgs) -> Result<Arc<dyn ChatModel>, String> {
    if !(args.request_timeout_s > 0.0 && args.request_timeout_s <= 86_400.0)
        || args.concurrency == 0
    {
        return Err(
            "--request-timeout-s must be between 0 and 86400 and --concurrency positive".into(),
        );
    }
    let mut endpoint = EndpointConfig::new(config.base_url.clone(), config.model.clone());
    endpoint.api_key = std::env::var(&args.api_key_env)
        .ok()
        .filter(|k| !k.is_empty());
    endpoint.concurrency = args.concurrency;
    endpoint.timeout = Duration::from_secs_f64(args.request_timeout_s);
    endpoint.max_retries = args.max_retries;
    endpoint.temperature = config.temperature;
    endpoint.max_tokens = config.max_tokens;
    Ok(Arc::new(OpenAiModel::new(endpoint)))
}

pub(super) async fn execute(
    store: &Store,
    run: i64,
    config: &RunConfig,
    args: &ModelArgs,
    cache_dir: &Path,
) -> u8 {
    if args.workers == Some(0) {
        return usage("--workers must be positive");
    }
    let chat = match model(config, args) {
        Ok(m) => m,
        Err(e) => return usage(e),
    };
    let sources = Sources {
        read_store: config.read_store,
        any_status: false,
        dirs: config.bootcamps.clone(),
    };
    let (catalog, warnings) = match reward::catalog(Some(store), &sources).await {
        Ok(c) => c,
        Err(err) => {
            report_error(&err);
            return exit::FAILED;
        }
    };
    for warning in &warnings {
        eprintln!("warning: {}", super::visible(warning));
    }
    let sandbox = match open_sandbox(cache_dir, args.workers) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let service = Arc::new(Service::new(sandbox, catalog, Settings::default()));
    let limits = (args.max_calls, args.max_tokens_total);
    let outcome = match eval::execute(
        store,
        run,
        config,
        chat,
        service,
        args.concurrency * 2,
        limits,
    )
    .await
    {
        Ok(o) => o,
        Err(err) => {
            report_error(&err);
            return exit::FAILED;
        }
    };
    eprintln!(
        "eval run {run}: {} call(s) made, {} answer(s) scored",
        outcome.calls, outcome.scored
    );
    if outcome.failed_calls > 0 {
        super::eprintln_visible!(
            "error: {} call(s) failed past their retries (first: {}); `bootforge eval resume {run}` asks them again",
            outcome.failed_calls,
            outcome.first_failure.as_deref().unwrap_or("?")
        );
        exit::FAILED
    } else if outcome.over_budget > 0 {
        eprintln!(
            "error: the budget is spent (--max-calls {}, --max-tokens-total {}): {} call(s) not made; raise it and `bootforge eval resume {run}`",
            args.max_calls, args.max_tokens_total, outcome.over_budget
        );
        exit::FAILED
    } else {
        exit::OK
    }
}

pub(super) fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

fn print_report(report: &Report, json: bool, csv: bool) {
    let mut out = Out::new();
    if json {
        out.line(serde_json::to_string(report).unwrap_or_default());
        return;
    }
    if csv {
        out.line("data_source,records,answers,correct,mean_score,accuracy,accuracy_low,accuracy_high,mean_completion_tokens,truncated_share,scoring_errors");
        for t in &report.tasks {
            out.line(format!(
                "{},{},{},{},{:.6},{:.6},{:.6},{:.6},{:.1},{:.6},{}",
                csv_field(&t.data_source),
                t.records,
                t.answers,
                t.correct,
                t.mean_score,
                t.accuracy,
                t.accuracy_low,
                t.accuracy_high,
                t.mean_completion_tokens,
                t.truncated_share,
                t.scoring_errors
            ));
        }
        return;
    }
    out.line(format!(
        "eval run {} {:?} ({}), {} sample(s) per record",
        report.run, report.name, report.status, report.samples
    ));
    out.line(format!(
        "{:<32} {:>7} {:>7} {:>7} {:>8} {:>17} {:>8} {:>6} {:>6}",
        "task", "records", "answers", "mean", "accuracy", "95% interval", "tokens", "cut", "errors"
    ));
    for t in &report.tasks {
        out.line(format!(
            "{:<32} {:>7} {:>7} {:>7.3} {:>8} {:>17} {:>8.0} {:>6} {:>6}",
            t.data_source,
            t.records,
            t.answers,
            t.mean_score,
            pct(t.accuracy),
            format!("[{}, {}]", pct(t.accuracy_low), pct(t.accuracy_high)),
            t.mean_completion_tokens,
            pct(t.truncated_share),
            t.scoring_errors
        ));
    }
    out.line(format!(
        "overall: {} over {} task(s), {} answer(s): the {}; over all answers {}, mean score {:.3}",
        pct(report.overall.task_mean_accuracy),
        report.overall.tasks,
        report.overall.answers,
        report.average,
        pct(report.overall.answer_accuracy),
        report.overall.mean_score
    ));
    if report.overall.pending > 0 {
        out.line(format!(
            "pending: {} answer(s) not given or not scored yet (`bootforge eval resume {}`)",
            report.overall.pending, report.run
        ));
    }
    for e in &report.excluded {
        out.line(format!(
            "excluded: {} ({} record(s)): {}",
            e.data_source, e.records, e.reason
        ));
    }
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

async fn list(db: &DbArgs, json: bool) -> u8 {
    let store = match open_store(db).await {
        Ok(s) => s,
        Err(code) => return code,
    };
    let runs = match store.eval_runs().await {
        Ok(r) => r,
        Err(err) => {
            report_error(&err);
            return exit::FAILED;
        }
    };
    let mut out = Out::new();
    for row in runs {
        let report = match eval::load_report(&store, row.id).await {
            Ok(Some(r)) => r,
            Ok(None) => continue,
            Err(err) => {
                report_error(&err);
                return exit::FAILED;
            }
        };
        let model = serde_json::from_str::<RunConfig>(&row.config_json)
            .map(|c| c.model)
            .unwrap_or_default();
        if json {
            let mut line = Map::new();
            line.insert("run".into(), row.id.into());
            line.insert("name".into(), row.name.clone().into());
            line.insert("model".into(), model.into());
            line.insert("status".into(), row.status.clone().into());
            line.insert("created_at".into(), row.created_at.clone().into());
            line.insert("tasks".into(), report.overall.tasks.into());
            line.insert("answers".into(), report.overall.answers.into());
            line.insert(
                "task_mean_accuracy".into(),
                report.overall.task_mean_accuracy.into(),
            );
            out.line(Value::Object(line));
        } else {
            out.line(format!(
                "{:>4}  {:<24} {:<24} {:<10} {} task(s) {} answer(s) {}  {}",
                row.id,
                row.name,
                model,
                row.status,
                report.overall.tasks,
                report.overall.answers,
                pct(report.overall.task_mean_accuracy),
                row.created_at
            ));
        }
    }
    exit::OK
}

async fn show(db: &DbArgs, run: i64, json: bool, csv: bool, answers: bool) -> u8 {
    let store = match open_store(db).await {
        Ok(s) => s,
        Err(code) => return code,
    };
    let report = match eval::load_report(&store, run).await {
        Ok(Some(r)) => r,
        Ok(None) => return usage(format!("no eval run {run} (see `bootforge eval list`)")),
        Err(err) => {
            report_error(&err);
            return exit::FAILED;
        }
    };
    print_report(&report, json, csv);
    if answers && !json && !csv {
        let (records, rows) = match (store.eval_records(run).await, store.eval_answers(run).await) {
            (Ok(r), Ok(a)) => (r, a),
            (Err(err), _) | (_, Err(err)) => {
                report_error(&err);
                return exit::FAILED;
            }
        };
        let mut out = Out::new();
        for a in rows {
            let source = records
                .get(a.idx as usize)
                .map(|r| r.data_source.as_str())
                .unwrap_or("?");
            let score = a
                .score
                .map(|s| format!("{s:.3}"))
                .unwrap_or_else(|| "unscored".into());
            let mut answer: String = a.content.chars().take(120).collect();
            if a.content.chars().count() > 120 {
                answer.push('…');
            }
            out.line(format!(
                "#{} sample {} {} score {} {}{}",
                a.idx,
                a.sample,
                source,
                score,
                a.error_kind.map(|k| format!("({k}) ")).unwrap_or_default(),
                answer.replace('\n', " ")
            ));
        }
    }
    exit::OK
}

async fn compare_runs(db: &DbArgs, a: i64, b: i64, json: bool) -> u8 {
    let store = match open_store(db).await {
        Ok(s) => s,
        Err(code) => return code,
    };
    let mut reports = Vec::new();
    for run in [a, b] {
        match eval::load_report(&store, run).await {
            Ok(Some(r)) => reports.push(r),
            Ok(None) => return usage(format!("no eval run {run} (see `bootforge eval list`)")),
            Err(err) => {
                report_error(&err);
                return exit::FAILED;
            }
        }
    }
    let rows = compare(&reports[0], &reports[1]);
    let mut out = Out::new();
    if json {
        out.line(serde_json::json!({ "a": a, "b": b, "tasks": rows }));
        return exit::OK;
    }
    out.line(format!(
        "{:<32} {:>22} {:>22} {:>8}",
        "task",
        format!("A (run {a})"),
        format!("B (run {b})"),
        "B - A"
    ));
    let cell = |t: &Option<crate::eval::report::TaskRow>| match t {
        Some(t) => format!(
            "{} [{}, {}]",
            pct(t.accuracy),
            pct(t.accuracy_low),
            pct(t.accuracy_high)
        ),
        None => "-".into(),
    };
    for r in &rows {
        out.line(format!(
            "{:<32} {:>22} {:>22} {:>8}{}",
            r.data_source,
            cell(&r.a),
            cell(&r.b),
            r.difference
                .map(|d| format!("{:+.1}", d * 100.0))
                .unwrap_or_else(|| "-".into()),
            if r.beyond_intervals { " *" } else { "" }
        ));
    }
    out.line(format!(
        "overall (mean over tasks): A {} B {}; * marks a difference beyond both 95% intervals",
        pct(reports[0].overall.task_mean_accuracy),
        pct(reports[1].overall.task_mean_accuracy)
    ));
    exit::OK
}
