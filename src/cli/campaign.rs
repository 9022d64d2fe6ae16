//! `bootforge campaign ...` and `bootforge lineage`: flags, rendering, exit codes.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Subcommand};
use serde_json::json;

use super::{CliResult, Exit, Out, bad_input, exit, failed, open_sandbox, runtime, usage};
use crate::calibrate::stored::StoredCalibration;
use crate::calls::{Backend, Recorder, Replay};
use crate::campaign::config::CampaignConfig;
use crate::campaign::progress::{CampaignEvent, Counts, Progress, Remedy};
use crate::campaign::status::{CampaignStatus, TaskStatus};
use crate::campaign::tasks::{self, Task};
use crate::campaign::{self, CampaignOutcome, Engines};
use crate::store::{CampaignCounts, Store};

/// The example campaign run on embedded defaults.
const EXAMPLE_CONFIG: &str = include_str!("../../prompts/example/campaign.toml");
const EXAMPLE_TASKS: [(&str, &str); 2] = [
    (
        "digit-sum",
        include_str!("../../prompts/example/tasks/digit-sum.md"),
    ),
    (
        "interval-merge",
        include_str!("../../prompts/example/tasks/interval-merge.md"),
    ),
];
/// Example model traffic for the example campaign (scripted, not from a real
/// model): what `campaign run` replays when no endpoint is configured.
const EXAMPLE_CASSETTE: &str = include_str!("../../prompts/example/cassette.jsonl");

/// Where the database is (`--db`, `BOOTFORGE_DB`, or the default).
#[derive(Debug, Clone)]
pub struct DbArgs {
    pub db: Option<PathBuf>,
}

impl DbArgs {
    pub(super) fn path(&self) -> PathBuf {
        self.db.clone().unwrap_or_else(|| {
            dirs::data_dir()
                .unwrap_or_else(std::env::temp_dir)
                .join("bootforge")
                .join("bootforge.db")
        })
    }
}

#[derive(Args, Debug, Clone)]
pub struct TrafficArgs {
    /// Append every LLM exchange to this cassette file.
    #[arg(long, value_name = "FILE")]
    pub(super) record: Option<PathBuf>,
    /// Answer every LLM request from this cassette instead of an endpoint.
    #[arg(long, value_name = "FILE", conflicts_with = "record")]
    pub(super) replay: Option<PathBuf>,
}

/// How long this process's hold on a campaign outlives it.
#[derive(Args, Debug, Clone)]
pub struct LeaseArgs {
    /// Seconds a campaign's lease lasts without renewal: another process can
    /// resume the campaign this long after this one dies (renewed every
    /// third of it while running).
    #[arg(long, value_name = "S", default_value_t = 60.0)]
    lease_s: f64,
}

impl LeaseArgs {
    fn control(&self) -> CliResult<campaign::lease::RunControl> {
        if !(self.lease_s.is_finite() && (0.3..=86_400.0).contains(&self.lease_s)) {
            return Err(usage(format!(
                "--lease-s {} is out of range: give 0.3 to 86400 seconds",
                self.lease_s
            )));
        }
        Ok(campaign::lease::RunControl {
            lease_ttl: Duration::from_secs_f64(self.lease_s),
            ..Default::default()
        })
    }
}

