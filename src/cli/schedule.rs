//! `bootforge schedule ...` and `bootforge daemon [status]`: flags,
//! rendering, exit codes. The work is in [`crate::schedule`].

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Subcommand};
use serde_json::json;

use super::campaign::{DbArgs, live_backends};
use super::{CliResult, Out, failed, open_sandbox, runtime, usage};
use crate::schedule::clock::{Clock, ShiftedClock, SystemClock, parse_instant};
use crate::schedule::daemon::{Daemon, DaemonOptions};
use crate::schedule::due::{CatchUp, human, system_zone_name};
use crate::schedule::{self, AddError, NewSchedule};
use crate::store::Store;

const CLOCK_HELP: &str = "Testing: BOOTFORGE_NOW=2026-03-08T06:59:00Z (or the hidden --now) starts the schedules' clock at that instant; time then passes as usual. Leases always use the real clock.";

/// The schedules' clock.
#[derive(Args, Debug, Clone)]
pub struct ClockArgs {
    /// Start the schedules' clock at this RFC 3339 instant (testing).
    #[arg(
        long,
        global = true,
        env = "BOOTFORGE_NOW",
        hide = true,
        value_name = "RFC3339"
    )]
    now: Option<String>,
}

impl ClockArgs {
    fn clock(&self) -> CliResult<Arc<dyn Clock>> {
        match &self.now {
            None => Ok(Arc::new(SystemClock)),
            Some(text) => match parse_instant(text) {
                Ok(t) => Ok(Arc::new(ShiftedClock::starting_at(t))),
                Err(msg) => Err(usage(format!("BOOTFORGE_NOW / --now: {msg}"))),
            },
        }
    }
}

#[derive(Subcommand, Debug)]
#[command(after_help = CLOCK_HELP)]
pub enum ScheduleCommand {
    /// Add a schedule: run the campaign CONFIG (as it is on disk at each
    /// run) at every slot of a 5-field cron expression read in a time zone.
    /// The expression, the zone and the config are checked now (exit 2 with
    /// the reason); prints the next three runs.
    Add {
        /// The schedule's name (letters, digits, '-', '_', '.').
        name: String,
        /// minute hour day-of-month month day-of-week, e.g. "0 2 * * *";
        /// standard cron only: ranges, lists, steps and names (MON-FRI, JAN),
        /// not the extensions ? L W # +.
        #[arg(long, value_name = "EXPR")]
        cron: String,
        /// The campaign configuration (TOML), read again at each run, so tasks
        /// added to its task directory are picked up.
        #[arg(long, value_name = "CONFIG")]
        campaign: PathBuf,
        /// IANA time zone the expression is read in (default: this machine's;
        /// UTC, with a warning, when TZ is not a time zone).
        #[arg(long, value_name = "TZ")]
        timezone: Option<String>,
        /// Slots missed while no daemon ran: run once for all of them, or skip them.
        #[arg(long, value_name = "once|skip", default_value = "once")]
        catch_up: CatchUp,
        /// Print one JSON object: {"schedule", "next"}.
        #[arg(long)]
        json: bool,
    },
    /// List the schedules: next run, last run and its outcome.
    List {
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Show one schedule, its next runs and its recent history.
    Show {
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Stop starting runs of a schedule (a run going on continues).
    Pause { name: String },
    /// Start running a paused schedule again; slots missed while paused are
    /// not caught up.
    Resume { name: String },
    /// Remove a schedule; its history stays (`schedule history NAME`).
    Rm { name: String },
    /// Every slot of a schedule: campaign, status (following the campaign's,
    /// also when it was finished by hand), accepted and rejected tasks, LLM
    /// calls and tokens, duration; skipped and failed slots with the reason
    /// (on one line; --json has it whole).
    History {
        name: String,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
}

impl clap::ValueEnum for CatchUp {
    fn value_variants<'a>() -> &'a [Self] {
        &[CatchUp::Once, CatchUp::Skip]
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.as_str()))
    }
}

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true, after_help = CLOCK_HELP)]
pub struct DaemonArgs {
    #[command(subcommand)]
    action: Option<DaemonAction>,
    /// Run everything due now (and resume runs whose holder is gone), beyond
    /// --max-parallel as places free, wait for them all, and exit: for
    /// cron-driven setups and tests.
    #[arg(long)]
    once: bool,
    /// Campaigns running at once.
    #[arg(long, value_name = "N", default_value_t = 2)]
    max_parallel: usize,
    /// On SIGTERM/SIGINT no new run or call starts; calls in flight get this
    /// many seconds to finish before they are abandoned (the daemon exits as
    /// soon as they answer; every campaign is left resumable either way).
    #[arg(long, value_name = "S", default_value_t = 30.0)]
    grace_s: f64,
    /// Seconds a campaign's lease outlives a daemon that died (kill -9, power
    /// loss): another daemon resumes the run after this.
    #[arg(long, value_name = "S", default_value_t = 60.0)]
    lease_s: f64,
    /// Milliseconds between looks at the schedules.
    #[arg(long, value_name = "MS", default_value_t = 1000, hide = true)]
    tick_ms: u64,
}

