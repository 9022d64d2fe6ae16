//! Schedules, their runs (one row per slot run or skipped) and daemons. The
//! claim of a slot, the campaign it starts and that campaign's lease are one
//! transaction guarded by `UNIQUE (schedule, slot_s)` and "no run of this
//! schedule is open": two daemons on one database never run one slot twice,
//! nor two slots of one schedule at once.

use anyhow::Result;
use serde::Serialize;
use sqlx::Row;

use super::{LeaseHolder, Store, insert_campaign};

/// A schedule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScheduleRow {
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

/// A slot that was run or skipped.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunRow {
    pub id: i64,
    pub schedule: String,
    pub slot_s: i64,
    pub campaign_id: Option<i64>,
    /// running | done | stopped | failed | skipped
    pub status: String,
    pub reason: Option<String>,
    pub daemon: Option<String>,
    pub started_ms: i64,
    pub finished_ms: Option<i64>,
}

/// What a claimed slot starts: a campaign with its tasks, and its lease.
pub struct NewScheduleRun<'a> {
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

fn run_from_row(r: &sqlx::sqlite::SqliteRow) -> RunRow {
    RunRow {
        id: r.get(0),
        schedule: r.get(1),
        slot_s: r.get(2),
        campaign_id: r.get(3),
        status: r.get(4),
        reason: r.get(5),
        daemon: r.get(6),
        started_ms: r.get(7),
        finished_ms: r.get(8),
    }
}

fn schedule_from_row(r: &sqlx::sqlite::SqliteRow) -> ScheduleRow {
    ScheduleRow {
        name: r.get(0),
        cron: r.get(1),
        timezone: r.get(2),
        config_path: r.get(3),
        catch_up: r.get(4),
        paused: r.get::<i64, _>(5) != 0,
        since_s: r.get(6),
        created_at: r.get(7),
    }
}

