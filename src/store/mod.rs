//! The lineage store: SQLite through sqlx, in WAL mode with a busy timeout,
//! migrations run at open. Nothing else in bootforge writes SQL.
//!
//! Every write that completes a step (a draft's LLM answer with its call
//! record, an evaluation with its solver attempts) is one transaction, so a
//! crash at any moment leaves either the whole step or none of it.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context, Result};
use serde::Serialize;
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

pub use status::CallStatus;
use status::{CampaignStatus, DraftStatus, TaskStatus};

mod calibrate;
pub use calibrate::{CalibrationRow, DraftCalibrationRow, ProbeRow};
mod eval;
pub use eval::{EvalAnswerRow, EvalRecordRow, EvalRunRow, EvalScore, EvalScoreRow, ExcludedTask};
mod fleet;
pub use fleet::{EndpointCalls, SpendRow, TruncatedCalls};
mod lease;
mod review;
mod schedule;

pub use lease::LeaseHolder;
pub use review::{
    DecisionRow, NewReviewItem, Reopen, ReviewFilter, ReviewItemRow, Revision, now_utc,
};
pub use schedule::{
    ClaimedSlot, DaemonRow, NewScheduleRun, RunRow, ScheduleRow, TaskOutcomeCounts,
};
mod serve;
pub mod status;
pub use serve::{GenerationCounts, HistoryRow, Neighbours, ReviewPage, RoleUsage, StageFailures};

pub use crate::stored::UnknownValue;

/// The store.
#[derive(Clone)]
pub struct Store {
    pool: SqlitePool,
}

/// A campaign row.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct CampaignRow {
    pub id: i64,
    pub name: String,
    pub config_json: String,
    pub config_path: Option<String>,
    pub status: CampaignStatus,
    pub stop_reason: Option<String>,
    pub created_at: String,
}

/// A task of a campaign.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct TaskRow {
    pub id: String,
    pub title: Option<String>,
    pub description: String,
    pub extra_json: String,
    pub status: TaskStatus,
    pub accepted_draft: Option<i64>,
    pub best_draft: Option<i64>,
}

/// A draft with its evaluation summary, if evaluated.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct DraftRow {
    pub id: i64,
    pub task_id: String,
    pub generation: i64,
    pub sample: i64,
    pub parent_id: Option<i64>,
    pub operator: String,
    pub template: String,
    pub model: String,
    pub prompt: String,
    pub response: Option<String>,
    pub code: Option<String>,
    pub status: DraftStatus,
    pub verdict: Option<String>,
    pub furthest_stage: Option<i64>,
    pub loaded: Option<bool>,
    pub accuracy: Option<f64>,
    pub main_finding: Option<String>,
    /// It passed every stage but the accuracy band.
    pub band_miss: bool,
    /// What its calibration found: `Some(true)` a setting in the band,
    /// `Some(false)` none; `None` not calibrated.
    pub calibrated: Option<bool>,
}

/// A draft to create.
#[derive(Debug, Clone)]
pub struct NewDraft {
    pub campaign_id: i64,
    pub task_id: String,
    pub generation: i64,
    pub sample: i64,
    pub parent_id: Option<i64>,
    pub operator: String,
    pub template: String,
    pub template_sha: String,
    pub model: String,
    pub prompt: String,
}

/// An LLM exchange to record.
#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub struct CallRecord {
    pub call_key: String,
    pub role: String,
    pub model: String,
    pub draft_id: Option<i64>,
    pub status: CallStatus,
    pub content: Option<String>,
    pub reasoning: Option<String>,
    pub error: Option<String>,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub latency_ms: f64,
    pub attempts: i64,
    /// The endpoint (base URL) that answered, when live.
    pub endpoint: Option<String>,
    /// `stop`, `length`, ... as the server said.
    pub finish_reason: Option<String>,
}

/// An evaluation to record.
#[derive(Debug, Clone)]
pub struct EvaluationRecord {
    pub verdict: String,
    pub furthest_stage: i64,
    pub loaded: bool,
    pub accuracy: Option<f64>,
    pub main_finding: Option<String>,
    pub report_json: String,
    pub solver_attempts: Vec<SolverAttemptRow>,
    /// It passed every stage but the accuracy band.
    pub band_miss: bool,
}

