//! The review queue's SQL: queue entries, decisions as appended
//! rows, and the two places where the queue meets a campaign (a task's
//! acceptance enqueues its draft in the same transaction; a decision that
//! reopens its task, as [`crate::review`] rules, is applied in the same
//! transaction as the decision).
//!
//! Timestamps are bound from here (RFC 3339, UTC) rather than computed by
//! SQLite's `strftime`, so these statements also run on PostgreSQL.

use anyhow::Result;
use serde::Serialize;

use super::Store;
use super::status::{CampaignStatus, Decision, DraftStatus, ItemStatus, TaskStatus};

/// A queue entry with its current status (its latest decision, or pending).
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ReviewItemRow {
    pub id: i64,
    /// campaign | file
    pub source: String,
    pub campaign_id: Option<i64>,
    pub task_id: String,
    pub draft_id: Option<i64>,
    pub file_path: Option<String>,
    pub class_name: Option<String>,
    pub params_json: String,
    pub code: String,
    pub report_json: String,
    pub accuracy: Option<f64>,
    pub note: Option<String>,
    pub created_at: String,
    pub status: ItemStatus,
}

/// One decision on a queue entry.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct DecisionRow {
    pub id: i64,
    pub item_id: i64,
    pub decision: Decision,
    pub reviewer: String,
    pub note: Option<String>,
    /// It overrode an earlier decision (`--force`).
    pub forced: bool,
    pub created_at: String,
}

/// A bootcamp file to queue (`review add`).
#[derive(Debug, Clone)]
pub struct NewReviewItem {
    pub task_id: String,
    pub file_path: Option<String>,
    pub class_name: Option<String>,
    pub params_json: String,
    pub code: String,
    pub report_json: String,
    pub accuracy: Option<f64>,
    pub note: Option<String>,
}

/// What a decision does to the campaign its item came from, beyond the
/// decision row: the review layer decides it
/// ([`crate::review::rules::reopening`]), the store applies it in the
/// decision's transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct Reopen {
    /// The task's new status; its accepted draft is no longer accepted.
    pub task_status: TaskStatus,
    /// The campaign moves from this status ...
    pub campaign_from: CampaignStatus,
    /// ... to this one, with `stop_reason`.
    pub campaign_to: CampaignStatus,
    pub stop_reason: String,
}

/// A draft of a task that a curator sent back, with the curator's note.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Revision {
    pub draft_id: i64,
    /// Empty when the curator left none.
    pub note: String,
}

/// Which entries `review list` shows.
#[derive(Debug, Clone, Default)]
pub struct ReviewFilter {
    pub status: Option<ItemStatus>,
    pub campaign: Option<i64>,
    pub task: Option<String>,
}

/// Now, as RFC 3339 UTC with milliseconds (the same shape as the
/// timestamps the campaign tables hold).
pub fn now_utc() -> String {
    timestamp_utc(jiff::Timestamp::now())
}

/// `t` as RFC 3339 UTC with exactly three fraction digits, so that these
/// strings sort as the instants they name.
fn timestamp_utc(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S.%3fZ").to_string()
}

/// The columns of a [`ReviewItemRow`].
const ITEM_COLUMNS: &str = "i.id AS id, i.source AS source, i.campaign_id AS campaign_id, i.task_id AS task_id,
     i.draft_id AS draft_id, i.file_path AS file_path, i.class_name AS class_name, i.params_json AS params_json,
     i.code AS code, i.report_json AS report_json, i.accuracy AS accuracy, i.note AS note, i.created_at AS created_at,
     COALESCE((SELECT rd.decision FROM review_decisions rd WHERE rd.item_id = i.id ORDER BY rd.id DESC LIMIT 1), 'pending') AS status";