#[derive(Subcommand, Debug)]
pub enum CampaignCommand {
    /// Run a campaign. Without CONFIG: the example campaign shipped in the
    /// binary, replaying example model traffic unless OPENAI_BASE_URL is set.
    Run {
        /// The campaign configuration (TOML).
        config: Option<PathBuf>,
        #[command(flatten)]
        traffic: TrafficArgs,
        #[command(flatten)]
        lease: LeaseArgs,
        /// End with one JSON line: {"campaign", "tasks": [...]}.
        #[arg(long)]
        json: bool,
    },
    /// Finish a campaign that stopped (crash, budget, kill), optionally
    /// against moved or changed endpoints. Refused (exit 1), naming the
    /// holder, while another live process works on it.
    Resume {
        id: i64,
        /// Raise the stored budget of LLM calls.
        #[arg(long, value_name = "N")]
        max_llm_calls: Option<u64>,
        /// Raise the stored budget of tokens.
        #[arg(long, value_name = "N")]
        max_tokens: Option<u64>,
        /// Raise the stored budget of dollars (at the config's [prices]).
        #[arg(long, value_name = "USD")]
        max_usd: Option<f64>,
        /// Take the [author] and [solver] endpoint settings (base_url,
        /// endpoints, keys, concurrency, timeouts, stream) from this file;
        /// every other setting must match the stored campaign.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Send the author's requests to this API base (one endpoint).
        #[arg(long, value_name = "URL")]
        author_base_url: Option<String>,
        /// Send the solver's requests to this API base (one endpoint).
        #[arg(long, value_name = "URL")]
        solver_base_url: Option<String>,
        #[command(flatten)]
        traffic: TrafficArgs,
        #[command(flatten)]
        lease: LeaseArgs,
        #[arg(long)]
        json: bool,
    },
    /// Show a campaign's tasks (the latest campaign without ID). A campaign
    /// whose process is gone shows as `interrupted`, with how to resume it.
    Status {
        id: Option<i64>,
        #[arg(long)]
        json: bool,
    },
    /// List the campaigns in the database (`interrupted`: its process is gone).
    List {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args, Debug)]
pub struct LineageCommand {
    /// The task id.
    task: String,
    /// The campaign (default: the latest one with this task).
    #[arg(long, value_name = "ID")]
    campaign: Option<i64>,
    #[arg(long)]
    json: bool,
}

/// Where answers come from: a cassette, or each role's live endpoint.
fn backends(
    config: &CampaignConfig,
    traffic: &TrafficArgs,
    default_replay: Option<&str>,
) -> Result<(Backend, Backend, Option<Arc<Recorder>>), String> {
    let replay = match (&traffic.replay, default_replay) {
        (Some(path), _) => Some(Replay::load(path).map_err(|e| format!("{e:#}"))?),
        (None, Some(text)) => Some(Replay::parse(text, "the embedded example cassette")?),
        (None, None) => None,
    };
    let recorder = match &traffic.record {
        Some(path) => Some(Arc::new(
            Recorder::create(path).map_err(|e| format!("{e:#}"))?,
        )),
        None => None,
    };
    Ok(match replay {
        Some(replay) => {
            let replay = Arc::new(replay);
            (
                Backend::Replay(replay.clone()),
                Backend::Replay(replay),
                recorder,
            )
        }
        None => (
            Backend::Live(Arc::new(super::client::fleet(&config.author))),
            Backend::Live(Arc::new(super::client::fleet(&config.solver))),
            recorder,
        ),
    })
}

/// Each role's live endpoint (what a scheduled run uses).
pub(super) fn live_backends(config: &CampaignConfig) -> Result<(Backend, Backend), String> {
    backends(
        config,
        &TrafficArgs {
            record: None,
            replay: None,
        },
        None,
    )
    .map(|(a, s, _)| (a, s))
}

fn example() -> Result<(CampaignConfig, Vec<Task>), String> {
    let mut config = CampaignConfig::parse(EXAMPLE_CONFIG, Path::new("."))?;
    config.tasks = PathBuf::from("(embedded example tasks)");
    let tasks = EXAMPLE_TASKS
        .iter()
        .map(|(id, text)| Task {
            id: (*id).into(),
            description: text.trim().into(),
            title: text
                .lines()
                .find(|l| l.starts_with("# "))
                .map(|l| l[2..].trim().to_owned()),
            examples: None,
            reference_solution: None,
            tags: vec![],
        })
        .collect();
    Ok((config, tasks))
}

