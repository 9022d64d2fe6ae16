//! Schedules, their runs (one row per slot run or skipped) and daemons. The
//! claim of a slot, the campaign it starts and that campaign's lease are one
//! transaction guarded by `UNIQUE (schedule_id, slot_s)` and "no run of this
//! schedule is open": two daemons on one database never run one slot twice,
//! nor two slots of one schedule at once. Runs belong to a schedule by its
//! id, not its name: a schedule added again under a removed one's name does
//! not inherit its runs.

use anyhow::Result;
use serde::Serialize;

use super::status::{CampaignStatus, SlotStatus, TaskStatus};
use super::{LeaseHolder, Store, insert_campaign};

/// A schedule.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct ScheduleRow {
    /// Never given to another schedule while runs carry it (see
    /// [`Store::add_schedule`]); 0 until stored.
    pub id: i64,
    pub name: String,
    pub cron: String,
    pub timezone: String,
    pub config_path: String,
    /// once | skip
    pub catch_up: String,
    pub paused: bool,
    /// Slots after this time (Unix s) are due: when it was added or resumed.
    pub since_s: i64,
    pub created_at: String,
}

/// A slot that was run or skipped, with the stored state of the campaign it
/// started (a run's state follows its campaign's, however the campaign was
/// finished: `schedule::state` derives it).
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct RunRow {
    pub id: i64,
    /// None: a schedule removed before schedules had ids.
    pub schedule_id: Option<i64>,
    pub schedule: String,
    pub slot_s: i64,
    pub campaign_id: Option<i64>,
    /// What the daemon recorded.
    pub status: SlotStatus,
    pub reason: Option<String>,
    pub daemon: Option<String>,
    pub started_ms: i64,
    pub finished_ms: Option<i64>,
    /// The campaign's stored status, if any.
    pub campaign_status: Option<CampaignStatus>,
    pub campaign_reason: Option<String>,
    /// When the campaign's status last changed (RFC 3339).
    pub campaign_updated: Option<String>,
}

/// A daemon that has not said it stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct DaemonRow {
    pub id: String,
    pub host: String,
    pub pid: i64,
    /// RFC 3339.
    pub started_at: String,
    /// Unix ms of its latest heartbeat.
    pub heartbeat_ms: i64,
}

/// A claimed slot: its run and the campaign it started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimedSlot {
    pub run: i64,
    pub campaign: i64,
}

/// How a campaign's tasks ended so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct TaskOutcomeCounts {
    pub accepted: i64,
    pub rejected: i64,
}

/// The columns of a [`RunRow`], from `schedule_runs AS r` joined with
/// `campaigns AS c` (a macro, so that queries stay static strings).
macro_rules! select_runs {
    ($($rest:literal),*) => {
        concat!(
            "SELECT r.id AS id, r.schedule_id AS schedule_id, r.schedule AS schedule, r.slot_s AS slot_s,
                    r.campaign_id AS campaign_id, r.status AS status, r.reason AS reason, r.daemon AS daemon,
                    r.started_ms AS started_ms, r.finished_ms AS finished_ms, c.status AS campaign_status,
                    c.stop_reason AS campaign_reason, c.updated_at AS campaign_updated
             FROM schedule_runs AS r LEFT JOIN campaigns AS c ON c.id = r.campaign_id ",
            $($rest),*
        )
    };
}

/// The columns of a [`ScheduleRow`].
macro_rules! select_schedules {
    ($rest:literal) => {
        concat!(
            "SELECT id, name, cron, timezone, config_path, catch_up, paused, since_s, created_at FROM schedules ",
            $rest
        )
    };
}

/// What a claimed slot starts: a campaign with its tasks, and its lease.
pub struct NewScheduleRun<'a> {
    pub schedule_id: i64,
    pub schedule: &'a str,
    pub slot_s: i64,
    pub daemon: &'a str,
    pub now_ms: i64,
    pub reason: Option<&'a str>,
    pub name: &'a str,
    pub config_json: &'a str,
    pub config_path: &'a str,
    pub tasks: &'a [(String, Option<String>, String, String)],
    pub lease: &'a LeaseHolder,
}

