//! The daemon: every tick it reads the schedules, claims the slots that are
//! due (one transaction with the slot's campaign and its lease, so two
//! daemons on one database never run one slot twice), records slots it must
//! skip with the reason, takes over open runs whose holder died (their
//! leases expired) and resumes them, and runs at most `max_parallel`
//! campaigns at once. On shutdown no new work starts, calls in flight get a
//! grace period, and every campaign is left resumable.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use jiff::Timestamp;
use serde::Serialize;
use tokio::task::JoinSet;
use tracing::{debug, info, warn};

use super::clock::Clock;
use super::due::{self, CatchUp, Due, Spec};
use super::state::{self, SlotStatus};
use crate::calls::Backend;
use crate::campaign::config::CampaignConfig;
use crate::campaign::lease::{self, Interrupt, Lease, LeaseHeld, RunControl};
use crate::campaign::status::CampaignStatus;
use crate::campaign::{self, Engines};
use crate::sandbox::Sandbox;
use crate::store::{ClaimedSlot, NewScheduleRun, RunRow, ScheduleRow, Store};

/// Builds a run's author and solver clients from its config (the CLI owns
/// how endpoints are configured).
pub type BackendFactory =
    Arc<dyn Fn(&CampaignConfig) -> Result<(Backend, Backend), String> + Send + Sync>;

/// How the daemon runs.
#[derive(Debug, Clone)]
pub struct DaemonOptions {
    /// Run what is due now, wait for it, and exit.
    pub once: bool,
    /// Campaigns running at once in this daemon.
    pub max_parallel: usize,
    /// On SIGTERM/SIGINT, how long calls in flight may finish.
    pub grace: Duration,
    /// Lease lifetime of the campaigns it runs.
    pub lease_ttl: Duration,
    /// How often it looks at the schedules.
    pub tick: Duration,
}

/// A daemon considered alive when its heartbeat is this recent.
pub const HEARTBEAT_FRESH_MS: i64 = 15_000;

/// Everything the daemon needs.
pub struct Daemon {
    pub store: Store,
    pub sandbox: Sandbox,
    pub backends: BackendFactory,
    pub clock: Arc<dyn Clock>,
    pub options: DaemonOptions,
}

/// A run this daemon works on, by its schedule's id (a schedule removed
/// and added again under its name is another one).
struct Running {
    schedule: String,
    run: i64,
    campaign: i64,
    token: String,
}

/// How a daemon ended.
#[derive(Debug, Clone, Serialize)]
pub struct DaemonSummary {
    /// Runs it started or resumed.
    pub started: usize,
    /// Runs it left resumable at shutdown (the next daemon continues them):
    /// those stopped by the signal, and those whose calls were abandoned.
    pub left_resumable: usize,
    /// Of those, runs whose calls in flight were abandoned when the grace
    /// period was over.
    pub abandoned: usize,
    /// Why it stopped: `once`, or the signal.
    pub reason: String,
}

struct Me {
    id: String,
    host: String,
    pid: i64,
    started_at: String,
}

