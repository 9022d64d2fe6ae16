//! `bootforge eval run|resume|list|show|compare`: flags and rendering
//! around [`crate::eval`].

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Args, Subcommand};
use serde_json::{Map, Value};

use super::campaign::{DbArgs, TrafficArgs, open_store};
use super::client::{Flags, capacity, fleet, role_of_flags, single};
use super::{CliResult, Exit, Out, exit, failed, open_sandbox, runtime, usage};
use crate::calls::role::RoleConfig;
use crate::calls::{Backend, Recorder, Replay};
use crate::campaign::config::CampaignConfig;
use crate::eval::report::{Report, compare};
use crate::eval::{self, ClientConfig, Limits, RunConfig, Stopped};
use crate::reward::{self, Service, Settings, Sources};
use crate::store::Store;

#[derive(Subcommand, Debug)]
pub enum EvalCommand {
    /// Evaluate a model on data in InternBootcamp's record format
    /// ({"data_source", "prompt", "ground_truth"} lines, as Bootcamp-Eval
    /// ships them and `generate --format internbootcamp` writes them): every
    /// answer scored by its bootcamp's verify_score in the sandbox, stored
    /// as it comes. Exit 0 done (calls refused for good are stored, scored
    /// 0 and listed), 1 the run stopped (a budget spent, the endpoint
    /// failing past its retries, a cassette without the answer: resume it),
    /// 2 bad input.
    Run(RunArgs),
    /// Finish a killed or incomplete run: no finished call is made again.
    Resume {
        /// The run's id (`eval list`).
        run: i64,
        /// Take the endpoints and [prices] from this campaign config file
        /// (the section the run used, or [solver]), for moved or changed
        /// endpoints; the run's model and sampling stay its own.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
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

/// How the model is reached: the client, the budget and the cassette. A
/// flag given overrides what the run (or its `--config` file) says.
#[derive(Args, Debug, Clone)]
pub struct ModelArgs {
    /// Environment variable holding the API key (none needed for local
    /// servers) [default: OPENAI_API_KEY, or the config file's].
    #[arg(long, value_name = "NAME")]
    api_key_env: Option<String>,
    /// Requests in flight at once, per endpoint [default: 16, or the config
    /// file's].
    #[arg(long, value_name = "N")]
    concurrency: Option<usize>,
    /// Limit of each request attempt, seconds [default: 600, or the config
    /// file's timeout_s].
    #[arg(long, value_name = "S")]
    request_timeout_s: Option<f64>,
    /// Retries of a request on 429, 5xx, timeouts and unreadable bodies
    /// [default: 4, or the config file's].
    #[arg(long, value_name = "N")]
    max_retries: Option<u32>,
    /// Sandbox workers scoring answers (default: the number of cores).
    #[arg(long, value_name = "N")]
    workers: Option<usize>,
    /// The most calls of the whole run (its earlier invocations count)
    /// [default: the run's, or the config file's budget.max_llm_calls].
    #[arg(long, value_name = "N")]
    max_calls: Option<u64>,
    /// The most prompt and completion tokens of the whole run [default: the
    /// run's, or the config file's budget.max_tokens].
    #[arg(long, value_name = "N")]
    max_tokens_total: Option<u64>,
    /// The most dollars of the whole run, at the config file's [prices]
    /// [default: the run's, or the config file's budget.max_usd].
    #[arg(long, value_name = "USD")]
    max_usd: Option<f64>,
    #[command(flatten)]
    traffic: TrafficArgs,
}

/// Which section of a campaign config file gives the model.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq)]
pub enum Role {
    Solver,
    Author,
}

impl Role {
    fn as_str(self) -> &'static str {
        match self {
            Role::Solver => "solver",
            Role::Author => "author",
        }
    }
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
    /// The model's name (one endpoint, with --base-url).
    #[arg(long, value_name = "MODEL", required_unless_present = "config")]
    model: Option<String>,
    /// OpenAI-compatible API base [default: https://api.openai.com/v1].
    /// Not used with --config.
    #[arg(long, value_name = "URL", env = "OPENAI_BASE_URL")]
    base_url: Option<String>,
    /// A campaign config file (TOML) giving the model: its [solver] section
    /// (or --role's), one endpoint or a fleet of [[solver.endpoints]], with
    /// its retries, timeouts and stream setting; its [budget] keys that are
    /// written and its [prices].
    #[arg(long, value_name = "FILE", conflicts_with = "model")]
    config: Option<PathBuf>,
    /// The section of --config giving the model.
    #[arg(long, value_enum, default_value_t = Role::Solver, requires = "config")]
    role: Role,
    /// Answers per record.
    #[arg(long, value_name = "K", default_value_t = 1)]
    samples: usize,
    /// Sampling temperature [default: the server's, or the config file's].
    #[arg(long)]
    temperature: Option<f32>,
    /// Completion token limit [default: the server's, or the config file's].
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

pub fn run(cmd: EvalCommand, db: &DbArgs, cache_dir: &Path) -> CliResult {
    let rt = runtime()?;
    rt.block_on(async move {
        match cmd {
            EvalCommand::Run(args) => start(args, db, cache_dir).await,
            EvalCommand::Resume {
                run,
                config: file,
                model,
                json,
            } => {
                let store = open_store(db).await?;
                let row = match store.eval_run(run).await {
                    Ok(Some(row)) => row,
                    Ok(None) => {
                        return Err(usage(format!("no eval run {run} (see `bootforge eval list`)")));
                    }
                    Err(err) => return Err(failed(err)),
                };
                let config: RunConfig = match serde_json::from_str(&row.config_json) {
                    Ok(c) => c,
                    Err(e) => {
                        return Err(usage(format!(
                            "eval run {run} has an unreadable configuration: {e}"
                        )));
                    }
                };
                let config = match file {
                    Some(file) => moved_endpoints(config, &file).map_err(usage)?,
                    None => config,
                };
                // Said before the report, as it happened.
                let result =
                    execute(&store, run, &config, &model, cache_dir).await.map_err(Exit::report_now);
                if config.kind.as_deref() == Some(super::synth::SYNTH) {
                    eprintln!("run {run} is a synth run: `bootforge synth` with the same flags writes its file");
                }
                match eval::load_report(&store, run).await {
                    Ok(Some(report)) => print_report(&report, json, false),
                    Ok(None) => {}
                    Err(err) => return Err(failed(err)),
                }
                result
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

async fn start(args: RunArgs, db: &DbArgs, cache_dir: &Path) -> CliResult {
    let (store, run, config) = prepare(&args, db, None).await?;
    // Said before the report, as it happened.
    let result = execute(&store, run, &config, &args.client, cache_dir)
        .await
        .map_err(Exit::report_now);
    if matches!(&result, Err(e) if e.exit_code() == exit::USAGE) {
        return result;
    }
    match eval::load_report(&store, run).await {
        Ok(Some(report)) => print_report(&report, args.json, false),
        Ok(None) => {}
        Err(err) => return Err(failed(err)),
    }
    result
}

/// Read the data and create the run; for `synth`, a stored run of the same
/// kind, model, settings and records is taken up again instead (what it
/// already answered is not asked again).
pub(super) async fn prepare(
    args: &RunArgs,
    db: &DbArgs,
    kind: Option<&str>,
) -> CliResult<(Store, i64, RunConfig)> {
    if args.samples == 0 || args.samples > 1024 {
        return Err(usage("--samples must be between 1 and 1024"));
    }
    let (model, base_url, client, file_limits) = match model_source(args) {
        Ok(m) => m,
        Err(e) => return Err(usage(e)),
    };
    let limits = args.client.limits(file_limits);
    if let Err(e) = check_limits(&limits, &model, client.as_ref()) {
        return Err(usage(e));
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
        temperature: client
            .as_ref()
            .map_or(args.temperature, |c| c.endpoints.temperature),
        max_tokens: client
            .as_ref()
            .map_or(args.max_tokens, |c| c.endpoints.max_tokens),
        model,
        base_url,
        samples: args.samples,
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
        client,
        limits,
    };
    let store = match Store::open(&db.path()).await {
        Ok(s) => s,
        Err(err) => {
            return Err(failed(err));
        }
    };
    let rows: Vec<(String, String, String)> = records
        .into_iter()
        .map(|r| (r.data_source, r.prompt, r.ground_truth))
        .collect();
    let name = args.name.clone().unwrap_or_else(|| config.model.clone());
    let config_json = serde_json::to_string(&config).unwrap_or_default();
    if kind.is_some() {
        let identity = config.identity();
        match store.eval_runs().await {
            Ok(runs) => {
                if let Some(row) = runs.iter().rev().find(|r| {
                    serde_json::from_str::<RunConfig>(&r.config_json)
                        .is_ok_and(|c| c.identity() == identity)
                }) {
                    eprintln!(
                        "taking up run {} (same model, settings and records)",
                        row.id
                    );
                    return Ok((store, row.id, config));
                }
            }
            Err(err) => {
                return Err(failed(err));
            }
        }
    }
    let run = match store.create_eval_run(&name, &config_json, &rows).await {
        Ok(id) => id,
        Err(err) => {
            return Err(failed(err));
        }
    };
    eprintln!(
        "eval run {run}: {} record(s) × {} sample(s)",
        rows.len(),
        args.samples
    );
    Ok((store, run, config))
}

/// The model, its endpoints as the run shows them, the config file's role
/// (when --config) and the budget keys that file writes.
fn model_source(args: &RunArgs) -> Result<(String, String, Option<ClientConfig>, Limits), String> {
    let Some(path) = &args.config else {
        let model = args
            .model
            .clone()
            .ok_or("give the model: --model M --base-url URL, or --config FILE")?;
        let base_url = args
            .base_url
            .clone()
            .unwrap_or_else(|| "https://api.openai.com/v1".into());
        // Checked now, so a bad flag stores no run.
        role_of_flags(&args.client.flags(&model, &base_url, None, None))?;
        return Ok((model, base_url, None, Limits::default()));
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("--config {}: cannot read it: {e}", path.display()))?;
    let parsed = CampaignConfig::load(path).map_err(|e| format!("{e:#}"))?;
    let mut role = match args.role {
        Role::Solver => parsed.solver,
        Role::Author => parsed.author,
    };
    role.temperature = args.temperature.or(role.temperature);
    role.max_tokens = args.max_tokens.or(role.max_tokens);
    args.client.override_role(&mut role)?;
    let base_url = role
        .resolved_endpoints()
        .iter()
        .map(|e| {
            if e.base_url.is_empty() {
                "(OPENAI_BASE_URL)".to_owned()
            } else {
                e.base_url.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(", ");
    // Only the budget keys the file writes: the campaign's defaults (10,000
    // calls) would cut an evaluation of Bootcamp-Eval short.
    let written: toml::Table = toml::from_str(&text).map_err(|e| e.to_string())?;
    let budget = written.get("budget").and_then(|b| b.as_table());
    let key = |k: &str| budget.is_some_and(|b| b.contains_key(k));
    let limits = Limits {
        max_calls: key("max_llm_calls").then_some(parsed.budget.max_llm_calls),
        max_tokens: key("max_tokens").then_some(parsed.budget.max_tokens),
        max_usd: parsed.budget.max_usd,
    };
    let file = std::path::absolute(path).unwrap_or_else(|_| path.clone());
    Ok((
        role.model.clone(),
        base_url,
        Some(ClientConfig {
            file,
            role: args.role.as_str().into(),
            endpoints: role,
            prices: parsed.prices,
        }),
        limits,
    ))
}

/// Run `config` with its endpoints (and prices) from the config file
/// `file`, whose section must serve the run's model.
fn moved_endpoints(mut config: RunConfig, file: &Path) -> Result<RunConfig, String> {
    let parsed = CampaignConfig::load(file).map_err(|e| format!("{e:#}"))?;
    let role = config
        .client
        .as_ref()
        .map_or("solver".to_owned(), |c| c.role.clone());
    let mut endpoints = if role == "author" {
        parsed.author
    } else {
        parsed.solver
    };
    if endpoints.model != config.model {
        return Err(format!(
            "{}: [{role}] serves model {:?}, but the run asks {:?}",
            file.display(),
            endpoints.model,
            config.model
        ));
    }
    // The sampling is the run's: its answers so far were asked with it.
    endpoints.temperature = config.temperature;
    endpoints.max_tokens = config.max_tokens;
    config.client = Some(ClientConfig {
        file: std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf()),
        role,
        endpoints,
        prices: parsed.prices,
    });
    Ok(config)
}

/// A dollar budget needs the model's price.
fn check_limits(limits: &Limits, model: &str, client: Option<&ClientConfig>) -> Result<(), String> {
    if let Some(max) = limits.max_usd {
        if !(max.is_finite() && max >= 0.0) {
            return Err(format!(
                "--max-usd must be a number of dollars, 0 or more (got {max})"
            ));
        }
        if !client.is_some_and(|c| c.prices.contains_key(model)) {
            return Err(format!(
                "a dollar budget needs the price of model {model:?}: give --config FILE with [prices.{model:?}] input_usd_per_m and output_usd_per_m"
            ));
        }
    }
    Ok(())
}

impl ModelArgs {
    /// The budget: these flags over `base`.
    fn limits(&self, base: Limits) -> Limits {
        Limits {
            max_calls: self.max_calls.or(base.max_calls),
            max_tokens: self.max_tokens_total.or(base.max_tokens),
            max_usd: self.max_usd.or(base.max_usd),
        }
    }

    fn flags<'a>(
        &'a self,
        model: &'a str,
        base_url: &'a str,
        temperature: Option<f32>,
        max_tokens: Option<u32>,
    ) -> Flags<'a> {
        Flags {
            model,
            base_url,
            api_key_env: self.api_key_env.as_deref().unwrap_or("OPENAI_API_KEY"),
            concurrency: self.concurrency.unwrap_or(16),
            request_timeout_s: self.request_timeout_s.unwrap_or(600.0),
            max_retries: self.max_retries.unwrap_or(4),
            temperature,
            max_tokens,
        }
    }

    /// A config file's role with the client flags given put over it.
    fn override_role(&self, role: &mut RoleConfig) -> Result<(), String> {
        if let Some(n) = self.concurrency {
            if n == 0 {
                return Err("--concurrency must be positive".into());
            }
            role.concurrency = n;
            for e in &mut role.endpoints {
                e.concurrency = None;
            }
        }
        if let Some(s) = self.request_timeout_s {
            if !(s > 0.0 && s <= 86_400.0) {
                return Err("--request-timeout-s must be between 0 and 86400".into());
            }
            role.timeout_s = s;
        }
        if let Some(n) = self.max_retries {
            role.max_retries = n;
        }
        if let Some(name) = &self.api_key_env {
            role.api_key_env = name.clone();
            for e in &mut role.endpoints {
                e.api_key_env = None;
            }
        }
        Ok(())
    }
}

/// How run `config` reaches its model now: a cassette to replay (no network
/// at all), or its endpoints (the config file's role as a fleet, or the
/// flags' one endpoint); `Err` is bad usage.
fn client(config: &RunConfig, args: &ModelArgs) -> Result<eval::Client, String> {
    let role = match &config.client {
        Some(c) => {
            let mut role = c.endpoints.clone();
            args.override_role(&mut role)?;
            role
        }
        None => role_of_flags(&args.flags(
            &config.model,
            &config.base_url,
            config.temperature,
            config.max_tokens,
        ))?,
    };
    let backend = match &args.traffic.replay {
        Some(path) => Backend::Replay(Arc::new(Replay::load(path).map_err(|e| format!("{e:#}"))?)),
        None if config.client.is_some() => Backend::Live(Arc::new(fleet(&role))),
        None => Backend::Live(single(&role)),
    };
    let recorder = match &args.traffic.record {
        Some(path) => Some(Arc::new(
            Recorder::create(path).map_err(|e| format!("{e:#}"))?,
        )),
        None => None,
    };
    Ok(eval::Client {
        backend,
        recorder,
        concurrency: capacity(&role),
        limits: config.limits.clone(),
        prices: config
            .client
            .as_ref()
            .map(|c| c.prices.clone())
            .unwrap_or_default(),
    })
}

pub(super) async fn execute(
    store: &Store,
    run: i64,
    config: &RunConfig,
    args: &ModelArgs,
    cache_dir: &Path,
) -> CliResult {
    if args.workers == Some(0) {
        return Err(usage("--workers must be positive"));
    }
    // A limit given now is the run's from now on.
    let mut config = config.clone();
    config.limits = args.limits(config.limits.clone());
    if let Err(e) = check_limits(&config.limits, &config.model, config.client.as_ref()) {
        return Err(usage(e));
    }
    let client = client(&config, args).map_err(usage)?;
    store
        .set_eval_config(run, &serde_json::to_string(&config).unwrap_or_default())
        .await?;
    let sources = Sources {
        read_store: config.read_store,
        any_status: false,
        dirs: config.bootcamps.clone(),
    };
    let (catalog, warnings) = reward::catalog(Some(store), &sources).await?;
    for warning in &warnings {
        eprintln!("warning: {}", super::visible(warning));
    }
    let sandbox = open_sandbox(cache_dir, args.workers)?;
    let service = Arc::new(Service::new(sandbox, catalog, Settings::default()));
    let outcome = eval::execute(store, run, &config, client, service).await?;
    eprintln!(
        "eval run {run}: {} call(s) made, {} answer(s) scored",
        outcome.calls, outcome.scored
    );
    if outcome.refused_calls > 0 {
        super::eprintln_visible!(
            "warning: {} call(s) refused for good (first: {}): stored with the error and scored 0; a resume does not ask them again",
            outcome.refused_calls,
            outcome.first_refusal.as_deref().unwrap_or("?")
        );
    }
    let left = outcome.not_made;
    match &outcome.stopped {
        None => Ok(()),
        Some(Stopped::Budget(which)) => {
            let limits = &config.limits;
            let (limit, flag) = match *which {
                "tokens" => (
                    format!("{} tokens", limits.max_tokens.unwrap_or_default()),
                    "--max-tokens-total",
                ),
                "dollars" => (
                    format!(
                        "{}, {} spent at the config's [prices]",
                        dollars(limits.max_usd.unwrap_or_default()),
                        dollars(outcome.spent_usd)
                    ),
                    "--max-usd",
                ),
                _ => (
                    format!("{} calls", limits.max_calls.unwrap_or_default()),
                    "--max-calls",
                ),
            };
            let noun = which.trim_end_matches('s');
            eprintln!(
                "error: the {noun} budget is spent ({limit}): {left} call(s) not made; raise it: `bootforge eval resume {run} {flag} ...`"
            );
            Err(Exit::code(exit::FAILED))
        }
        Some(Stopped::Endpoint(message)) => {
            super::eprintln_visible!(
                "error: the endpoint failed past its retries ({message}); nothing is stored for the {left} call(s) left: `bootforge eval resume {run}` asks them again"
            );
            Err(Exit::code(exit::FAILED))
        }
        Some(Stopped::Replay(message)) => {
            super::eprintln_visible!("error: {message}; {left} call(s) not made");
            Err(Exit::code(exit::FAILED))
        }
    }
}

/// Dollars to the cent, or to a hundredth of a cent under a dollar.
fn dollars(usd: f64) -> String {
    if usd >= 1.0 {
        format!("${usd:.2}")
    } else {
        format!("${usd:.4}")
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
        out.line("data_source,records,answers,correct,mean_score,accuracy,accuracy_low,accuracy_high,mean_completion_tokens,truncated_share,scoring_errors,failed_calls");
        for t in &report.tasks {
            out.line(format!(
                "{},{},{},{},{:.6},{:.6},{:.6},{:.6},{:.1},{:.6},{},{}",
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
                t.scoring_errors,
                t.failed_calls
            ));
        }
        return;
    }
    out.line(format!(
        "eval run {} {:?} ({}), {} sample(s) per record",
        report.run, report.name, report.status, report.samples
    ));
    out.line(format!(
        "{:<32} {:>7} {:>7} {:>7} {:>8} {:>17} {:>8} {:>6} {:>6} {:>6}",
        "task",
        "records",
        "answers",
        "mean",
        "accuracy",
        "95% interval",
        "tokens",
        "cut",
        "errors",
        "failed"
    ));
    for t in &report.tasks {
        out.line(format!(
            "{:<32} {:>7} {:>7} {:>7.3} {:>8} {:>17} {:>8.0} {:>6} {:>6} {:>6}",
            t.data_source,
            t.records,
            t.answers,
            t.mean_score,
            pct(t.accuracy),
            format!("[{}, {}]", pct(t.accuracy_low), pct(t.accuracy_high)),
            t.mean_completion_tokens,
            pct(t.truncated_share),
            t.scoring_errors,
            t.failed_calls
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
    // Refused calls, task by task; the JSON report has them all.
    const SHOWN: usize = 20;
    for f in report.failed_calls.iter().take(SHOWN) {
        out.line(format!(
            "failed call: {} record {} sample {}: {}",
            f.data_source, f.record, f.sample, f.error
        ));
    }
    if report.failed_calls.len() > SHOWN {
        out.line(format!(
            "... and {} more failed call(s) (`bootforge eval show {} --json`)",
            report.failed_calls.len() - SHOWN,
            report.run
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

async fn list(db: &DbArgs, json: bool) -> CliResult {
    let store = open_store(db).await?;
    let runs = store.eval_runs().await?;
    let mut out = Out::new();
    for row in runs {
        let report = match eval::load_report(&store, row.id).await {
            Ok(Some(r)) => r,
            Ok(None) => continue,
            Err(err) => return Err(failed(err)),
        };
        let model = serde_json::from_str::<RunConfig>(&row.config_json)
            .map(|c| c.model)
            .unwrap_or_default();
        if json {
            let mut line = Map::new();
            line.insert("run".into(), row.id.into());
            line.insert("name".into(), row.name.clone().into());
            line.insert("model".into(), model.into());
            line.insert("status".into(), row.status.as_str().into());
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
    Ok(())
}

async fn show(db: &DbArgs, run: i64, json: bool, csv: bool, answers: bool) -> CliResult {
    let store = open_store(db).await?;
    let report = match eval::load_report(&store, run).await {
        Ok(Some(r)) => r,
        Ok(None) => {
            return Err(usage(format!(
                "no eval run {run} (see `bootforge eval list`)"
            )));
        }
        Err(err) => return Err(failed(err)),
    };
    print_report(&report, json, csv);
    if answers && !json && !csv {
        let (records, rows) = match (store.eval_records(run).await, store.eval_answers(run).await) {
            (Ok(r), Ok(a)) => (r, a),
            (Err(err), _) | (_, Err(err)) => {
                return Err(failed(err));
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
    Ok(())
}

async fn compare_runs(db: &DbArgs, a: i64, b: i64, json: bool) -> CliResult {
    let store = open_store(db).await?;
    let mut reports = Vec::new();
    for run in [a, b] {
        match eval::load_report(&store, run).await {
            Ok(Some(r)) => reports.push(r),
            Ok(None) => {
                return Err(usage(format!(
                    "no eval run {run} (see `bootforge eval list`)"
                )));
            }
            Err(err) => return Err(failed(err)),
        }
    }
    let rows = compare(&reports[0], &reports[1]);
    let mut out = Out::new();
    if json {
        out.line(serde_json::json!({ "a": a, "b": b, "tasks": rows }));
        return Ok(());
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
    Ok(())
}