/// One solver attempt as stored: seed, prompt, response, score, error.
pub type SolverAttemptRow = (i64, String, Option<String>, f64, Option<String>);

/// Spend of a campaign so far.
#[derive(Debug, Clone, Copy, Default, Serialize, sqlx::FromRow)]
pub struct Usage {
    pub llm_calls: i64,
    pub tokens: i64,
}

/// What status displays count of a campaign.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct CampaignCounts {
    /// Drafts created.
    pub drafts: i64,
    /// Drafts evaluated.
    pub evaluated: i64,
    /// Tasks accepted.
    pub accepted: i64,
}

/// How many rows a table holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableCount {
    pub table: String,
    pub rows: i64,
}

/// The columns of an `llm_calls` row that make a [`CallRecord`].
const CALL_COLUMNS: &str = "call_key, role, model, draft_id, status, content, reasoning, error, prompt_tokens, completion_tokens, latency_ms, attempts, endpoint, finish_reason";

/// The columns of a `campaigns` row that make a [`CampaignRow`].
const CAMPAIGN_COLUMNS: &str =
    "id, name, config_json, config_path, status, stop_reason, created_at";

/// The inserts of [`Store::create_campaign_with_tasks`], inside a caller's
/// transaction (a scheduled run claims its slot in the same one).
async fn insert_campaign(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    name: &str,
    config_json: &str,
    config_path: Option<&str>,
    tasks: &[(String, Option<String>, String, String)],
) -> Result<i64> {
    let id = sqlx::query(
        "INSERT INTO campaigns (name, config_json, config_path, status, created_at, updated_at) VALUES (?, ?, ?, ?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
    )
    .bind(name)
    .bind(config_json)
    .bind(config_path)
    .bind(CampaignStatus::Running)
    .execute(&mut **tx)
    .await?
    .last_insert_rowid();
    for (task, title, description, extra) in tasks {
        sqlx::query(
            "INSERT OR IGNORE INTO tasks (campaign_id, id, title, description, extra_json, status) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(id)
        .bind(task)
        .bind(title)
        .bind(description)
        .bind(extra)
        .bind(TaskStatus::Running)
        .execute(&mut **tx)
        .await?;
    }
    Ok(id)
}

impl Store {
    /// Open (creating if needed) the database at `path` and migrate it.
    pub async fn open(path: &Path) -> Result<Store> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
            .with_context(|| format!("database path {}", path.display()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        Self::connect(options, 4)
            .await
            .with_context(|| format!("opening the database {}", path.display()))
    }

    /// A private in-memory database (unit tests).
    pub async fn memory() -> Result<Store> {
        let options = SqliteConnectOptions::from_str("sqlite::memory:")?.foreign_keys(true);
        Self::connect(options, 1).await
    }

    async fn connect(options: SqliteConnectOptions, connections: u32) -> Result<Store> {
        let pool = SqlitePoolOptions::new()
            .max_connections(connections)
            .connect_with(options)
            .await?;
        // Two processes opening a new database at once (a campaign starting
        // while `campaign status` looks) can race on the first migration: the
        // loser fails on "table already exists", and a retry finds it applied.
        let mut attempt = 0;
        loop {
            match sqlx::migrate!("./migrations").run(&pool).await {
                Ok(()) => break,
                Err(_) if attempt < 5 => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(100 * attempt)).await;
                }
                Err(err) => return Err(anyhow::Error::from(err).context("migrating the database")),
            }
        }
        Ok(Store { pool })
    }

    /// Create a campaign and its tasks in one transaction: a crash leaves the
    /// whole campaign or nothing.
    pub async fn create_campaign_with_tasks(
        &self,
        name: &str,
        config_json: &str,
        config_path: Option<&str>,
        tasks: &[(String, Option<String>, String, String)],
    ) -> Result<i64> {
        let mut tx = self.pool.begin().await?;
        let id = insert_campaign(&mut tx, name, config_json, config_path, tasks).await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn campaign(&self, id: i64) -> Result<Option<CampaignRow>> {
        let sql = format!("SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE id = ?");
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Every campaign (not the rows that only hold a calibration's calls).
    pub async fn campaigns(&self) -> Result<Vec<CampaignRow>> {
        let sql = format!("SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE status <> ? ORDER BY id");
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(CampaignStatus::Calibration)
            .fetch_all(&self.pool)
            .await?)
    }

    pub async fn set_campaign_status(
        &self,
        id: i64,
        status: CampaignStatus,
        reason: Option<&str>,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE campaigns SET status = ?, stop_reason = ?, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?",
        ).bind(status).bind(reason).bind(id).execute(&self.pool).await?;
        Ok(())
    }

    /// Replace a campaign's stored configuration (a raised budget).
    pub async fn set_campaign_config(&self, id: i64, config_json: &str) -> Result<()> {
        sqlx::query("UPDATE campaigns SET config_json = ? WHERE id = ?")
            .bind(config_json)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn tasks(&self, campaign: i64) -> Result<Vec<TaskRow>> {
        Ok(sqlx::query_as(
            "SELECT id, title, description, extra_json, status, accepted_draft, best_draft FROM tasks WHERE campaign_id = ? ORDER BY id",
        )
        .bind(campaign)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn set_task_status(
        &self,
        campaign: i64,
        task: &str,
        status: TaskStatus,
        accepted: Option<i64>,
        best: Option<i64>,
    ) -> Result<()> {
        sqlx::query("UPDATE tasks SET status = ?, accepted_draft = ?, best_draft = ? WHERE campaign_id = ? AND id = ?")
            .bind(status)
            .bind(accepted)
            .bind(best)
            .bind(campaign)
            .bind(task)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn drafts(&self, campaign: i64, task: &str) -> Result<Vec<DraftRow>> {
        // A draft not evaluated has no band miss; one not calibrated, no
        // calibration outcome (NULL).
        Ok(sqlx::query_as(
            "SELECT d.id AS id, d.task_id AS task_id, d.generation AS generation, d.sample AS sample,
                    d.parent_id AS parent_id, d.operator AS operator, d.template AS template, d.model AS model,
                    d.prompt AS prompt, d.response AS response, d.code AS code, d.status AS status,
                    e.verdict AS verdict, e.furthest_stage AS furthest_stage, e.loaded AS loaded,
                    e.accuracy AS accuracy, e.main_finding AS main_finding,
                    COALESCE(e.band_miss, 0) AS band_miss, c.in_band AS calibrated
             FROM drafts d LEFT JOIN evaluations e ON e.draft_id = d.id
             LEFT JOIN draft_calibrations c ON c.draft_id = d.id
             WHERE d.campaign_id = ? AND d.task_id = ? ORDER BY d.id",
        )
        .bind(campaign)
        .bind(task)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The evaluation report of a draft, as stored.
    pub async fn evaluation_report(&self, draft: i64) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT report_json FROM evaluations WHERE draft_id = ?")
                .bind(draft)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Create a generation's drafts in one transaction (a crash leaves all of
    /// them or none); idempotent on (task, generation, parent, sample), so a
    /// resumed campaign finds the rows it created before a crash.
    pub async fn insert_drafts(&self, drafts: &[NewDraft]) -> Result<Vec<i64>> {
        let mut tx = self.pool.begin().await?;
        let mut ids = Vec::with_capacity(drafts.len());
        for d in drafts {
            sqlx::query(
                "INSERT OR IGNORE INTO drafts (campaign_id, task_id, generation, sample, parent_id, parent_key, operator, template,
                     template_sha, model, prompt, status, created_at)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
            )
            .bind(d.campaign_id)
            .bind(&d.task_id)
            .bind(d.generation)
            .bind(d.sample)
            .bind(d.parent_id)
            .bind(d.parent_id.unwrap_or(0))
            .bind(&d.operator)
            .bind(&d.template)
            .bind(&d.template_sha)
            .bind(&d.model)
            .bind(&d.prompt)
            .bind(DraftStatus::Pending)
            .execute(&mut *tx)
            .await?;
            let id: i64 = sqlx::query_scalar(
                "SELECT id FROM drafts WHERE campaign_id = ? AND task_id = ? AND generation = ? AND parent_key = ? AND sample = ?",
            )
            .bind(d.campaign_id)
            .bind(&d.task_id)
            .bind(d.generation)
            .bind(d.parent_id.unwrap_or(0))
            .bind(d.sample)
            .fetch_one(&mut *tx)
            .await?;
            ids.push(id);
        }
        tx.commit().await?;
        Ok(ids)
    }

    /// Create one draft (see [`Store::insert_drafts`]).
    pub async fn insert_draft(&self, d: &NewDraft) -> Result<i64> {
        Ok(self.insert_drafts(std::slice::from_ref(d)).await?[0])
    }

    async fn insert_call(
        tx: &mut sqlx::SqliteConnection,
        campaign: i64,
        c: &CallRecord,
    ) -> Result<()> {
        sqlx::query(
            "INSERT OR IGNORE INTO llm_calls (campaign_id, call_key, role, model, draft_id, status, content, reasoning, error,
                 prompt_tokens, completion_tokens, latency_ms, attempts, endpoint, finish_reason, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
        )
            .bind(campaign)
            .bind(&c.call_key)
            .bind(&c.role)
            .bind(&c.model)
            .bind(c.draft_id)
            .bind(c.status)
            .bind(&c.content)
            .bind(&c.reasoning)
            .bind(&c.error)
            .bind(c.prompt_tokens)
            .bind(c.completion_tokens)
            .bind(c.latency_ms)
            .bind(c.attempts)
            .bind(&c.endpoint)
            .bind(&c.finish_reason)
            .execute(&mut *tx)
            .await?;
        Ok(())
    }

    /// Record an LLM exchange on its own (solver calls).
    pub async fn record_call(&self, campaign: i64, call: &CallRecord) -> Result<()> {
        let mut conn = self.pool.acquire().await?;
        Self::insert_call(&mut conn, campaign, call).await
    }

    /// A finished exchange with this key, if the campaign has one.
    pub async fn finished_call(&self, campaign: i64, key: &str) -> Result<Option<CallRecord>> {
        let sql = format!(
            "SELECT {CALL_COLUMNS} FROM llm_calls WHERE campaign_id = ? AND call_key = ? AND status != ?"
        );
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(campaign)
            .bind(key)
            .bind(CallStatus::Failed)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Store the author's answer for a draft and its call, in one transaction.
    pub async fn complete_draft(
        &self,
        campaign: i64,
        draft: i64,
        response: &str,
        code: Option<&str>,
        call: &CallRecord,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        Self::insert_call(&mut tx, campaign, call).await?;
        let status = if code.is_some() {
            DraftStatus::Drafted
        } else {
            DraftStatus::NoCode
        };
        sqlx::query("UPDATE drafts SET response = ?, code = ?, status = ? WHERE id = ?")
            .bind(response)
            .bind(code)
            .bind(status)
            .bind(draft)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The author call for a draft failed after its retries.
    pub async fn fail_draft(&self, campaign: i64, draft: i64, call: &CallRecord) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        Self::insert_call(&mut tx, campaign, call).await?;
        sqlx::query("UPDATE drafts SET status = ? WHERE id = ?")
            .bind(DraftStatus::LlmFailed)
            .bind(draft)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Store an evaluation, its solver attempts, and mark the draft
    /// evaluated, in one transaction.
    pub async fn save_evaluation(&self, draft: i64, e: &EvaluationRecord) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT OR REPLACE INTO evaluations (draft_id, verdict, furthest_stage, loaded, accuracy, main_finding, report_json, band_miss, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
        )
            .bind(draft)
            .bind(&e.verdict)
            .bind(e.furthest_stage)
            .bind(e.loaded as i64)
            .bind(e.accuracy)
            .bind(&e.main_finding)
            .bind(&e.report_json)
            .bind(e.band_miss as i64)
            .execute(&mut *tx)
            .await?;
        for (seed, prompt, response, score, error) in &e.solver_attempts {
            sqlx::query("INSERT OR REPLACE INTO solver_attempts (draft_id, seed, prompt, response, score, error) VALUES (?, ?, ?, ?, ?, ?)")
                .bind(draft)
                .bind(seed)
                .bind(prompt)
                .bind(response)
                .bind(score)
                .bind(error)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("UPDATE drafts SET status = ? WHERE id = ?")
            .bind(DraftStatus::Evaluated)
            .bind(draft)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// LLM calls and tokens spent by a campaign (replayed calls included:
    /// a replay reproduces the original spend).
    pub async fn usage(&self, campaign: i64) -> Result<Usage> {
        Ok(sqlx::query_as(
            "SELECT COUNT(*) AS llm_calls, COALESCE(SUM(prompt_tokens + completion_tokens), 0) AS tokens
             FROM llm_calls WHERE campaign_id = ?",
        )
        .bind(campaign)
        .fetch_one(&self.pool)
        .await?)
    }

    /// Counts for status displays: drafts, drafts evaluated, accepted tasks.
    pub async fn counts(&self, campaign: i64) -> Result<CampaignCounts> {
        Ok(sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM drafts WHERE campaign_id = ?1) AS drafts,
                    (SELECT COUNT(*) FROM drafts WHERE campaign_id = ?1 AND status = ?2) AS evaluated,
                    (SELECT COUNT(*) FROM tasks WHERE campaign_id = ?1 AND status = ?3) AS accepted",
        )
        .bind(campaign)
        .bind(DraftStatus::Evaluated)
        .bind(TaskStatus::Accepted)
        .fetch_one(&self.pool)
        .await?)
    }

    /// Every LLM call of a campaign, in order.
    pub async fn calls(&self, campaign: i64) -> Result<Vec<CallRecord>> {
        let sql = format!("SELECT {CALL_COLUMNS} FROM llm_calls WHERE campaign_id = ? ORDER BY id");
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(campaign)
            .fetch_all(&self.pool)
            .await?)
    }

    /// Rows of each table, for checks of duplicates.
    pub async fn table_counts(&self) -> Result<Vec<TableCount>> {
        let mut out = Vec::new();
        for table in [
            "campaigns",
            "tasks",
            "drafts",
            "evaluations",
            "solver_attempts",
            "llm_calls",
        ] {
            let rows: i64 =
                sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
                    .fetch_one(&self.pool)
                    .await?;
            out.push(TableCount {
                table: table.to_owned(),
                rows,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn call_statuses_are_spelled_alike_in_sql_json_and_text() {
        crate::stored::assert_spellings(CallStatus::ALL).await;
    }

    fn draft(campaign: i64, sample: i64, parent: Option<i64>) -> NewDraft {
        NewDraft {
            campaign_id: campaign,
            task_id: "t1".into(),
            generation: if parent.is_some() { 1 } else { 0 },
            sample,
            parent_id: parent,
            operator: "draft".into(),
            template: "draft.md.j2".into(),
            template_sha: "abc".into(),
            model: "m".into(),
            prompt: "p".into(),
        }
    }

    #[tokio::test]
    async fn drafts_are_idempotent_and_steps_are_atomic() {
        let store = Store::memory().await.unwrap();
        let task = (
            "t1".to_owned(),
            None,
            "describe".to_owned(),
            "{}".to_owned(),
        );
        let c = store
            .create_campaign_with_tasks("c", "{}", None, &[task.clone(), task])
            .await
            .unwrap();
        let a = store.insert_draft(&draft(c, 0, None)).await.unwrap();
        assert_eq!(
            store.insert_draft(&draft(c, 0, None)).await.unwrap(),
            a,
            "same draft, same row"
        );
        let b = store.insert_draft(&draft(c, 1, None)).await.unwrap();
        assert_ne!(a, b);
        let child = store.insert_draft(&draft(c, 0, Some(a))).await.unwrap();
        let call = CallRecord {
            call_key: "k1".into(),
            role: "author".into(),
            status: CallStatus::Ok,
            prompt_tokens: 3,
            completion_tokens: 4,
            attempts: 1,
            ..Default::default()
        };
        store
            .complete_draft(c, a, "resp", Some("code"), &call)
            .await
            .unwrap();
        store
            .complete_draft(c, a, "resp", Some("code"), &call)
            .await
            .unwrap();
        assert!(store.finished_call(c, "k1").await.unwrap().is_some());
        assert!(store.finished_call(c, "k2").await.unwrap().is_none());
        let usage = store.usage(c).await.unwrap();
        assert_eq!((usage.llm_calls, usage.tokens), (1, 7));
        let drafts = store.drafts(c, "t1").await.unwrap();
        assert_eq!(drafts.len(), 3);
        assert_eq!(
            drafts.iter().find(|d| d.id == child).unwrap().parent_id,
            Some(a)
        );
        assert_eq!(
            drafts.iter().find(|d| d.id == a).unwrap().status,
            DraftStatus::Drafted
        );
        let counts = store.table_counts().await.unwrap();
        assert_eq!(counts.iter().find(|t| t.table == "tasks").unwrap().rows, 1);
    }
}