impl Daemon {
    /// Run until `shutdown` resolves (with its reason), or, with `--once`,
    /// until what was due at the start has run.
    pub async fn run(self, shutdown: impl Future<Output = String>) -> Result<DaemonSummary> {
        let host = lease::hostname();
        let pid = i64::from(std::process::id());
        let started_at = Timestamp::now().to_string();
        let me = Me {
            id: format!("{host}:{pid}:{}", lease::now_ms()),
            host,
            pid,
            started_at,
        };
        info!(daemon = %me.id, once = self.options.once, max_parallel = self.options.max_parallel, "daemon started");
        let interrupt = Interrupt::default();
        // Each run's task ends with its schedule's id and whether it left
        // the run resumable.
        let mut tasks: JoinSet<(i64, bool)> = JoinSet::new();
        let mut running: HashMap<i64, Running> = HashMap::new();
        let mut started = 0;
        let mut left_resumable = 0;
        let mut ticked = false;
        // `--once` runs what is due at its start: every look uses that
        // instant, so slots left waiting for a place (`--max-parallel`) run
        // when one frees, and no later slot starts.
        let once_now = self.clock.now();
        tokio::pin!(shutdown);
        let reason = loop {
            // A signal that came before (or during) the last look: stop
            // before starting anything more.
            tokio::select! {
                biased;
                reason = &mut shutdown => break reason,
                _ = std::future::ready(()) => {}
            }
            if !(self.options.once && ticked) {
                self.heartbeat(&me, false).await;
                let now = match self.options.once {
                    true => once_now,
                    false => self.clock.now(),
                };
                match self
                    .tick(&me, now, &mut tasks, &mut running, &interrupt)
                    .await
                {
                    Ok(n) => started += n,
                    Err(err) => warn!("reading the schedules failed: {err:#}"),
                }
                ticked = true;
            }
            if self.options.once && tasks.is_empty() {
                break "once".to_owned();
            }
            tokio::select! {
                reason = &mut shutdown => break reason,
                Some(done) = tasks.join_next(), if !tasks.is_empty() => {
                    if let Ok((schedule, resumable)) = done {
                        running.remove(&schedule);
                        left_resumable += usize::from(resumable);
                    }
                    // A place is free: `--once` looks again for what waits.
                    ticked = false;
                }
                _ = tokio::time::sleep(self.options.tick), if !self.options.once => {}
            }
        };
        let mut abandoned = 0;
        if reason != "once" {
            info!(%reason, grace_s = self.options.grace.as_secs_f64(), running = running.len(), "stopping: no new work; calls in flight get the grace period");
            interrupt.trigger(format!("the daemon stopped ({reason})"));
            let grace = tokio::time::sleep(self.options.grace);
            tokio::pin!(grace);
            while !tasks.is_empty() {
                tokio::select! {
                    Some(done) = tasks.join_next() => {
                        if let Ok((schedule, resumable)) = done {
                            running.remove(&schedule);
                            left_resumable += usize::from(resumable);
                        }
                    }
                    _ = &mut grace => break,
                }
            }
            tasks.abort_all();
            for (_, r) in running.drain() {
                abandoned += 1;
                left_resumable += 1;
                warn!(schedule = %r.schedule, campaign = r.campaign, run = r.run, "grace period over: calls in flight abandoned; the campaign is resumable");
                let msg = lease::interrupted_reason(&format!(
                    "the daemon stopped ({reason}) before its calls finished; a daemon or `bootforge campaign resume {}` continues it",
                    r.campaign
                ));
                if let Err(err) = self
                    .store
                    .set_campaign_status(r.campaign, CampaignStatus::Stopped, Some(&msg))
                    .await
                {
                    warn!("marking campaign {} stopped: {err:#}", r.campaign);
                }
                let _ = self.store.release_lease(r.campaign, &r.token).await;
            }
        }
        self.heartbeat(&me, true).await;
        info!(%reason, started, left_resumable, abandoned, "daemon stopped");
        Ok(DaemonSummary {
            started,
            left_resumable,
            abandoned,
            reason,
        })
    }

    async fn heartbeat(&self, me: &Me, stopped: bool) {
        if let Err(err) = self
            .store
            .daemon_heartbeat(
                &me.id,
                &me.host,
                me.pid,
                &me.started_at,
                lease::now_ms(),
                stopped,
            )
            .await
        {
            warn!("daemon heartbeat: {err:#}");
        }
    }

    /// Record `slot` of `schedule` as skipped with `reason` (once: a slot
    /// another daemon already recorded is left as it is) and log it.
    async fn skip_slot(
        &self,
        schedule: &ScheduleRow,
        slot: Timestamp,
        reason: &str,
        me: &Me,
        now_ms: i64,
    ) -> Result<()> {
        if self
            .store
            .record_slot(
                schedule,
                slot.as_second(),
                SlotStatus::Skipped,
                reason,
                &me.id,
                now_ms,
            )
            .await?
        {
            info!(schedule = %schedule.name, %slot, "slot skipped: {reason}");
        }
        Ok(())
    }