pub fn run(cmd: CampaignCommand, db: &DbArgs, cache_dir: &Path) -> CliResult {
    let rt = runtime()?;
    match cmd {
        CampaignCommand::Run {
            config,
            traffic,
            lease,
            json,
        } => {
            let control = lease.control()?;
            let (config, tasks, path, default_replay) = match &config {
                Some(path) => {
                    let config = CampaignConfig::load(path).map_err(bad_input)?;
                    let tasks = tasks::load(&config.tasks).map_err(bad_input)?;
                    (config, tasks, Some(path.display().to_string()), None)
                }
                None => {
                    let (config, tasks) = match example() {
                        Ok(x) => x,
                        Err(msg) => {
                            return Err(usage(format!("the embedded example campaign: {msg}")));
                        }
                    };
                    // Live against an endpoint when one is configured.
                    let replay = std::env::var_os("OPENAI_BASE_URL")
                        .is_none()
                        .then_some(EXAMPLE_CASSETTE);
                    (config, tasks, None, replay)
                }
            };
            crate::campaign::prompts::Prompts::load(config.prompts.as_deref())
                .map_err(bad_input)?;
            let (author, solver, recorder) =
                backends(&config, &traffic, default_replay).map_err(usage)?;
            let engines = rt.block_on(engines(db, cache_dir, author, solver, recorder))?;
            finish(
                rt.block_on(campaign::start_controlled(
                    engines, config, path, tasks, control,
                )),
                json,
                db,
            )
        }
        CampaignCommand::Resume {
            id,
            max_llm_calls,
            max_tokens,
            max_usd,
            config: new_config,
            author_base_url,
            solver_base_url,
            traffic,
            lease,
            json,
        } => {
            let control = lease.control()?;
            let store = rt.block_on(Store::open(&db.path()))?;
            let row = match rt.block_on(store.campaign(id)) {
                Ok(Some(row)) => row,
                Ok(None) => {
                    return Err(usage(format!(
                        "no campaign {id} in {} (see `bootforge campaign list`)",
                        db.path().display()
                    )));
                }
                Err(err) => return Err(failed(err)),
            };
            let mut config: CampaignConfig = match serde_json::from_str(&row.config_json) {
                Ok(c) => c,
                Err(err) => {
                    return Err(usage(format!(
                        "campaign {id}'s stored configuration is unreadable: {err}"
                    )));
                }
            };
            let before = config.clone();
            if let Some(path) = &new_config {
                let file = CampaignConfig::load(path).map_err(bad_input)?;
                config = match campaign::resume::adopt_endpoints(&config, &file) {
                    Ok(c) => c,
                    Err(keys) => {
                        return Err(usage(format!(
                            "{} differs from campaign {id}'s stored settings in: {}; a resume takes only the [author] and [solver] endpoint settings ({}) from a file (budgets: --max-llm-calls, --max-tokens, --max-usd)",
                            path.display(),
                            keys.join(", "),
                            campaign::resume::ENDPOINT_KEYS.join(", ")
                        )));
                    }
                };
            }
            for (name, url, role) in [
                ("author", &author_base_url, &mut config.author),
                ("solver", &solver_base_url, &mut config.solver),
            ] {
                if let Some(url) = url
                    && let Err(msg) = campaign::resume::override_base_url(role, name, url)
                {
                    return Err(usage(msg));
                }
            }
            config.budget.max_llm_calls = max_llm_calls.unwrap_or(config.budget.max_llm_calls);
            config.budget.max_tokens = max_tokens.unwrap_or(config.budget.max_tokens);
            config.budget.max_usd = max_usd.or(config.budget.max_usd);
            if let Err(msg) = config.validate() {
                return Err(usage(msg));
            }
            if config != before {
                let json = serde_json::to_string(&config).unwrap_or_default();
                rt.block_on(store.set_campaign_config(id, &json))?;
            }
            let default_replay = (row.config_path.is_none()
                && std::env::var_os("OPENAI_BASE_URL").is_none())
            .then_some(EXAMPLE_CASSETTE);
            let (author, solver, recorder) =
                backends(&config, &traffic, default_replay).map_err(usage)?;
            let engines = rt.block_on(engines(db, cache_dir, author, solver, recorder))?;
            finish(
                rt.block_on(campaign::resume_controlled(engines, id, control, None)),
                json,
                db,
            )
        }
        CampaignCommand::Status { id, json } => rt.block_on(status(db, id, json)),
        CampaignCommand::List { json } => rt.block_on(list(db, json)),
    }
}