impl Store {
    /// Add a schedule (`s.id` is ignored); its id, or None when one of that
    /// name exists. The id is one more than any a schedule or a run
    /// carries: a removed schedule's id, while its runs exist, is never
    /// given again, so a schedule added under its name starts with no runs.
    pub async fn add_schedule(&self, s: &ScheduleRow) -> Result<Option<i64>> {
        // `WHERE 1 = 1`: SQLite needs a WHERE before an upsert's ON CONFLICT
        // in an INSERT ... SELECT.
        Ok(sqlx::query_scalar(
            "INSERT INTO schedules (id, name, cron, timezone, config_path, catch_up, paused, since_s, created_at)
             SELECT COALESCE(MAX(n), 0) + 1, ?, ?, ?, ?, ?, ?, ?, ?
               FROM (SELECT MAX(id) AS n FROM schedules
                     UNION ALL SELECT MAX(schedule_id) AS n FROM schedule_runs) AS ids
              WHERE 1 = 1
             ON CONFLICT (name) DO NOTHING
             RETURNING id",
        )
        .bind(&s.name)
        .bind(&s.cron)
        .bind(&s.timezone)
        .bind(&s.config_path)
        .bind(&s.catch_up)
        .bind(i64::from(s.paused))
        .bind(s.since_s)
        .bind(&s.created_at)
        .fetch_optional(&self.pool)
        .await?)
    }

    pub async fn schedules(&self) -> Result<Vec<ScheduleRow>> {
        Ok(sqlx::query_as(select_schedules!("ORDER BY name"))
            .fetch_all(&self.pool)
            .await?)
    }