    /// One look at every schedule; returns the runs started.
    async fn tick(
        &self,
        me: &Me,
        now: Timestamp,
        tasks: &mut JoinSet<(i64, bool)>,
        running: &mut HashMap<i64, Running>,
        interrupt: &Interrupt,
    ) -> Result<usize> {
        let now_ms = now.as_millisecond();
        // A run recorded as running whose campaign was finished by other
        // means (`campaign resume` by hand) is not open: its schedule's next
        // slot runs.
        let mut open = self.store.open_schedule_runs().await?;
        open.retain(state::is_open);
        let mut started = 0;
        for s in self.store.schedules().await? {
            let open_run = open.iter().find(|r| r.schedule_id == Some(s.id));
            // A paused schedule starts nothing new, but a run it had going
            // whose daemon died is still finished.
            if s.paused && open_run.is_none() {
                continue;
            }
            let spec = match Spec::new(&s.cron, &s.timezone) {
                Ok(spec) => spec,
                Err(err) => {
                    warn!(schedule = %s.name, "unusable schedule: {err}");
                    continue;
                }
            };
            let catch_up = s.catch_up.parse().unwrap_or(CatchUp::Once);
            let last = self.store.last_slot(s.id).await?;
            let after = Timestamp::from_second(last.unwrap_or(s.since_s).max(s.since_s))
                .unwrap_or(Timestamp::UNIX_EPOCH);
            let decision = due::due(&spec, catch_up, after, now);
            if let Some(run) = open_run {
                let live = match (running.contains_key(&s.id), run.campaign_id) {
                    (true, _) => true,
                    (false, Some(c)) => lease::is_live(self.store.lease(c).await?.as_ref()),
                    (false, None) => false,
                };
                // A slot that comes while the schedule's previous run is
                // open (going, or interrupted and being taken over) is
                // recorded as skipped: one run per schedule at a time.
                if let Due::Run { slot, .. } | Due::Skip { slot, .. } = decision
                    && !s.paused
                {
                    let reason = format!(
                        "the run of slot {} (campaign {}) was {}",
                        Timestamp::from_second(run.slot_s).unwrap_or_default(),
                        run.campaign_id.unwrap_or(0),
                        match live {
                            true => "still going",
                            false => "interrupted and is being resumed",
                        }
                    );
                    self.skip_slot(&s, slot, &reason, me, now_ms).await?;
                }
                if !live && running.len() < self.options.max_parallel {
                    started += self.take_over(&s, run, tasks, running, interrupt).await?;
                }
                continue;
            }
            match decision {
                Due::NotDue { next } => {
                    debug!(schedule = %s.name, next = ?next, "not due");
                }
                Due::Skip { slot, reason } => {
                    self.skip_slot(&s, slot, &reason, me, now_ms).await?;
                }
                Due::Run { slot, missed, note } => {
                    if running.len() >= self.options.max_parallel {
                        debug!(schedule = %s.name, %slot, "due, waiting for a free place (--max-parallel)");
                        continue;
                    }
                    let (config, tasks_list, config_json) =
                        match super::prepare(std::path::Path::new(&s.config_path)) {
                            Ok(x) => x,
                            Err(err) => {
                                let reason = format!("the campaign config is not usable: {err}");
                                warn!(schedule = %s.name, %slot, "{reason}");
                                self.store
                                    .record_slot(
                                        &s,
                                        slot.as_second(),
                                        SlotStatus::Failed,
                                        &reason,
                                        &me.id,
                                        now_ms,
                                    )
                                    .await?;
                                continue;
                            }
                        };
                    if tasks_list.is_empty() {
                        let reason = format!("no task in {}", config.tasks.display());
                        self.skip_slot(&s, slot, &reason, me, now_ms).await?;
                        continue;
                    }
                    let holder = lease::new_holder(self.options.lease_ttl);
                    let rows = campaign::task_rows(&tasks_list);
                    let claim = NewScheduleRun {
                        schedule_id: s.id,
                        schedule: &s.name,
                        slot_s: slot.as_second(),
                        daemon: &me.id,
                        now_ms,
                        reason: note.as_deref(),
                        name: &config.name,
                        config_json: &config_json,
                        config_path: &s.config_path,
                        tasks: &rows,
                        lease: &holder,
                    };
                    let Some(ClaimedSlot { run, campaign }) =
                        self.store.claim_slot(&claim, state::is_open).await?
                    else {
                        debug!(schedule = %s.name, %slot, "slot claimed by another daemon");
                        continue;
                    };
                    info!(schedule = %s.name, %slot, run, campaign, missed, tasks = rows.len(), "slot claimed; campaign started");
                    let lease = Lease {
                        store: self.store.clone(),
                        campaign,
                        holder,
                        ttl: self.options.lease_ttl,
                    };
                    self.spawn(&s, run, lease, tasks, running, interrupt);
                    started += 1;
                }
            }
        }
        Ok(started)
    }