async fn engines(
    db: &DbArgs,
    cache_dir: &Path,
    author: Backend,
    solver: Backend,
    recorder: Option<Arc<Recorder>>,
) -> CliResult<Engines> {
    let store = Store::open(&db.path()).await.map_err(failed)?;
    let sandbox = open_sandbox(cache_dir, None)?;
    Ok(Engines {
        store,
        sandbox,
        author,
        solver,
        recorder,
        progress: std::io::stderr()
            .is_terminal()
            .then(|| Arc::new(ProgressLine) as Arc<dyn Progress>),
    })
}

/// The campaign's counts on one line of stderr, redrawn in place.
struct ProgressLine;

impl Progress for ProgressLine {
    fn event(&self, event: &CampaignEvent) {
        match event {
            CampaignEvent::Counts(c) => eprint!("\r{}", counts_line(c)),
            // Leave the last line on screen.
            CampaignEvent::Ended => eprintln!(),
        }
    }
}

/// The progress line's text.
fn counts_line(c: &Counts) -> String {
    let usd = match c.usd {
        Some(usd) => format!("· ${usd:.2} "),
        None => String::new(),
    };
    format!(
        "campaign {}: tasks {}/{} done · {} drafts evaluated · {} accepted · {} LLM calls · {} tokens {usd}",
        c.campaign,
        c.tasks_done,
        c.tasks_total,
        c.drafts_evaluated,
        c.tasks_accepted,
        c.llm_calls,
        c.tokens
    )
}

/// What to run about how campaign `id` ended.
fn hint(remedy: Remedy, id: i64) -> String {
    match remedy {
        Remedy::RaiseBudget => format!(
            "raise the budget: `bootforge campaign resume {id} --max-llm-calls N --max-tokens N --max-usd N`"
        ),
        Remedy::LiveEndpointOrCassette => format!(
            "resume against a live endpoint or with a cassette holding the missing answers: `bootforge campaign resume {id} [--replay FILE]`"
        ),
        Remedy::CheckEndpoint => format!(
            "check the endpoint (URL, model, key), then `bootforge campaign resume {id}` (moved: add `--author-base-url URL`, `--solver-base-url URL` or `--config FILE`)"
        ),
        Remedy::Resume => format!("`bootforge campaign resume {id}` continues it"),
        Remedy::RaiseAuthorMaxTokens { now } => {
            let now = match now {
                Some(n) => format!("now {n}"),
                None => "unset: the server's default limit applies".into(),
            };
            format!("raise [author].max_tokens ({now}) in the config and run the campaign again")
        }
    }
}

fn finish(result: anyhow::Result<CampaignOutcome>, json: bool, db: &DbArgs) -> CliResult {
    let outcome = result?;
    let hint = outcome.remedy.map(|r| hint(r, outcome.campaign));
    let mut out = Out::new();
    if json {
        out.line(json!({"campaign": outcome.campaign, "status": outcome.status, "reason": outcome.reason, "hint": hint, "tasks": outcome.tasks}));
    } else {
        out.line(format!("campaign {}: {}", outcome.campaign, outcome.status));
        render_tasks(&mut out, &outcome.tasks);
        // A finished campaign's cause (its author answers were cut off) is
        // part of its result, not a stop.
        if outcome.status == CampaignStatus::Done {
            if let Some(reason) = &outcome.reason {
                out.line(format!("cause: {reason}"));
            }
            if let Some(hint) = &hint {
                out.line(format!("next: {hint}"));
            }
            for line in next_steps(&outcome, db) {
                out.line(line);
            }
        }
    }
    if outcome.status != CampaignStatus::Done {
        if let Some(reason) = &outcome.reason {
            super::eprintln_visible!("campaign {} stopped: {reason}", outcome.campaign);
        }
        if let Some(hint) = &hint {
            super::eprintln_visible!("to continue: {hint}");
        }
    }
    if outcome.status == CampaignStatus::Done {
        Ok(())
    } else {
        Err(Exit::code(exit::FAILED))
    }
}

