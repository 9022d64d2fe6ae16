//! Scheduled campaigns: schedules (a cron expression in a time
//! zone and a campaign config read from disk at each run) and the daemon that
//! runs them on time, once per slot across daemons, surviving restarts.
//!
//! - [`due`]: when a schedule runs (pure: cron, zones, DST, catch-up);
//! - [`clock`]: the clock behind a trait (tests move time);
//! - [`daemon`]: the loop that claims due slots and runs their campaigns;
//! - [`state`]: a run's state, following its campaign's (pure);
//! - [`logs`]: the daemon's tracing output (stderr and a daily file).
//!
//! Floors: cli → schedule → campaign → store. The SQL is in
//! `store/schedule.rs` and `store/lease.rs`.

pub mod clock;
pub mod daemon;
pub mod due;
pub mod logs;
pub mod state;

use std::path::Path;

use anyhow::Result;
use jiff::Timestamp;
use serde::Serialize;

use crate::campaign::config::CampaignConfig;
use crate::campaign::prompts::Prompts;
use crate::campaign::tasks::{self, Task};
use crate::store::{RunRow, ScheduleRow, Store};
use due::{CatchUp, Spec};

/// A campaign config as a run would start it: the config, its tasks, and
/// the config as stored JSON. Every error says what is wrong with the file.
/// A task directory with no task yet is not an error (tasks arrive during
/// the day): the tasks are then empty.
pub fn prepare(path: &Path) -> Result<(CampaignConfig, Vec<Task>, String), String> {
    let config = CampaignConfig::load(path).map_err(|e| format!("{e:#}"))?;
    let no_task_yet = std::fs::read_dir(&config.tasks).is_ok_and(|entries| {
        !entries
            .flatten()
            .any(|e| e.path().extension().is_some_and(|x| x == "md"))
    });
    let tasks = match no_task_yet {
        true => Vec::new(),
        false => tasks::load(&config.tasks).map_err(|e| format!("{e:#}"))?,
    };
    Prompts::load(config.prompts.as_deref()).map_err(|e| format!("{e:#}"))?;
    let json = serde_json::to_string(&config).map_err(|e| e.to_string())?;
    Ok((config, tasks, json))
}

/// A schedule to add, validated.
pub struct NewSchedule {
    pub name: String,
    pub cron: String,
    pub timezone: String,
    pub config: std::path::PathBuf,
    pub catch_up: CatchUp,
}

/// Why `schedule add` refused.
#[derive(Debug, thiserror::Error)]
pub enum AddError {
    /// Bad input: the message says what to fix.
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] anyhow::Error),
}

/// Validate and store a schedule (the cron, the zone, and the config as a
/// run would read it: a broken file is refused now, not at 3 a.m.). Returns
/// the stored row, its next three slots in its zone, and how many tasks
/// its task directory holds now.
pub async fn add(
    store: &Store,
    new: NewSchedule,
    now: Timestamp,
) -> Result<(ScheduleRow, Vec<jiff::Zoned>, usize), AddError> {
    let invalid = AddError::Invalid;
    let valid_name = !new.name.is_empty()
        && new.name.len() <= 64
        && new
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if !valid_name {
        return Err(invalid(format!(
            "schedule name {:?}: use 1-64 letters, digits, '-', '_' or '.'",
            new.name
        )));
    }
    let spec = Spec::new(&new.cron, &new.timezone).map_err(invalid)?;
    let config = std::path::absolute(&new.config).unwrap_or(new.config.clone());
    let (_, tasks, _) =
        prepare(&config).map_err(|e| invalid(format!("the campaign config is not usable: {e}")))?;
    let mut row = ScheduleRow {
        id: 0,
        name: new.name.clone(),
        cron: new.cron.split_whitespace().collect::<Vec<_>>().join(" "),
        timezone: due::canonical_zone_name(&new.timezone),
        config_path: config.display().to_string(),
        catch_up: new.catch_up.as_str().into(),
        paused: false,
        since_s: now.as_second(),
        created_at: now.to_string(),
    };
    row.id = store.add_schedule(&row).await?.ok_or_else(|| {
        invalid(format!(
            "a schedule named {:?} exists (`bootforge schedule rm {}` first, or pick another name)",
            new.name, new.name
        ))
    })?;
    let next = spec.upcoming(now, 3);
    Ok((row, next, tasks.len()))
}