    /// Resume an open run whose holder is gone, once its lease can be taken.
    async fn take_over(
        &self,
        schedule: &ScheduleRow,
        run: &RunRow,
        tasks: &mut JoinSet<(i64, bool)>,
        running: &mut HashMap<i64, Running>,
        interrupt: &Interrupt,
    ) -> Result<usize> {
        let Some(campaign) = run.campaign_id else {
            return Ok(0);
        };
        match Lease::acquire(&self.store, campaign, self.options.lease_ttl).await {
            Ok(lease) => {
                info!(
                    schedule = %schedule.name,
                    run = run.id,
                    campaign,
                    "taking over a run whose holder is gone; resuming its campaign"
                );
                self.spawn(schedule, run.id, lease, tasks, running, interrupt);
                Ok(1)
            }
            Err(err) if err.is::<LeaseHeld>() => Ok(0),
            Err(err) => Err(err),
        }
    }

    fn spawn(
        &self,
        schedule: &ScheduleRow,
        run: i64,
        lease: Lease,
        tasks: &mut JoinSet<(i64, bool)>,
        running: &mut HashMap<i64, Running>,
        interrupt: &Interrupt,
    ) {
        let campaign = lease.campaign;
        let id = schedule.id;
        running.insert(
            id,
            Running {
                schedule: schedule.name.clone(),
                run,
                campaign,
                token: lease.holder.token.clone(),
            },
        );
        let store = self.store.clone();
        let sandbox = self.sandbox.clone();
        let backends = self.backends.clone();
        let clock = self.clock.clone();
        let control = RunControl {
            lease_ttl: self.options.lease_ttl,
            interrupt: interrupt.clone(),
        };
        let schedule = schedule.name.clone();
        let token = lease.holder.token.clone();
        tasks.spawn(async move {
            let outcome = async {
                let row = store
                    .campaign(campaign)
                    .await?
                    .with_context(|| format!("campaign {campaign} is gone"))?;
                let config: CampaignConfig = serde_json::from_str(&row.config_json)
                    .context("reading the stored campaign configuration")?;
                let (author, solver) = backends(&config).map_err(anyhow::Error::msg)?;
                let engines = Engines {
                    store: store.clone(),
                    sandbox,
                    author,
                    solver,
                    recorder: None,
                    // The run's end is logged below; no progress between.
                    progress: None,
                };
                campaign::resume_controlled(engines, campaign, control.clone(), Some(lease)).await
            }
            .await;
            let now_ms = clock.now().as_millisecond();
            // Lost the lease (this daemon stalled past it and another took
            // the campaign over): the run is the new holder's to close.
            let taken_over = match store.lease(campaign).await {
                Ok(Some(current)) => current.token != token,
                _ => false,
            };
            // A campaign that ended while the daemon stopped (done, or
            // stopped on its budget) is over, signal or not: its run closes.
            let over = matches!(&outcome, Ok(o) if state::campaign_over(o.status, o.reason.as_deref()));
            let interrupted = control.interrupt.reason().filter(|_| !over);
            if taken_over {
                warn!(%schedule, run, campaign, "another process took the campaign over; it closes the run");
            } else if let Some(why) = &interrupted {
                info!(%schedule, run, campaign, "left resumable: {why}");
            } else {
                let (status, reason) = match &outcome {
                    Ok(o) => (SlotStatus::of_campaign(o.status), o.reason.clone()),
                    Err(err) if err.is::<LeaseHeld>() => {
                        warn!(%schedule, run, campaign, "{err:#}");
                        return (id, false);
                    }
                    Err(err) => (SlotStatus::Failed, Some(format!("{err:#}"))),
                };
                info!(%schedule, run, campaign, %status, reason = reason.as_deref().unwrap_or(""), "run ended");
                if let Err(err) = store
                    .finish_schedule_run(run, status, reason.as_deref(), now_ms)
                    .await
                {
                    warn!(%schedule, run, "recording the end of the run: {err:#}");
                }
            }
            let resumable = !taken_over && interrupted.is_some();
            (id, resumable)
        });
    }
}