/// What a newcomer runs after a finished campaign: the accepted bootcamps
/// wait in the review queue, and nothing else says so.
fn next_steps(outcome: &CampaignOutcome, db: &DbArgs) -> Vec<String> {
    let bootforge = match &db.db {
        Some(path) => format!(
            "bootforge --db {}",
            super::review::shell_quote(&path.display().to_string())
        ),
        None => "bootforge".to_owned(),
    };
    let accepted = outcome
        .tasks
        .iter()
        .filter(|t| t.status == TaskStatus::Accepted)
        .count();
    if accepted == 0 {
        let task = outcome.tasks.first().map_or("TASK", |t| t.task.as_str());
        return vec![format!(
            "next: nothing was accepted; `{bootforge} lineage {} --campaign {}` shows a task's drafts and what failed",
            super::review::shell_quote(task),
            outcome.campaign
        )];
    }
    vec![
        format!(
            "next: {accepted} accepted bootcamp(s) wait in the review queue: `{bootforge} review next`"
        ),
        format!(
            "      shows the oldest and how to decide it; then `{bootforge} export --out DIR` writes the \
             approved ones, and `{bootforge} generate ID --n N --out FILE` makes training data"
        ),
    ]
}

fn render_tasks(out: &mut Out, tasks: &[campaign::TaskOutcome]) {
    out.line(format!(
        "{:<24} {:<9} {:>6} {:>4} {:>8}",
        "task", "status", "draft", "gen", "accuracy"
    ));
    for t in tasks {
        out.line(format!(
            "{:<24} {:<9} {:>6} {:>4} {:>8}",
            t.task,
            t.status,
            t.draft.map(|d| d.to_string()).unwrap_or("-".into()),
            t.generation.map(|g| g.to_string()).unwrap_or("-".into()),
            t.accuracy.map(|a| format!("{a:.3}")).unwrap_or("-".into())
        ));
    }
}

pub(super) async fn open_store(db: &DbArgs) -> CliResult<Store> {
    let path = db.path();
    if !path.exists() {
        return Err(usage(format!(
            "no database at {} (run a campaign first, or pass --db)",
            path.display()
        )));
    }
    Store::open(&path).await.map_err(failed)
}

async fn status(db: &DbArgs, id: Option<i64>, json: bool) -> CliResult {
    let store = open_store(db).await?;
    let result = async {
        let id = match id {
            Some(id) => id,
            None => match store.campaigns().await?.last() {
                Some(c) => c.id,
                None => anyhow::bail!("the database holds no campaign"),
            },
        };
        let row = store
            .campaign(id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("no campaign {id}"))?;
        let tasks = store.tasks(id).await?;
        let outcomes = campaign::outcomes(&store, id, &tasks).await?;
        let usage = store.usage(id).await?;
        let CampaignCounts {
            drafts,
            evaluated,
            accepted,
        } = store.counts(id).await?;
        // An unreadable stored config only loses the prices.
        let config: CampaignConfig = serde_json::from_str(&row.config_json).unwrap_or_default();
        let spend = campaign::spend(&store, id, &config).await?;
        let truncated = store.truncated_calls(id).await?;
        let endpoints = store.calls_by_endpoint(id).await?;
        let fleet = (spend, truncated, endpoints);
        let shown = campaign::lease::status_of(&store, &row).await?;
        Ok::<_, anyhow::Error>((
            row, outcomes, usage, drafts, evaluated, accepted, shown, fleet,
        ))
    }
    .await;
    let (row, outcomes, usage, drafts, evaluated, accepted, (shown, hint), fleet) = match result {
        Ok(x) => x,
        Err(err) => return Err(usage(format!("{err:#}"))),
    };
    let ((spend, usd), truncated, endpoints) = fleet;
    // Dollars only where a price is known: 0.0 would claim the calls were free.
    let usd = spend.iter().any(|r| r.usd.is_some()).then_some(usd);
    let mut out = Out::new();
    if json {
        out.line(json!({"campaign": row.id, "name": row.name, "status": shown, "hint": hint, "reason": row.stop_reason,
                        "drafts": drafts, "evaluated": evaluated, "accepted": accepted,
                        "llm_calls": usage.llm_calls, "tokens": usage.tokens, "usd": usd, "spend": spend,
                        "truncated": truncated.iter().map(|t| (t.role.clone(), json!(t.calls))).collect::<serde_json::Map<_, _>>(),
                        "endpoints": endpoints.iter().map(|e| json!({"role": e.role, "endpoint": e.endpoint, "calls": e.calls})).collect::<Vec<_>>(),
                        "tasks": outcomes}));
    } else {
        out.line(format!(
            "campaign {} ({}): {}{} · {drafts} drafts, {evaluated} evaluated, {accepted} accepted · {} LLM calls, {} tokens",
            row.id,
            row.name,
            shown,
            row.stop_reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default(),
            usage.llm_calls,
            usage.tokens
        ));
        for row in &spend {
            out.line(format!(
                "  {:<7} {:<28} {:>6} calls {:>10} in {:>10} out {}",
                row.role,
                row.model,
                row.calls,
                row.prompt_tokens,
                row.completion_tokens,
                row.usd
                    .map(|u| format!("${u:.4}"))
                    .unwrap_or_else(|| "(no price)".into())
            ));
        }
        if let Some(usd) = usd {
            out.line(format!("  spent ${usd:.4}"));
        }
        for e in &endpoints {
            out.line(format!(
                "  {:<7} {:<40} {:>6} calls",
                e.role,
                e.endpoint.as_deref().unwrap_or("(replayed or failed)"),
                e.calls
            ));
        }
        for t in &truncated {
            out.line(format!(
                "  {} {} answers cut off by max_tokens",
                t.calls, t.role
            ));
        }
        render_tasks(&mut out, &outcomes);
        if let Some(hint) = hint {
            out.line(format!("to continue: {hint}"));
        }
    }
    Ok(())
}