#[derive(Subcommand, Debug)]
enum DaemonAction {
    /// Whether a daemon holds the database, what it is running, and when
    /// each schedule runs next.
    Status {
        /// Print one JSON object: {"daemons", "running", "schedules"}.
        #[arg(long)]
        json: bool,
    },
}

async fn store(db: &DbArgs) -> CliResult<Store> {
    Store::open(&db.path()).await.map_err(failed)
}

pub fn schedule(cmd: ScheduleCommand, db: &DbArgs, clock: &ClockArgs) -> CliResult {
    let clock = clock.clock()?;
    let rt = runtime()?;
    rt.block_on(async {
        let store = store(db).await?;
        let mut out = Out::new();
        let now = clock.now();
        match cmd {
            ScheduleCommand::Add {
                name,
                cron,
                campaign,
                timezone,
                catch_up,
                json,
            } => {
                let timezone = timezone.unwrap_or_else(|| {
                    let (zone, warning) = system_zone_name(
                        jiff::tz::TimeZone::try_system(),
                        std::env::var("TZ").ok().as_deref(),
                    );
                    if let Some(warning) = warning {
                        eprintln!("warning: {warning}");
                    }
                    zone
                });
                let new = NewSchedule {
                    name,
                    cron,
                    timezone,
                    config: campaign,
                    catch_up,
                };
                let shown = new.name.clone();
                match schedule::add(&store, new, now).await {
                    Ok((row, next, tasks)) => {
                        let next: Vec<String> = next.iter().map(|z| z.to_string()).collect();
                        if tasks == 0 {
                            eprintln!(
                                "note: its task directory holds no task yet; a slot that finds none is recorded as skipped"
                            );
                        }
                        if json {
                            out.line(json!({"schedule": row, "next": next, "tasks": tasks}));
                        } else {
                            out.line(format!(
                                "schedule {} added: \"{}\" in {}, campaign {}, catch-up {}",
                                row.name, row.cron, row.timezone, row.config_path, row.catch_up
                            ));
                            out.line("next runs:");
                            for n in next {
                                out.line(format!("  {n}"));
                            }
                        }
                        Ok(())
                    }
                    Err(AddError::Invalid(msg)) => Err(usage(format!("schedule {shown}: {msg}"))),
                    Err(AddError::Store(err)) => Err(failed(err)),
                }
            }
            ScheduleCommand::List { json } => {
                let views = match schedule::views(&store, now, 1).await {
                    Ok(v) => v,
                    Err(err) => return Err(failed(err)),
                };
                if !json {
                    out.line(format!(
                        "{:<16} {:<18} {:<18} {:<6} {:<44} last",
                        "name", "cron", "zone", "state", "next run"
                    ));
                }
                for v in views {
                    if json {
                        out.line(serde_json::to_string(&v).unwrap_or_default());
                        continue;
                    }
                    out.line(format!(
                        "{:<16} {:<18} {:<18} {:<6} {:<44} {}",
                        v.schedule.name,
                        v.schedule.cron,
                        v.schedule.timezone,
                        if v.schedule.paused { "paused" } else { "active" },
                        v.next.first().map(String::as_str).unwrap_or("-"),
                        v.last
                            .map(|l| format!("{} {}", l.slot, l.status))
                            .unwrap_or_else(|| "-".into())
                    ));
                }
                Ok(())
            }
            ScheduleCommand::Show { name, json } => {
                let views = match schedule::views(&store, now, 3).await {
                    Ok(v) => v,
                    Err(err) => return Err(failed(err)),
                };
                let Some(view) = views.into_iter().find(|v| v.schedule.name == name) else {
                    return Err(usage(format!("no schedule {name:?} (see `bootforge schedule list`)")));
                };
                let history = match schedule::history(&store, &name).await {
                    Ok(h) => h,
                    Err(err) => return Err(failed(err)),
                };
                let recent: Vec<_> = history.iter().rev().take(5).collect();
                if json {
                    out.line(json!({"schedule": view.schedule, "next": view.next, "recent": recent}));
                } else {
                    let s = &view.schedule;
                    out.line(format!("schedule {}", s.name));
                    out.line(format!("  cron      \"{}\" in {}", s.cron, s.timezone));
                    out.line(format!("  campaign  {}", s.config_path));
                    out.line(format!("  catch-up  {}", s.catch_up));
                    out.line(format!("  state     {}", if s.paused { "paused" } else { "active" }));
                    out.line("  next runs");
                    for n in &view.next {
                        out.line(format!("    {n}"));
                    }
                    out.line("  recent runs");
                    for h in recent {
                        out.line(format!("    {}", history_line(h)));
                    }
                }
                Ok(())
            }
            ScheduleCommand::Pause { name } => {
                match store.set_schedule_paused(&name, true, now.as_second()).await {
                    Ok(true) => {
                        out.line(format!("schedule {name} paused"));
                        Ok(())
                    }
                    Ok(false) => Err(usage(format!("no schedule {name:?} (see `bootforge schedule list`)"))),
                    Err(err) => Err(failed(err)),
                }
            }
            ScheduleCommand::Resume { name } => {
                match store.set_schedule_paused(&name, false, now.as_second()).await {
                    Ok(true) => {
                        out.line(format!("schedule {name} resumed; slots missed while paused are not caught up"));
                        Ok(())
                    }
                    Ok(false) => match store.schedule(&name).await {
                        Ok(Some(_)) => {
                            out.line(format!("schedule {name} is not paused"));
                            Ok(())
                        }
                        Ok(None) => Err(usage(format!("no schedule {name:?} (see `bootforge schedule list`)"))),
                        Err(err) => Err(failed(err)),
                    },
                    Err(err) => Err(failed(err)),
                }
            }
            ScheduleCommand::Rm { name } => match store.remove_schedule(&name).await {
                Ok(true) => {
                    out.line(format!(
                        "schedule {name} removed; its history stays (`bootforge schedule history {name}`)"
                    ));
                    Ok(())
                }
                Ok(false) => Err(usage(format!("no schedule {name:?} (see `bootforge schedule list`)"))),
                Err(err) => Err(failed(err)),
            },
            ScheduleCommand::History { name, json } => {
                let history = match schedule::history(&store, &name).await {
                    Ok(h) => h,
                    Err(err) => return Err(failed(err)),
                };
                if history.is_empty() && !matches!(store.schedule(&name).await, Ok(Some(_))) {
                    return Err(usage(format!("no schedule {name:?} and no history under that name")));
                }
                for h in &history {
                    if json {
                        out.line(serde_json::to_string(h).unwrap_or_default());
                    } else {
                        out.line(history_line(h));
                    }
                }
                Ok(())
            }
        }
    })
}