/// Insert one queue entry for a bootcamp file (`review add`).
pub(super) async fn insert_file_item(
    conn: &mut sqlx::SqliteConnection,
    item: &NewReviewItem,
    created_at: &str,
) -> Result<i64> {
    Ok(sqlx::query(
        "INSERT INTO review_items (source, campaign_id, task_id, draft_id, file_path, class_name, params_json, code, report_json, accuracy, note, created_at)
         VALUES ('file', NULL, ?, NULL, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&item.task_id)
    .bind(&item.file_path)
    .bind(&item.class_name)
    .bind(&item.params_json)
    .bind(&item.code)
    .bind(&item.report_json)
    .bind(item.accuracy)
    .bind(&item.note)
    .bind(created_at)
    .execute(conn)
    .await?
    .last_insert_rowid())
}

/// The columns of a [`DecisionRow`].
const DECISION_COLUMNS: &str = "id, item_id, decision, reviewer, note, forced, created_at";

impl Store {
    /// Mark a task accepted with `draft` and queue the draft for review, in
    /// one transaction: a crash leaves both or neither. Idempotent (a draft
    /// is queued once).
    pub async fn accept_task(&self, campaign: i64, task: &str, draft: i64) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE tasks SET status = ?, accepted_draft = ?, best_draft = ? WHERE campaign_id = ? AND id = ?")
            .bind(TaskStatus::Accepted)
            .bind(draft)
            .bind(draft)
            .bind(campaign)
            .bind(task)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO review_items (source, campaign_id, task_id, draft_id, class_name, params_json, code, report_json, accuracy, created_at)
             SELECT 'campaign', d.campaign_id, d.task_id, d.id, NULL, '{}', d.code, e.report_json, e.accuracy, ?
             FROM drafts d JOIN evaluations e ON e.draft_id = d.id
             WHERE d.id = ? AND d.code IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM review_items r WHERE r.draft_id = d.id)",
        )
        .bind(now_utc())
        .bind(draft)
        .execute(&mut *tx)
        .await?;
        // A draft accepted by calibration: the item is set to the
        // parameters that put it in the band, at their accuracy, with the
        // check report at that setting, and linked to the calibration (its
        // ladder and test setting are what export and generate --split use).
        sqlx::query(
            "UPDATE review_items SET
                 params_json = (SELECT dc.params_json FROM draft_calibrations dc WHERE dc.draft_id = review_items.draft_id),
                 accuracy = (SELECT dc.accuracy FROM draft_calibrations dc WHERE dc.draft_id = review_items.draft_id),
                 report_json = COALESCE((SELECT dc.report_json FROM draft_calibrations dc WHERE dc.draft_id = review_items.draft_id), review_items.report_json)
             WHERE draft_id = ? AND EXISTS (SELECT 1 FROM draft_calibrations dc
                 WHERE dc.draft_id = review_items.draft_id AND dc.in_band = 1 AND dc.params_json IS NOT NULL)",
        )
        .bind(draft)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO review_calibrations (item_id, calibration_id, created_at)
             SELECT r.id, dc.calibration_id, ? FROM review_items r JOIN draft_calibrations dc ON dc.draft_id = r.draft_id
             WHERE r.draft_id = ? AND dc.in_band = 1 AND dc.calibration_id IS NOT NULL
             ON CONFLICT (item_id) DO NOTHING",
        )
        .bind(now_utc())
        .bind(draft)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Queue a bootcamp file that passed its check.
    pub async fn add_review_item(&self, item: &NewReviewItem) -> Result<i64> {
        let mut conn = self.pool.acquire().await?;
        insert_file_item(&mut conn, item, &now_utc()).await
    }

    /// Queue entries matching `filter`, oldest first.
    pub async fn review_items(&self, filter: &ReviewFilter) -> Result<Vec<ReviewItemRow>> {
        let sql = format!(
            "SELECT * FROM (SELECT {ITEM_COLUMNS} FROM review_items i
                WHERE (? IS NULL OR i.campaign_id = ?) AND (? IS NULL OR i.task_id = ?)) x
             WHERE (? IS NULL OR x.status = ?) ORDER BY x.id"
        );
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(filter.campaign)
            .bind(filter.campaign)
            .bind(&filter.task)
            .bind(&filter.task)
            .bind(filter.status)
            .bind(filter.status)
            .fetch_all(&self.pool)
            .await?)
    }

    /// One queue entry.
    pub async fn review_item(&self, id: i64) -> Result<Option<ReviewItemRow>> {
        let sql = format!("SELECT {ITEM_COLUMNS} FROM review_items i WHERE i.id = ?");
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Every decision on an entry, oldest first.
    pub async fn review_decisions(&self, item: i64) -> Result<Vec<DecisionRow>> {
        let sql = format!(
            "SELECT {DECISION_COLUMNS} FROM review_decisions WHERE item_id = ? ORDER BY id"
        );
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(item)
            .fetch_all(&self.pool)
            .await?)
    }

    /// Record a decision. `allow` sees the entry's latest decision (read in
    /// the same write transaction, so two curators cannot both decide a
    /// pending entry) and says whether the new one may be recorded and
    /// whether it overrides (`Ok(forced)`), or why not. `reopen` (what the
    /// review rules say the decision does to its item's campaign, if the
    /// item came from one) is applied in the same transaction.
    ///
    /// `BEGIN IMMEDIATE` takes the write lock before the read: a deferred
    /// transaction that reads and then writes fails at once with "database
    /// is locked" when another writer committed in between, without waiting
    /// out the busy timeout.
    pub async fn record_decision<E>(
        &self,
        item: i64,
        decision: Decision,
        reviewer: &str,
        note: Option<&str>,
        reopen: Option<&Reopen>,
        allow: impl FnOnce(Option<&DecisionRow>) -> Result<bool, E>,
    ) -> Result<Result<DecisionRow, E>> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let sql = format!(
            "SELECT {DECISION_COLUMNS} FROM review_decisions WHERE item_id = ? ORDER BY id DESC LIMIT 1"
        );
        let latest: Option<DecisionRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(item)
            .fetch_optional(&mut *tx)
            .await?;
        let forced = match allow(latest.as_ref()) {
            Ok(forced) => forced,
            Err(refusal) => {
                tx.rollback().await?;
                return Ok(Err(refusal));
            }
        };
        let created_at = now_utc();
        let id = sqlx::query(
            "INSERT INTO review_decisions (item_id, decision, reviewer, note, forced, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(item)
        .bind(decision)
        .bind(reviewer)
        .bind(note)
        .bind(i64::from(forced))
        .bind(&created_at)
        .execute(&mut *tx)
        .await?
        .last_insert_rowid();
        if let Some(reopen) = reopen {
            sqlx::query(
                "UPDATE tasks SET status = ?, accepted_draft = NULL
                 WHERE (campaign_id, id) IN (SELECT campaign_id, task_id FROM review_items WHERE id = ? AND campaign_id IS NOT NULL)",
            )
            .bind(reopen.task_status)
            .bind(item)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE campaigns SET status = ?, stop_reason = ?, updated_at = ?
                 WHERE status = ? AND id = (SELECT campaign_id FROM review_items WHERE id = ?)",
            )
            .bind(reopen.campaign_to)
            .bind(&reopen.stop_reason)
            .bind(&created_at)
            .bind(reopen.campaign_from)
            .bind(item)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(Ok(DecisionRow {
            id,
            item_id: item,
            decision,
            reviewer: reviewer.to_owned(),
            note: note.map(str::to_owned),
            forced,
            created_at,
        }))
    }

    /// A task's drafts that a curator sent back (`revise`) and whose latest
    /// decision still says so, with the curator's note.
    pub async fn revisions(&self, campaign: i64, task: &str) -> Result<Vec<Revision>> {
        Ok(sqlx::query_as(
            "SELECT i.draft_id AS draft_id, COALESCE(rd.note, '') AS note FROM review_items i
             JOIN review_decisions rd ON rd.item_id = i.id
             WHERE i.campaign_id = ? AND i.task_id = ? AND i.draft_id IS NOT NULL AND rd.decision = ?
               AND rd.id = (SELECT MAX(r2.id) FROM review_decisions r2 WHERE r2.item_id = i.id)
             ORDER BY i.draft_id",
        )
        .bind(campaign)
        .bind(task)
        .bind(Decision::Revise)
        .fetch_all(&self.pool)
        .await?)
    }
}