    pub async fn schedule(&self, name: &str) -> Result<Option<ScheduleRow>> {
        Ok(sqlx::query_as(select_schedules!("WHERE name = ?"))
            .bind(name)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Pause or resume; resuming sets `since_s` so that slots missed while
    /// paused are not caught up. False when there is no such schedule.
    pub async fn set_schedule_paused(
        &self,
        name: &str,
        paused: bool,
        since_s: i64,
    ) -> Result<bool> {
        let done = if paused {
            sqlx::query("UPDATE schedules SET paused = 1 WHERE name = ?")
                .bind(name)
                .execute(&self.pool)
                .await?
        } else {
            sqlx::query(
                "UPDATE schedules SET paused = 0, since_s = ? WHERE name = ? AND paused = 1",
            )
            .bind(since_s)
            .bind(name)
            .execute(&self.pool)
            .await?
        };
        Ok(done.rows_affected() == 1)
    }

    /// Remove a schedule; its runs (history) stay.
    pub async fn remove_schedule(&self, name: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM schedules WHERE name = ?")
            .bind(name)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(done == 1)
    }

    /// A schedule's runs and skipped slots, oldest first.
    pub async fn schedule_runs(&self, schedule_id: i64) -> Result<Vec<RunRow>> {
        Ok(sqlx::query_as(select_runs!(
            "WHERE r.schedule_id = ? ORDER BY r.slot_s, r.id"
        ))
        .bind(schedule_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The runs stored under a name, of every schedule that had it, oldest
    /// first (the history of a removed schedule).
    pub async fn schedule_runs_named(&self, name: &str) -> Result<Vec<RunRow>> {
        Ok(
            sqlx::query_as(select_runs!("WHERE r.schedule = ? ORDER BY r.slot_s, r.id"))
                .bind(name)
                .fetch_all(&self.pool)
                .await?,
        )
    }

    /// Runs the daemon recorded as running, of every schedule. Whether one
    /// is still open depends on its campaign too (`schedule::state`).
    pub async fn open_schedule_runs(&self) -> Result<Vec<RunRow>> {
        Ok(
            sqlx::query_as(select_runs!("WHERE r.status = ? ORDER BY r.id"))
                .bind(SlotStatus::Running)
                .fetch_all(&self.pool)
                .await?,
        )
    }

    /// The latest slot recorded for a schedule (run or skipped).
    pub async fn last_slot(&self, schedule_id: i64) -> Result<Option<i64>> {
        Ok(
            sqlx::query_scalar("SELECT MAX(slot_s) FROM schedule_runs WHERE schedule_id = ?")
                .bind(schedule_id)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// Claim a slot and start its campaign, all or nothing: `None` when the
    /// slot is already recorded or another run of the schedule is open
    /// (`open` says which of the runs recorded as running still are: that
    /// depends on their campaigns).
    pub async fn claim_slot(
        &self,
        run: &NewScheduleRun<'_>,
        open: impl Fn(&RunRow) -> bool,
    ) -> Result<Option<ClaimedSlot>> {
        let mut tx = self.pool.begin().await?;
        // The write comes first, so the check below reads under SQLite's
        // write lock: no other daemon can slip in between.
        let claimed = sqlx::query(
            "INSERT INTO schedule_runs (schedule_id, schedule, slot_s, status, reason, daemon, started_ms)
             VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (schedule_id, slot_s) DO NOTHING",
        )
        .bind(run.schedule_id)
        .bind(run.schedule)
        .bind(run.slot_s)
        .bind(SlotStatus::Running)
        .bind(run.reason)
        .bind(run.daemon)
        .bind(run.now_ms)
        .execute(&mut *tx)
        .await?;
        if claimed.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(None);
        }
        let run_id = claimed.last_insert_rowid();
        let others: Vec<RunRow> = sqlx::query_as(select_runs!(
            "WHERE r.schedule_id = ? AND r.status = ? AND r.id <> ?"
        ))
        .bind(run.schedule_id)
        .bind(SlotStatus::Running)
        .bind(run_id)
        .fetch_all(&mut *tx)
        .await?;
        if others.iter().any(open) {
            tx.rollback().await?;
            return Ok(None);
        }
        let campaign = insert_campaign(
            &mut tx,
            run.name,
            run.config_json,
            Some(run.config_path),
            run.tasks,
        )
        .await?;
        sqlx::query(
            "INSERT INTO campaign_leases (campaign_id, host, pid, started_at, token, expires_ms) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(campaign)
        .bind(&run.lease.host)
        .bind(run.lease.pid)
        .bind(&run.lease.started_at)
        .bind(&run.lease.token)
        .bind(run.lease.expires_ms)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE schedule_runs SET campaign_id = ? WHERE id = ?")
            .bind(campaign)
            .bind(run_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(ClaimedSlot {
            run: run_id,
            campaign,
        }))
    }

    /// Record a slot that did not run (`skipped`) or could not start
    /// (`failed`), with the reason; nothing when the slot is already recorded.
    pub async fn record_slot(
        &self,
        schedule: &ScheduleRow,
        slot_s: i64,
        status: SlotStatus,
        reason: &str,
        daemon: &str,
        now_ms: i64,
    ) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO schedule_runs (schedule_id, schedule, slot_s, status, reason, daemon, started_ms, finished_ms)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (schedule_id, slot_s) DO NOTHING",
        )
        .bind(schedule.id)
        .bind(&schedule.name)
        .bind(slot_s)
        .bind(status)
        .bind(reason)
        .bind(daemon)
        .bind(now_ms)
        .bind(now_ms)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(done == 1)
    }

    /// Close a run with its campaign's outcome.
    pub async fn finish_schedule_run(
        &self,
        run: i64,
        status: SlotStatus,
        reason: Option<&str>,
        now_ms: i64,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE schedule_runs SET status = ?, reason = COALESCE(?, reason), finished_ms = ? WHERE id = ? AND status = ?",
        )
        .bind(status)
        .bind(reason)
        .bind(now_ms)
        .bind(run)
        .bind(SlotStatus::Running)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Announce (or refresh) a daemon.
    pub async fn daemon_heartbeat(
        &self,
        id: &str,
        host: &str,
        pid: i64,
        started_at: &str,
        now_ms: i64,
        stopped: bool,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO daemons (id, host, pid, started_at, heartbeat_ms, stopped) VALUES (?, ?, ?, ?, ?, ?)
             ON CONFLICT (id) DO UPDATE SET heartbeat_ms = excluded.heartbeat_ms, stopped = excluded.stopped",
        )
        .bind(id)
        .bind(host)
        .bind(pid)
        .bind(started_at)
        .bind(now_ms)
        .bind(i64::from(stopped))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Daemons that have not said they stopped, latest heartbeat first.
    pub async fn daemons(&self) -> Result<Vec<DaemonRow>> {
        Ok(sqlx::query_as(
            "SELECT id, host, pid, started_at, heartbeat_ms FROM daemons WHERE stopped = 0 ORDER BY heartbeat_ms DESC",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// How many of a campaign's tasks were accepted and rejected.
    pub async fn task_outcome_counts(&self, campaign: i64) -> Result<TaskOutcomeCounts> {
        Ok(sqlx::query_as(
            "SELECT COALESCE(SUM(CASE WHEN status = ?1 THEN 1 ELSE 0 END), 0) AS accepted,
                    COALESCE(SUM(CASE WHEN status = ?2 THEN 1 ELSE 0 END), 0) AS rejected
             FROM tasks WHERE campaign_id = ?3",
        )
        .bind(TaskStatus::Accepted)
        .bind(TaskStatus::Rejected)
        .bind(campaign)
        .fetch_one(&self.pool)
        .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(name: &str) -> ScheduleRow {
        ScheduleRow {
            id: 0,
            name: name.into(),
            cron: "0 2 * * *".into(),
            timezone: "UTC".into(),
            config_path: "/c.toml".into(),
            catch_up: "once".into(),
            paused: false,
            since_s: 0,
            created_at: "2026-01-01T00:00:00Z".into(),
        }
    }

    #[tokio::test]
    async fn a_slot_is_claimed_once_and_one_run_is_open_at_a_time() {
        let store = Store::memory().await.unwrap();
        let mut nightly = schedule("nightly");
        nightly.id = store.add_schedule(&nightly).await.unwrap().unwrap();
        let lease = LeaseHolder {
            host: "h".into(),
            pid: 1,
            started_at: "t".into(),
            token: "x".into(),
            expires_ms: 10,
        };
        let run = |slot_s| NewScheduleRun {
            schedule_id: nightly.id,
            schedule: "nightly",
            slot_s,
            daemon: "d",
            now_ms: 0,
            reason: None,
            name: "c",
            config_json: "{}",
            config_path: "/c.toml",
            tasks: &[],
            lease: &lease,
        };
        let open = |r: &RunRow| r.status == SlotStatus::Running;
        let ClaimedSlot {
            run: first,
            campaign,
        } = store.claim_slot(&run(100), open).await.unwrap().unwrap();
        assert!(store.lease(campaign).await.unwrap().is_some());
        assert_eq!(
            store.claim_slot(&run(100), open).await.unwrap(),
            None,
            "same slot"
        );
        assert_eq!(
            store.claim_slot(&run(200), open).await.unwrap(),
            None,
            "a run is open"
        );
        // The caller decides what is open: a run whose campaign is over is not.
        let going = |r: &RunRow| r.campaign_status == Some(CampaignStatus::Running);
        store
            .set_campaign_status(campaign, CampaignStatus::Done, None)
            .await
            .unwrap();
        let other = store
            .claim_slot(&run(150), going)
            .await
            .unwrap()
            .unwrap()
            .run;
        store
            .finish_schedule_run(other, SlotStatus::Done, None, 5)
            .await
            .unwrap();
        assert!(
            store
                .record_slot(&nightly, 200, SlotStatus::Skipped, "busy", "d", 0)
                .await
                .unwrap()
        );
        assert!(
            !store
                .record_slot(&nightly, 200, SlotStatus::Skipped, "busy", "d", 0)
                .await
                .unwrap()
        );
        store
            .finish_schedule_run(first, SlotStatus::Done, None, 5)
            .await
            .unwrap();
        assert_eq!(
            store.claim_slot(&run(200), open).await.unwrap(),
            None,
            "recorded as skipped"
        );
        assert!(store.claim_slot(&run(300), open).await.unwrap().is_some());
        assert_eq!(store.last_slot(nightly.id).await.unwrap(), Some(300));
        let runs = store.schedule_runs(nightly.id).await.unwrap();
        assert_eq!(
            runs.iter().map(|r| r.status).collect::<Vec<_>>(),
            [
                SlotStatus::Done,
                SlotStatus::Done,
                SlotStatus::Skipped,
                SlotStatus::Running
            ]
        );
        assert_eq!(runs[0].campaign_status, Some(CampaignStatus::Done));
    }

    #[tokio::test]
    async fn a_schedule_added_again_gets_a_new_id_and_no_runs() {
        let store = Store::memory().await.unwrap();
        let mut first = schedule("n");
        first.id = store.add_schedule(&first).await.unwrap().unwrap();
        assert_eq!(store.add_schedule(&first).await.unwrap(), None, "taken");
        store
            .record_slot(&first, 100, SlotStatus::Skipped, "no task", "d", 0)
            .await
            .unwrap();
        assert!(store.remove_schedule("n").await.unwrap());
        // The removed schedule had the highest id: it is still not reused.
        let mut again = schedule("n");
        again.id = store.add_schedule(&again).await.unwrap().unwrap();
        assert_ne!(again.id, first.id);
        assert!(store.schedule_runs(again.id).await.unwrap().is_empty());
        assert_eq!(store.schedule_runs_named("n").await.unwrap().len(), 1);
        // The same slot is the new schedule's to record.
        assert!(
            store
                .record_slot(&again, 100, SlotStatus::Skipped, "no task", "d", 0)
                .await
                .unwrap()
        );
        assert_eq!(store.schedule("n").await.unwrap().unwrap().id, again.id);
    }

    /// Runs stored before schedules had ids go to the schedule of their
    /// name when their slot comes after it was added; older ones, and those
    /// of removed schedules, to none (their name still finds them).
    #[tokio::test]
    async fn stored_runs_move_to_the_schedule_they_belong_to() {
        use std::borrow::Cow;
        use std::str::FromStr;

        let options = sqlx::sqlite::SqliteConnectOptions::from_str("sqlite::memory:").unwrap();
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .unwrap();
        let all = sqlx::migrate!("./migrations");
        let before = sqlx::migrate::Migrator {
            migrations: Cow::Owned(
                all.migrations
                    .iter()
                    .filter(|m| m.version < 20261205150000)
                    .cloned()
                    .collect(),
            ),
            ..sqlx::migrate::Migrator::DEFAULT
        };
        before.run(&pool).await.unwrap();
        for sql in [
            "INSERT INTO schedules (name, cron, timezone, config_path, catch_up, paused, since_s, created_at)
             VALUES ('n', '0 3 * * *', 'UTC', '/c.toml', 'once', 0, 1777604100, '2026-05-01T02:55:00.5Z'),
                    ('m', '0 3 * * *', 'UTC', '/c.toml', 'once', 0, 0, '2026-01-01T00:00:00Z')",
            // n: a slot of an earlier schedule of that name, then its own.
            "INSERT INTO schedule_runs (schedule, slot_s, status, started_ms)
             VALUES ('n', 1777604400 - 86400, 'skipped', 0), ('n', 1777604400, 'skipped', 0),
                    ('gone', 1777604400, 'skipped', 0)",
        ] {
            sqlx::query(sql).execute(&pool).await.unwrap();
        }
        all.run(&pool).await.unwrap();
        let store = Store { pool };
        let n = store.schedule("n").await.unwrap().unwrap();
        let m = store.schedule("m").await.unwrap().unwrap();
        assert_ne!(n.id, m.id);
        let own = store.schedule_runs(n.id).await.unwrap();
        assert_eq!(
            own.iter().map(|r| r.slot_s).collect::<Vec<_>>(),
            [1777604400]
        );
        assert_eq!(store.schedule_runs_named("n").await.unwrap().len(), 2);
        let gone = store.schedule_runs_named("gone").await.unwrap();
        assert_eq!(gone[0].schedule_id, None);
        // A new schedule's id is past every id in use.
        let mut fresh = schedule("fresh");
        fresh.id = store.add_schedule(&fresh).await.unwrap().unwrap();
        assert!(fresh.id > n.id.max(m.id));
    }
}