async fn list(db: &DbArgs, json: bool) -> CliResult {
    let store = open_store(db).await?;
    let campaigns = store.campaigns().await?;
    let mut out = Out::new();
    for c in campaigns {
        let (status, hint) = campaign::lease::status_of(&store, &c).await?;
        if json {
            out.line(json!({"campaign": c.id, "name": c.name, "status": status, "hint": hint, "created_at": c.created_at}));
        } else {
            out.line(format!(
                "{:>4}  {:<24} {:<11} {}{}",
                c.id,
                c.name,
                status,
                c.created_at,
                match (status.as_str(), hint) {
                    ("interrupted", Some(hint)) => format!("  ({hint})"),
                    _ => String::new(),
                }
            ));
        }
    }
    Ok(())
}

pub fn lineage(cmd: LineageCommand, db: &DbArgs) -> CliResult {
    let rt = runtime()?;
    rt.block_on(async {
        let store = open_store(db).await?;
        let campaign = match cmd.campaign {
            Some(id) => id,
            None => {
                let mut found = None;
                for c in store.campaigns().await.unwrap_or_default().iter().rev() {
                    if store.tasks(c.id).await.unwrap_or_default().iter().any(|t| t.id == cmd.task) {
                        found = Some(c.id);
                        break;
                    }
                }
                match found {
                    Some(id) => id,
                    None => return Err(usage(format!("no campaign has a task {:?}", cmd.task))),
                }
            }
        };
        let drafts = match store.drafts(campaign, &cmd.task).await {
            Ok(d) if !d.is_empty() => d,
            Ok(_) => return Err(usage(format!("campaign {campaign} has no drafts for task {:?}", cmd.task))),
            Err(err) => return Err(failed(err)),
        };
        // The guess baseline beside the accuracy (an accuracy means little
        // without what guessing gets), from each stored report.
        let mut baselines = std::collections::HashMap::new();
        for d in &drafts {
            if let Ok(Some(report)) = store.evaluation_report(d.id).await
                && let Some(b) = crate::evaluate::stored_guess_baseline(&report)
            {
                baselines.insert(d.id, b);
            }
        }
        // A calibrated draft's `calibrate` step (no author call).
        let calibrations: std::collections::HashMap<i64, CalibrationStep> = match store.draft_calibrations(campaign, &cmd.task).await {
            Ok(rows) => rows.iter().map(|c| (c.draft_id, calibration_step(c))).collect(),
            Err(err) => return Err(failed(err)),
        };
        let mut out = Out::new();
        if cmd.json {
            let list: Vec<_> = drafts
                .iter()
                .map(|d| json!({"id": d.id, "parent": d.parent_id, "generation": d.generation, "operator": d.operator,
                                "status": d.status, "verdict": d.verdict, "accuracy": d.accuracy,
                                "guess_baseline": baselines.get(&d.id), "main_finding": d.main_finding,
                                "note": campaign::draft_note(d.status), "calibrate": calibrations.get(&d.id)}))
                .collect();
            out.line(json!({"task": cmd.task, "campaign": campaign, "drafts": list}));
        } else {
            out.line(format!("task {} (campaign {campaign})", cmd.task));
            for d in campaign::lineage::tree(&drafts, None) {
                let depth = d.depth;
                let branch = if depth == 0 { String::new() } else { format!("{}{}", "   ".repeat(depth - 1), if d.last { "└─ " } else { "├─ " }) };
                let verdict = d.verdict.as_deref().unwrap_or(d.status.as_str());
                out.line(format!(
                    "{branch}#{} gen {} {} {}{}{}{}",
                    d.draft,
                    d.generation,
                    d.operator,
                    verdict,
                    d.accuracy.map(|a| format!(" acc {a:.3}")).unwrap_or_default(),
                    baselines.get(&d.draft).map(|b| format!(" guess {b:.2}")).unwrap_or_default(),
                    d.main_finding.as_deref().or(campaign::draft_note(d.status)).map(|m| format!(" · {}", m.chars().take(90).collect::<String>())).unwrap_or_default()
                ));
                if let Some(step) = calibrations.get(&d.draft) {
                    let more = drafts.iter().any(|c| c.parent_id == Some(d.draft));
                    out.line(format!("{}{}{}", "   ".repeat(depth), if more { "├─ " } else { "└─ " }, calibration_line(step)));
                }
            }
        }
        Ok(())
    })
}