/// A schedule as `schedule list/show` and `daemon status` show it.
#[derive(Debug, Clone, Serialize)]
pub struct ScheduleView {
    #[serde(flatten)]
    pub schedule: ScheduleRow,
    /// The next slots (RFC 3339 in the schedule's zone), none while paused.
    pub next: Vec<String>,
    pub last: Option<HistoryEntry>,
}

/// One slot of a schedule's history.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryEntry {
    /// The slot in the schedule's zone (RFC 3339).
    pub slot: String,
    pub campaign: Option<i64>,
    pub status: state::SlotStatus,
    pub reason: Option<String>,
    pub accepted: i64,
    pub rejected: i64,
    pub llm_calls: i64,
    pub tokens: i64,
    pub duration_s: Option<f64>,
}

fn zoned(slot_s: i64, zone: &str) -> String {
    let t = Timestamp::from_second(slot_s).unwrap_or(Timestamp::UNIX_EPOCH);
    match due::parse_zone(zone) {
        Ok(tz) => t.to_zoned(tz).to_string(),
        Err(_) => t.to_string(),
    }
}

/// A run as history shows it (its state following its campaign's), with
/// its campaign's counts.
pub async fn history_entry(store: &Store, run: &RunRow, zone: &str) -> Result<HistoryEntry> {
    let state = state::of(run);
    let (mut accepted, mut rejected, mut llm_calls, mut tokens) = (0, 0, 0, 0);
    if let Some(id) = run.campaign_id {
        let tasks = store.task_outcome_counts(id).await?;
        (accepted, rejected) = (tasks.accepted, tasks.rejected);
        let usage = store.usage(id).await?;
        (llm_calls, tokens) = (usage.llm_calls, usage.tokens);
    }
    Ok(HistoryEntry {
        slot: zoned(run.slot_s, zone),
        campaign: run.campaign_id,
        accepted,
        rejected,
        llm_calls,
        tokens,
        // The campaign's end is on the real clock, the start on the
        // schedule's (`BOOTFORGE_NOW`): a duration they cannot give is left out.
        duration_s: state
            .finished_ms
            // A slot that started no campaign (skipped, or a config that
            // could not be read) ran nothing.
            .filter(|_| run.campaign_id.is_some())
            .map(|f| (f - run.started_ms) as f64 / 1000.0)
            .filter(|d| *d >= 0.0),
        status: state.status,
        reason: state.reason,
    })
}

/// A schedule's history, oldest first; of a removed schedule (no schedule
/// of that name exists now), the runs of every schedule that had the name.
pub async fn history(store: &Store, name: &str) -> Result<Vec<HistoryEntry>> {
    let current = store.schedule(name).await?;
    let (zone, runs) = match &current {
        Some(s) => (s.timezone.clone(), store.schedule_runs(s.id).await?),
        None => ("UTC".to_owned(), store.schedule_runs_named(name).await?),
    };
    let mut out = Vec::new();
    for run in runs {
        out.push(history_entry(store, &run, &zone).await?);
    }
    Ok(out)
}

/// Every schedule with its next slots and its last run.
pub async fn views(store: &Store, now: Timestamp, next: usize) -> Result<Vec<ScheduleView>> {
    let mut out = Vec::new();
    for schedule in store.schedules().await? {
        let upcoming = match Spec::new(&schedule.cron, &schedule.timezone) {
            Ok(spec) if !schedule.paused => {
                let after = Timestamp::from_second(schedule.since_s)
                    .unwrap_or(now)
                    .max(now);
                spec.upcoming(after, next)
                    .iter()
                    .map(|z| z.to_string())
                    .collect()
            }
            _ => Vec::new(),
        };
        let runs = store.schedule_runs(schedule.id).await?;
        let last = match runs.last() {
            Some(run) => Some(history_entry(store, run, &schedule.timezone).await?),
            None => None,
        };
        out.push(ScheduleView {
            schedule,
            next: upcoming,
            last,
        });
    }
    Ok(out)
}