fn history_line(h: &schedule::HistoryEntry) -> String {
    format!(
        "{}  {:<8} campaign {:<5} accepted {} rejected {} · {} LLM calls, {} tokens · {}{}",
        h.slot,
        h.status,
        h.campaign.map(|c| c.to_string()).unwrap_or("-".into()),
        h.accepted,
        h.rejected,
        h.llm_calls,
        h.tokens,
        h.duration_s
            .map(|d| human(jiff::SignedDuration::from_secs_f64(d.max(0.0))))
            .unwrap_or("-".into()),
        h.reason
            .as_deref()
            .map(|r| format!(" · {}", one_line(r)))
            .unwrap_or_default()
    )
}

/// A history line's longest reason; `--json` has the whole of it.
const REASON_CHARS: usize = 300;

/// Pure: a reason on one line. A parser's error quotes the source with a
/// caret under it (TOML's does, over five lines): the quote is left out and
/// the message lines are joined, e.g. `... TOML parse error at line 2,
/// column 8: unclosed table, expected `]``.
fn one_line(reason: &str) -> String {
    let quote = |line: &str| {
        let t = line.trim_start();
        t.starts_with('|')
            || t.split_once(" |")
                .is_some_and(|(n, _)| n.chars().all(|c| c.is_ascii_digit()))
    };
    let text = reason
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !quote(l))
        .collect::<Vec<_>>()
        .join(": ");
    match text.char_indices().nth(REASON_CHARS) {
        Some((cut, _)) => format!("{}… (`--json` has the full reason)", &text[..cut]),
        None => text,
    }
}

fn seconds(flag: &str, value: f64, max: f64) -> CliResult<Duration> {
    if value.is_finite() && (0.0..=max).contains(&value) {
        Ok(Duration::from_secs_f64(value))
    } else {
        Err(usage(format!(
            "{flag} {value} is out of range: give 0 to {max} seconds"
        )))
    }
}