/// A draft's calibration as a lineage step: whether a setting landed in
/// the band, the one chosen (parameters, accuracy and interval), the
/// settings tried and the solver calls they took. Serialised as the
/// `calibrate` key of `campaign lineage --json`, fields in this order.
#[derive(Debug, Clone, serde::Serialize)]
struct CalibrationStep {
    step: &'static str,
    author_calls: u32,
    calibration: Option<i64>,
    in_band: bool,
    params: Option<serde_json::Value>,
    accuracy: Option<f64>,
    /// The chosen setting's interval, when it landed in the band.
    interval: Option<Vec<Option<f64>>>,
    settings_tried: Option<usize>,
    solver_calls: Option<u64>,
    new_solver_calls: Option<u64>,
    moving: Option<String>,
    /// Why no setting landed in the band, when none did.
    miss: Option<String>,
    note: Option<String>,
}

fn calibration_step(c: &crate::store::DraftCalibrationRow) -> CalibrationStep {
    let report = c
        .result_json
        .as_deref()
        .and_then(StoredCalibration::read)
        .unwrap_or_default();
    let test = report.test().cloned().unwrap_or_default();
    let params = c
        .params_json
        .as_deref()
        .and_then(|p| serde_json::from_str::<serde_json::Value>(p).ok());
    CalibrationStep {
        step: "calibrate",
        author_calls: 0,
        calibration: c.calibration_id,
        in_band: c.in_band,
        params,
        accuracy: c.accuracy,
        interval: if c.in_band { test.interval } else { None },
        settings_tried: report.tried.as_ref().map(Vec::len),
        solver_calls: report.solver_calls,
        new_solver_calls: report.new_solver_calls,
        moving: report.moving,
        miss: if c.in_band { None } else { test.miss },
        note: c.note.clone(),
    }
}