impl Store {
    /// Carry curators' open revisions into a new campaign over the same
    /// task (a revision must not be lost to a fresh campaign): for each of its tasks whose latest
    /// queue item from another campaign was sent back (`revise`), copy that
    /// draft with its evaluation, queue item and `revise` decision into the
    /// new campaign, in one transaction, so the campaign refines it with the
    /// curator's note; the carried queue item's note is `note(item,
    /// campaign)` of the item it was carried from. Returns how many were
    /// carried. Call it once, when the campaign is created.
    pub async fn carry_revisions(
        &self,
        campaign: i64,
        note: impl Fn(i64, i64) -> String,
    ) -> Result<usize> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let open: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT i.id, i.draft_id FROM tasks t
             JOIN review_items i ON i.task_id = t.id
             WHERE t.campaign_id = ? AND i.draft_id IS NOT NULL
               AND i.id = (SELECT MAX(i2.id) FROM review_items i2
                           WHERE i2.task_id = t.id AND i2.campaign_id IS NOT NULL AND i2.campaign_id <> t.campaign_id)
               AND (SELECT rd.decision FROM review_decisions rd WHERE rd.item_id = i.id ORDER BY rd.id DESC LIMIT 1) = ?
             ORDER BY i.id",
        )
        .bind(campaign)
        .bind(Decision::Revise)
        .fetch_all(&mut *tx)
        .await?;
        let now = now_utc();
        for &(item, draft) in &open {
            let copy = sqlx::query(
                "INSERT INTO drafts (campaign_id, task_id, generation, sample, parent_id, parent_key, operator, template,
                     template_sha, model, prompt, response, code, status, created_at)
                 SELECT ?, task_id, generation, sample, NULL, 0, operator, template, template_sha, model, prompt, response,
                     code, ?, created_at FROM drafts WHERE id = ?",
            )
            .bind(campaign)
            .bind(DraftStatus::Evaluated)
            .bind(draft)
            .execute(&mut *tx)
            .await?
            .last_insert_rowid();
            sqlx::query(
                "INSERT INTO evaluations (draft_id, verdict, furthest_stage, loaded, accuracy, main_finding, report_json, created_at)
                 SELECT ?, verdict, furthest_stage, loaded, accuracy, main_finding, report_json, created_at FROM evaluations WHERE draft_id = ?",
            )
            .bind(copy)
            .bind(draft)
            .execute(&mut *tx)
            .await?;
            let carried = sqlx::query(
                "INSERT INTO review_items (source, campaign_id, task_id, draft_id, file_path, class_name, params_json, code,
                     report_json, accuracy, note, created_at)
                 SELECT source, ?, task_id, ?, file_path, class_name, params_json, code, report_json, accuracy, ?, ?
                 FROM review_items WHERE id = ?",
            )
            .bind(campaign)
            .bind(copy)
            .bind(note(item, campaign))
            .bind(&now)
            .bind(item)
            .execute(&mut *tx)
            .await?
            .last_insert_rowid();
            sqlx::query(
                "INSERT INTO review_decisions (item_id, decision, reviewer, note, forced, created_at)
                 SELECT ?, decision, reviewer, note, forced, created_at FROM review_decisions
                 WHERE item_id = ? ORDER BY id DESC LIMIT 1",
            )
            .bind(carried)
            .bind(item)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(open.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn now_is_rfc3339_utc() {
        let now = now_utc();
        assert_eq!(now.len(), 24, "{now}");
        assert!(now.ends_with('Z') && now.as_bytes()[10] == b'T', "{now}");
        assert!(now.as_str() > "2025-01-01", "{now}");
    }

    #[test]
    fn timestamps_keep_three_fraction_digits() {
        let at = |ms: i64| timestamp_utc(jiff::Timestamp::from_millisecond(ms).unwrap());
        assert_eq!(at(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(at(951_868_800_500), "2000-03-01T00:00:00.500Z");
        assert_eq!(at(1_709_251_199_999), "2024-02-29T23:59:59.999Z");
    }
}