/// Pure: whether a daemon runs, from its heartbeat's age, whether it ran on
/// this host, and whether its pid exists here (None: cannot tell). A fresh
/// heartbeat is not enough: a daemon of this host whose pid is gone
/// (`kill -9`) is not running.
pub fn daemon_alive(heartbeat_age_ms: i64, same_host: bool, pid_alive: Option<bool>) -> bool {
    heartbeat_age_ms <= HEARTBEAT_FRESH_MS && !(same_host && pid_alive == Some(false))
}

/// A daemon as `daemon status` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct DaemonView {
    pub id: String,
    pub host: String,
    pub pid: i64,
    pub started_at: String,
    /// Seconds since its last heartbeat.
    pub heartbeat_age_s: f64,
    pub alive: bool,
}

/// An open run as `daemon status` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct OpenRunView {
    pub schedule: String,
    pub slot: String,
    pub campaign: Option<i64>,
    /// Who holds its campaign, when a live process does.
    pub holder: Option<String>,
}

/// What `daemon status` reports.
#[derive(Debug, Clone, Serialize)]
pub struct StatusView {
    pub daemons: Vec<DaemonView>,
    pub running: Vec<OpenRunView>,
    pub schedules: Vec<super::ScheduleView>,
}

/// Whether a daemon holds the database, what runs, when each schedule runs next.
pub async fn status(store: &Store, now: Timestamp) -> Result<StatusView> {
    let real_ms = lease::now_ms();
    let this_host = lease::hostname();
    let daemons = store
        .daemons()
        .await?
        .into_iter()
        .map(|d| DaemonView {
            alive: daemon_alive(
                real_ms - d.heartbeat_ms,
                d.host == this_host,
                lease::pid_alive(d.pid),
            ),
            heartbeat_age_s: (real_ms - d.heartbeat_ms) as f64 / 1000.0,
            id: d.id,
            host: d.host,
            pid: d.pid,
            started_at: d.started_at,
        })
        .collect();
    let mut running = Vec::new();
    for run in store
        .open_schedule_runs()
        .await?
        .into_iter()
        .filter(state::is_open)
    {
        let holder = match run.campaign_id {
            Some(c) => store
                .lease(c)
                .await?
                .filter(|l| lease::is_live(Some(l)))
                .map(|l| lease::describe(&l)),
            None => None,
        };
        running.push(OpenRunView {
            slot: Timestamp::from_second(run.slot_s)
                .unwrap_or_default()
                .to_string(),
            schedule: run.schedule,
            campaign: run.campaign_id,
            holder,
        });
    }
    Ok(StatusView {
        daemons,
        running,
        schedules: super::views(store, now, 1).await?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_daemon_whose_pid_is_gone_is_not_running() {
        assert!(daemon_alive(8_000, true, Some(true)));
        // Killed 8 s ago: the heartbeat is fresh, the pid is gone.
        assert!(!daemon_alive(8_000, true, Some(false)));
        // Another host's pid says nothing here: trust the heartbeat.
        assert!(daemon_alive(8_000, false, Some(false)));
        assert!(daemon_alive(8_000, true, None));
        assert!(!daemon_alive(HEARTBEAT_FRESH_MS + 1, true, Some(true)));
    }
}