fn calibration_line(step: &CalibrationStep) -> String {
    let visible = |text: &str, max: usize| -> String {
        crate::text::visible(&text.chars().take(max).collect::<String>()).into_owned()
    };
    let tried = format!(
        "{} settings, {} solver calls, no author call",
        step.settings_tried.unwrap_or(0),
        step.solver_calls.unwrap_or(0)
    );
    if step.in_band {
        let end = |i: usize| step.interval.as_ref()?.get(i).copied().flatten();
        let interval = match (end(0), end(1)) {
            (Some(lo), Some(hi)) => format!(" [{lo:.2}, {hi:.2}]"),
            _ => String::new(),
        };
        let params = step.params.clone().unwrap_or_default();
        format!(
            "calibrate in band {} acc {:.3}{interval} · {tried}",
            visible(&params.to_string(), 120),
            step.accuracy.unwrap_or(0.0),
        )
    } else {
        let why = step
            .miss
            .as_deref()
            .or(step.note.as_deref())
            .unwrap_or("no setting in the band");
        format!("calibrate missed · {} · {tried}", visible(why, 120))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lineage's `calibrate` step keeps its JSON keys, their order and
    /// its line, read from a stored calibration report.
    #[test]
    fn a_calibration_step_reads_the_stored_report() {
        let report = json!({
            "calibration": 2, "moving": "size", "solver_calls": 40, "new_solver_calls": 12,
            "tried": [{"params": {"size": 4}}, {"params": {"size": 8}}],
            "chosen": [{"role": "test", "miss": "too hard", "interval": [0.25, null]}]
        });
        let row = crate::store::DraftCalibrationRow {
            draft_id: 5,
            calibration_id: Some(2),
            in_band: true,
            params_json: Some(r#"{"size":4}"#.into()),
            accuracy: Some(0.5),
            note: None,
            result_json: Some(report.to_string()),
        };
        let step = calibration_step(&row);
        assert_eq!(
            serde_json::to_string(&step).unwrap(),
            r#"{"step":"calibrate","author_calls":0,"calibration":2,"in_band":true,"params":{"size":4},"accuracy":0.5,"interval":[0.25,null],"settings_tried":2,"solver_calls":40,"new_solver_calls":12,"moving":"size","miss":null,"note":null}"#
        );
        assert_eq!(
            calibration_line(&step),
            r#"calibrate in band {"size":4} acc 0.500 · 2 settings, 40 solver calls, no author call"#
        );
        let missed = calibration_step(&crate::store::DraftCalibrationRow {
            in_band: false,
            result_json: Some("not json".into()),
            note: Some("the sandbox failed".into()),
            ..row
        });
        assert_eq!(
            serde_json::to_string(&missed).unwrap(),
            r#"{"step":"calibrate","author_calls":0,"calibration":2,"in_band":false,"params":{"size":4},"accuracy":0.5,"interval":null,"settings_tried":null,"solver_calls":null,"new_solver_calls":null,"moving":null,"miss":null,"note":"the sandbox failed"}"#
        );
        assert_eq!(
            calibration_line(&missed),
            "calibrate missed · the sandbox failed · 0 settings, 0 solver calls, no author call"
        );
    }

    #[test]
    fn the_progress_line_shows_dollars_only_when_priced() {
        let mut counts = Counts {
            campaign: 4,
            tasks_done: 1,
            tasks_total: 3,
            drafts_evaluated: 5,
            tasks_accepted: 1,
            llm_calls: 9,
            tokens: 1200,
            usd: None,
        };
        assert_eq!(
            counts_line(&counts),
            "campaign 4: tasks 1/3 done · 5 drafts evaluated · 1 accepted · 9 LLM calls · 1200 tokens "
        );
        counts.usd = Some(0.125);
        assert!(counts_line(&counts).ends_with("· 1200 tokens · $0.12 "));
    }

    #[test]
    fn a_cut_off_author_answer_hints_at_its_max_tokens() {
        let hint_now = hint(Remedy::RaiseAuthorMaxTokens { now: Some(64) }, 3);
        assert!(
            hint_now.contains("raise [author].max_tokens (now 64)"),
            "{hint_now}"
        );
        let unset = hint(Remedy::RaiseAuthorMaxTokens { now: None }, 3);
        assert!(unset.contains("server's default"), "{unset}");
        assert_eq!(
            hint(Remedy::Resume, 3),
            "`bootforge campaign resume 3` continues it"
        );
    }
}