impl Store {
    /// Add a schedule; false when one of that name exists.
    pub async fn add_schedule(&self, s: &ScheduleRow) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO schedules (name, cron, timezone, config_path, catch_up, paused, since_s, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING",
        )
        .bind(&s.name)
        .bind(&s.cron)
        .bind(&s.timezone)
        .bind(&s.config_path)
        .bind(&s.catch_up)
        .bind(i64::from(s.paused))
        .bind(s.since_s)
        .bind(&s.created_at)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(done == 1)
    }

    pub async fn schedules(&self) -> Result<Vec<ScheduleRow>> {
        let rows = sqlx::query(
            "SELECT name, cron, timezone, config_path, catch_up, paused, since_s, created_at FROM schedules ORDER BY name",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(schedule_from_row).collect())
    }

    pub async fn schedule(&self, name: &str) -> Result<Option<ScheduleRow>> {
        let row = sqlx::query(
            "SELECT name, cron, timezone, config_path, catch_up, paused, since_s, created_at FROM schedules WHERE name = ?",
        )
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(schedule_from_row))
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
    pub async fn schedule_runs(&self, schedule: &str) -> Result<Vec<RunRow>> {
        let rows = sqlx::query(
            "SELECT id, schedule, slot_s, campaign_id, status, reason, daemon, started_ms, finished_ms FROM schedule_runs WHERE schedule = ? ORDER BY slot_s, id",
        )
        .bind(schedule)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(run_from_row).collect())
    }

    /// Runs still open (status running) of every schedule.
    pub async fn open_schedule_runs(&self) -> Result<Vec<RunRow>> {
        let rows = sqlx::query(
            "SELECT id, schedule, slot_s, campaign_id, status, reason, daemon, started_ms, finished_ms FROM schedule_runs WHERE status = 'running' ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(run_from_row).collect())
    }

    /// The latest slot recorded for a schedule (run or skipped).
    pub async fn last_slot(&self, schedule: &str) -> Result<Option<i64>> {
        let row = sqlx::query("SELECT MAX(slot_s) FROM schedule_runs WHERE schedule = ?")
            .bind(schedule)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.get(0))
    }

    /// Claim a slot and start its campaign, all or nothing: `None` when the
    /// slot is already recorded or another run of the schedule is open.
    /// Returns (run id, campaign id).
    pub async fn claim_slot(&self, run: &NewScheduleRun<'_>) -> Result<Option<(i64, i64)>> {
        let mut tx = self.pool.begin().await?;
        // The write comes first, so the check and the insert happen under
        // SQLite's write lock: no other daemon can slip in between.
        let claimed = sqlx::query(
            "INSERT INTO schedule_runs (schedule, slot_s, status, reason, daemon, started_ms)
             SELECT ?1, ?2, 'running', ?3, ?4, ?5
             WHERE NOT EXISTS (SELECT 1 FROM schedule_runs
                               WHERE schedule = ?1 AND (slot_s = ?2 OR status = 'running'))",
        )
        .bind(run.schedule)
        .bind(run.slot_s)
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
        Ok(Some((run_id, campaign)))
    }

    /// Record a slot that did not run (`skipped`) or could not start
    /// (`failed`), with the reason; nothing when the slot is already recorded.
    pub async fn record_slot(
        &self,
        schedule: &str,
        slot_s: i64,
        status: &str,
        reason: &str,
        daemon: &str,
        now_ms: i64,
    ) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO schedule_runs (schedule, slot_s, status, reason, daemon, started_ms, finished_ms)
             VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (schedule, slot_s) DO NOTHING",
        )
        .bind(schedule)
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
        status: &str,
        reason: Option<&str>,
        now_ms: i64,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE schedule_runs SET status = ?, reason = COALESCE(?, reason), finished_ms = ? WHERE id = ? AND status = 'running'",
        )
        .bind(status)
        .bind(reason)
        .bind(now_ms)
        .bind(run)
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

    /// Daemons that have not said they stopped: (id, host, pid, started_at,
    /// heartbeat_ms), latest heartbeat first.
    pub async fn daemons(&self) -> Result<Vec<(String, String, i64, String, i64)>> {
        let rows = sqlx::query(
            "SELECT id, host, pid, started_at, heartbeat_ms FROM daemons WHERE stopped = 0 ORDER BY heartbeat_ms DESC",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
            .collect())
    }

    /// Tasks of a campaign by status: (accepted, rejected).
    pub async fn task_outcome_counts(&self, campaign: i64) -> Result<(i64, i64)> {
        let row = sqlx::query(
            "SELECT COALESCE(SUM(CASE WHEN status = 'accepted' THEN 1 ELSE 0 END), 0),
                    COALESCE(SUM(CASE WHEN status = 'rejected' THEN 1 ELSE 0 END), 0)
             FROM tasks WHERE campaign_id = ?",
        )
        .bind(campaign)
        .fetch_one(&self.pool)
        .await?;
        Ok((row.get(0), row.get(1)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_slot_is_claimed_once_and_one_run_is_open_at_a_time() {
        let store = Store::memory().await.unwrap();
        let lease = LeaseHolder {
            host: "h".into(),
            pid: 1,
            started_at: "t".into(),
            token: "x".into(),
            expires_ms: 10,
        };
        let run = |slot_s| NewScheduleRun {
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
        let (first, campaign) = store.claim_slot(&run(100)).await.unwrap().unwrap();
        assert!(store.lease(campaign).await.unwrap().is_some());
        assert_eq!(
            store.claim_slot(&run(100)).await.unwrap(),
            None,
            "same slot"
        );
        assert_eq!(
            store.claim_slot(&run(200)).await.unwrap(),
            None,
            "a run is open"
        );
        assert!(
            store
                .record_slot("nightly", 200, "skipped", "busy", "d", 0)
                .await
                .unwrap()
        );
        assert!(
            !store
                .record_slot("nightly", 200, "skipped", "busy", "d", 0)
                .await
                .unwrap()
        );
        store
            .finish_schedule_run(first, "done", None, 5)
            .await
            .unwrap();
        assert_eq!(
            store.claim_slot(&run(200)).await.unwrap(),
            None,
            "recorded as skipped"
        );
        assert!(store.claim_slot(&run(300)).await.unwrap().is_some());
        assert_eq!(store.last_slot("nightly").await.unwrap(), Some(300));
        let runs = store.schedule_runs("nightly").await.unwrap();
        assert_eq!(
            runs.iter().map(|r| r.status.as_str()).collect::<Vec<_>>(),
            ["done", "skipped", "running"]
        );
    }
}