pub fn daemon(
    args: DaemonArgs,
    db: &DbArgs,
    clock: &ClockArgs,
    cache_dir: &std::path::Path,
) -> CliResult {
    let clock = clock.clock()?;
    if let Some(DaemonAction::Status { json }) = args.action {
        return status(db, clock.as_ref(), json);
    }
    let options = (|| {
        if args.max_parallel == 0 {
            return Err(usage("--max-parallel must be at least 1"));
        }
        let lease_ttl = seconds("--lease-s", args.lease_s, 86_400.0)?;
        if lease_ttl < Duration::from_millis(300) {
            return Err(usage("--lease-s must be at least 0.3"));
        }
        Ok(DaemonOptions {
            once: args.once,
            max_parallel: args.max_parallel,
            grace: seconds("--grace-s", args.grace_s, 86_400.0)?,
            lease_ttl,
            tick: Duration::from_millis(args.tick_ms.clamp(10, 60_000)),
        })
    })()?;
    let db_path = db.path();
    let data_dir = db_path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(|p| p.to_path_buf())
        .unwrap_or_else(|| PathBuf::from("."));
    let log_filter = std::env::var("BOOTFORGE_LOG").ok();
    if let Err(msg) = std::fs::create_dir_all(&data_dir)
        .map_err(|e| format!("cannot create {}: {e}", data_dir.display()))
        .and_then(|_| schedule::logs::init(&data_dir, log_filter.as_deref()))
    {
        return Err(usage(msg));
    }
    let rt = runtime()?;
    rt.block_on(async {
        // Before the sandbox (compiling it on a cold cache takes a while): a
        // SIGTERM then is a clean stop, not the default kill.
        let shutdown = match shutdown_signal() {
            Ok(f) => f,
            Err(err) => return Err(failed(err)),
        };
        let store = store(db).await?;
        let sandbox = open_sandbox(cache_dir, None)?;
        let daemon = Daemon {
            store,
            sandbox,
            backends: Arc::new(live_backends),
            clock,
            options,
        };
        match daemon.run(shutdown).await {
            Ok(summary) => {
                let abandoned = match summary.abandoned {
                    0 => String::new(),
                    n => format!(" ({n} with calls in flight abandoned)"),
                };
                eprintln!(
                    "daemon stopped ({}): {} run(s) started or resumed, {} left resumable{abandoned}",
                    summary.reason, summary.started, summary.left_resumable
                );
                Ok(())
            }
            Err(err) => Err(failed(err)),
        }
    })
}

/// SIGTERM or SIGINT, registered now (so a signal that comes early is not
/// the default kill).
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = String>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        Ok(async move {
            tokio::select! {
                _ = term.recv() => "SIGTERM".to_owned(),
                _ = int.recv() => "SIGINT".to_owned(),
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async move {
            let _ = tokio::signal::ctrl_c().await;
            "Ctrl-C".to_owned()
        })
    }
}

fn status(db: &DbArgs, clock: &dyn Clock, json: bool) -> CliResult {
    let rt = runtime()?;
    rt.block_on(async {
        let store = store(db).await?;
        let view = match schedule::daemon::status(&store, clock.now()).await {
            Ok(v) => v,
            Err(err) => return Err(failed(err)),
        };
        let mut out = Out::new();
        if json {
            out.line(serde_json::to_string(&view).unwrap_or_default());
            return Ok(());
        }
        let alive: Vec<_> = view.daemons.iter().filter(|d| d.alive).collect();
        if alive.is_empty() {
            out.line("daemon: none running on this database");
        }
        for d in alive {
            out.line(format!(
                "daemon: running on host {} pid {} since {} (heartbeat {:.0}s ago)",
                d.host, d.pid, d.started_at, d.heartbeat_age_s
            ));
        }
        if view.running.is_empty() {
            out.line("running: nothing");
        }
        for r in &view.running {
            out.line(format!(
                "running: schedule {} slot {} campaign {} ({})",
                r.schedule,
                r.slot,
                r.campaign.map(|c| c.to_string()).unwrap_or("-".into()),
                r.holder
                    .clone()
                    .unwrap_or_else(|| "holder gone: a daemon resumes it".into())
            ));
        }
        for s in &view.schedules {
            out.line(format!(
                "schedule {}: next {}",
                s.schedule.name,
                if s.schedule.paused {
                    "paused".to_owned()
                } else {
                    s.next.first().cloned().unwrap_or("-".into())
                }
            ));
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_toml_error_is_one_line_in_history() {
        let toml = "the campaign config is not usable: /c.toml: TOML parse error at line 2, column 8\n  |\n2 | [author\n  |        ^\nunclosed table, expected `]`\n";
        assert_eq!(
            one_line(toml),
            "the campaign config is not usable: /c.toml: TOML parse error at line 2, column 8: unclosed table, expected `]`"
        );
        assert_eq!(one_line("no task in /t"), "no task in /t");
        let long = one_line(&"é".repeat(1000));
        assert!(long.starts_with(&"é".repeat(REASON_CHARS)) && long.ends_with("full reason)"));
    }
}
