//! The SQL behind `bootforge serve` that the review queue's own
//! queries lack: the decision history across items, an item's neighbours in
//! the queue, and a campaign's per-generation counts (drafts, evaluations,
//! acceptances, failing stages, LLM calls and tokens by role). Read-only.

use anyhow::Result;
use serde::Serialize;
use sqlx::Row;

use super::{ReviewFilter, ReviewItemRow, Store};

/// A decision with the item it was made on, for the history view.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryRow {
    pub id: i64,
    pub item_id: i64,
    pub decision: String,
    pub reviewer: String,
    pub note: Option<String>,
    pub forced: bool,
    pub created_at: String,
    pub task_id: String,
    pub campaign_id: Option<i64>,
}

/// Per generation of a campaign: drafts made, evaluated, passed, accepted.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct GenerationCounts {
    pub generation: i64,
    pub drafts: i64,
    pub evaluated: i64,
    pub passed: i64,
    pub accepted: i64,
}

/// Per generation of a campaign and role: LLM calls and tokens.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RoleUsage {
    /// None for calls not tied to a draft.
    pub generation: Option<i64>,
    pub role: String,
    pub calls: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
}

/// The queue's columns as `review_items` selects them, but without the
/// code (a list line does not show it, and 10,000 bootcamps' code is tens
/// of megabytes per page view).
const PAGE_COLUMNS: &str = "i.id, i.source, i.campaign_id, i.task_id, i.draft_id, i.file_path, i.class_name, i.params_json,
     '' AS code, i.report_json, i.accuracy, i.note, i.created_at,
     COALESCE((SELECT rd.decision FROM review_decisions rd WHERE rd.item_id = i.id ORDER BY rd.id DESC LIMIT 1), 'pending') AS status";

impl Store {
    /// One page of the queue entries matching `filter` (oldest first, as
    /// `review_items` orders them), without their code, and how many match
    /// in all.
    pub async fn review_items_page(
        &self,
        filter: &ReviewFilter,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<ReviewItemRow>, i64)> {
        let inner = format!(
            "SELECT {PAGE_COLUMNS} FROM review_items i
             WHERE (? IS NULL OR i.campaign_id = ?) AND (? IS NULL OR i.task_id = ?)"
        );
        let bind = |q: sqlx::query::Query<'static, sqlx::Sqlite, sqlx::sqlite::SqliteArguments>| {
            q.bind(filter.campaign)
                .bind(filter.campaign)
                .bind(filter.task.clone())
                .bind(filter.task.clone())
                .bind(filter.status.clone())
                .bind(filter.status.clone())
        };
        let count = format!("SELECT COUNT(*) FROM ({inner}) x WHERE (? IS NULL OR x.status = ?)");
        let total: i64 = bind(sqlx::query(sqlx::AssertSqlSafe(count)))
            .fetch_one(&self.pool)
            .await?
            .get(0);
        let page = format!(
            "SELECT * FROM ({inner}) x WHERE (? IS NULL OR x.status = ?) ORDER BY x.id LIMIT ? OFFSET ?"
        );
        let rows = bind(sqlx::query(sqlx::AssertSqlSafe(page)))
            .bind(limit)
            .bind(offset)
            .fetch_all(&self.pool)
            .await?;
        let items = rows.iter().map(super::review::item_from_row).collect();
        Ok((items, total))
    }

    /// The latest decisions, newest first, at most `limit`.
    pub async fn decision_history(&self, limit: i64) -> Result<Vec<HistoryRow>> {
        let rows = sqlx::query(
            "SELECT rd.id, rd.item_id, rd.decision, rd.reviewer, rd.note, rd.forced, rd.created_at, i.task_id, i.campaign_id
             FROM review_decisions rd JOIN review_items i ON i.id = rd.item_id
             ORDER BY rd.id DESC LIMIT ?",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| HistoryRow {
                id: r.get(0),
                item_id: r.get(1),
                decision: r.get(2),
                reviewer: r.get(3),
                note: r.get(4),
                forced: r.get::<i64, _>(5) != 0,
                created_at: r.get(6),
                task_id: r.get(7),
                campaign_id: r.get(8),
            })
            .collect())
    }

    /// The queue entries just before and just after `id` (by id).
    pub async fn neighbour_items(&self, id: i64) -> Result<(Option<i64>, Option<i64>)> {
        let row = sqlx::query(
            "SELECT (SELECT MAX(id) FROM review_items WHERE id < ?), (SELECT MIN(id) FROM review_items WHERE id > ?)",
        )
        .bind(id)
        .bind(id)
        .fetch_one(&self.pool)
        .await?;
        Ok((row.get(0), row.get(1)))
    }

    /// Drafts made, evaluated, passed and accepted per generation. A draft
    /// counts as accepted when its task accepted it or it entered the
    /// review queue (a `revise` clears the task's acceptance, not history).
    pub async fn generation_counts(&self, campaign: i64) -> Result<Vec<GenerationCounts>> {
        let rows = sqlx::query(
            "SELECT d.generation, COUNT(*),
                    SUM(CASE WHEN e.draft_id IS NOT NULL THEN 1 ELSE 0 END),
                    SUM(CASE WHEN e.verdict = 'pass' THEN 1 ELSE 0 END),
                    SUM(CASE WHEN EXISTS (SELECT 1 FROM review_items r WHERE r.draft_id = d.id)
                               OR EXISTS (SELECT 1 FROM tasks t WHERE t.campaign_id = d.campaign_id AND t.accepted_draft = d.id)
                             THEN 1 ELSE 0 END)
             FROM drafts d LEFT JOIN evaluations e ON e.draft_id = d.id
             WHERE d.campaign_id = ? GROUP BY d.generation ORDER BY d.generation",
        )
        .bind(campaign)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| GenerationCounts {
                generation: r.get(0),
                drafts: r.get(1),
                evaluated: r.get(2),
                passed: r.get(3),
                accepted: r.get(4),
            })
            .collect())
    }

    /// Failed evaluations per generation and furthest stage passed
    /// (`(generation, furthest_stage, count)`): the failing stage is the
    /// one after it.
    pub async fn stage_failures(&self, campaign: i64) -> Result<Vec<(i64, i64, i64)>> {
        let rows = sqlx::query(
            "SELECT d.generation, e.furthest_stage, COUNT(*)
             FROM drafts d JOIN evaluations e ON e.draft_id = d.id
             WHERE d.campaign_id = ? AND e.verdict <> 'pass'
             GROUP BY d.generation, e.furthest_stage ORDER BY d.generation, e.furthest_stage",
        )
        .bind(campaign)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect())
    }

    /// LLM calls and tokens per generation (of the draft they served) and role.
    pub async fn usage_by_generation(&self, campaign: i64) -> Result<Vec<RoleUsage>> {
        let rows = sqlx::query(
            "SELECT d.generation, c.role, COUNT(*), COALESCE(SUM(c.prompt_tokens), 0), COALESCE(SUM(c.completion_tokens), 0)
             FROM llm_calls c LEFT JOIN drafts d ON d.id = c.draft_id
             WHERE c.campaign_id = ? GROUP BY d.generation, c.role ORDER BY d.generation, c.role",
        )
        .bind(campaign)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| RoleUsage {
                generation: r.get(0),
                role: r.get(1),
                calls: r.get(2),
                prompt_tokens: r.get(3),
                completion_tokens: r.get(4),
            })
            .collect())
    }
}
