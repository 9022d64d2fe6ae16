//! The SQL behind `bootforge serve` that the review queue's own
//! queries lack: the decision history across items, an item's neighbours in
//! the queue, and a campaign's per-generation counts (drafts, evaluations,
//! acceptances, failing stages, LLM calls and tokens by role). Read-only.

use anyhow::Result;
use serde::Serialize;

use super::status::Decision;
use super::{ReviewFilter, ReviewItemRow, Store};

/// A decision with the item it was made on, for the history view.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct HistoryRow {
    pub id: i64,
    pub item_id: i64,
    pub decision: Decision,
    pub reviewer: String,
    pub note: Option<String>,
    pub forced: bool,
    pub created_at: String,
    pub task_id: String,
    pub campaign_id: Option<i64>,
}

/// Per generation of a campaign: drafts made, evaluated, passed, accepted.
/// One page of the review queue.
#[derive(Debug, Clone)]
pub struct ReviewPage {
    /// Without their code.
    pub items: Vec<ReviewItemRow>,
    /// How many entries match the filter, on every page.
    pub total: i64,
}

/// The queue entries on either side of one (by id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct Neighbours {
    pub prev: Option<i64>,
    pub next: Option<i64>,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, sqlx::FromRow)]
pub struct GenerationCounts {
    pub generation: i64,
    pub drafts: i64,
    pub evaluated: i64,
    pub passed: i64,
    pub accepted: i64,
}

/// Failed evaluations of one generation whose furthest stage passed is
/// `furthest_stage` (the failing stage is the one after it).
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, sqlx::FromRow)]
pub struct StageFailures {
    pub generation: i64,
    pub furthest_stage: i64,
    pub count: i64,
}

/// Per generation of a campaign and role: LLM calls and tokens.
#[derive(Debug, Clone, Serialize, PartialEq, sqlx::FromRow)]
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
const PAGE_COLUMNS: &str = "i.id AS id, i.source AS source, i.campaign_id AS campaign_id, i.task_id AS task_id,
     i.draft_id AS draft_id, i.file_path AS file_path, i.class_name AS class_name, i.params_json AS params_json,
     '' AS code, i.report_json AS report_json, i.accuracy AS accuracy, i.note AS note, i.created_at AS created_at,
     COALESCE((SELECT rd.decision FROM review_decisions rd WHERE rd.item_id = i.id ORDER BY rd.id DESC LIMIT 1), 'pending') AS status";

/// Bind a [`ReviewFilter`]'s six parameters, as the count and the page of
/// [`Store::review_items_page`] both take them.
fn bind_filter<'q, O>(
    query: sqlx::query::QueryAs<'q, sqlx::Sqlite, O, sqlx::sqlite::SqliteArguments>,
    filter: &ReviewFilter,
) -> sqlx::query::QueryAs<'q, sqlx::Sqlite, O, sqlx::sqlite::SqliteArguments> {
    query
        .bind(filter.campaign)
        .bind(filter.campaign)
        .bind(filter.task.clone())
        .bind(filter.task.clone())
        .bind(filter.status)
        .bind(filter.status)
}

impl Store {
    /// One page of the queue entries matching `filter` (oldest first, as
    /// `review_items` orders them), without their code, and how many match
    /// in all.
    pub async fn review_items_page(
        &self,
        filter: &ReviewFilter,
        limit: i64,
        offset: i64,
    ) -> Result<ReviewPage> {
        let inner = format!(
            "SELECT {PAGE_COLUMNS} FROM review_items i
             WHERE (? IS NULL OR i.campaign_id = ?) AND (? IS NULL OR i.task_id = ?)"
        );
        let count = format!("SELECT COUNT(*) FROM ({inner}) x WHERE (? IS NULL OR x.status = ?)");
        let (total,): (i64,) = bind_filter(sqlx::query_as(sqlx::AssertSqlSafe(count)), filter)
            .fetch_one(&self.pool)
            .await?;
        let page = format!(
            "SELECT * FROM ({inner}) x WHERE (? IS NULL OR x.status = ?) ORDER BY x.id LIMIT ? OFFSET ?"
        );
        let items = bind_filter(sqlx::query_as(sqlx::AssertSqlSafe(page)), filter)
            .bind(limit)
            .bind(offset)
            .fetch_all(&self.pool)
            .await?;
        Ok(ReviewPage { items, total })
    }

    /// The latest decisions, newest first, at most `limit`.
    pub async fn decision_history(&self, limit: i64) -> Result<Vec<HistoryRow>> {
        Ok(sqlx::query_as(
            "SELECT rd.id AS id, rd.item_id AS item_id, rd.decision AS decision, rd.reviewer AS reviewer,
                    rd.note AS note, rd.forced AS forced, rd.created_at AS created_at,
                    i.task_id AS task_id, i.campaign_id AS campaign_id
             FROM review_decisions rd JOIN review_items i ON i.id = rd.item_id
             ORDER BY rd.id DESC LIMIT ?",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The queue entries just before and just after `id` (by id).
    pub async fn neighbour_items(&self, id: i64) -> Result<Neighbours> {
        Ok(sqlx::query_as(
            "SELECT (SELECT MAX(id) FROM review_items WHERE id < ?) AS prev, (SELECT MIN(id) FROM review_items WHERE id > ?) AS next",
        )
        .bind(id)
        .bind(id)
        .fetch_one(&self.pool)
        .await?)
    }

    /// Drafts made, evaluated, passed and accepted per generation. A draft
    /// counts as accepted when its task accepted it or it entered the
    /// review queue (a `revise` clears the task's acceptance, not history).
    pub async fn generation_counts(&self, campaign: i64) -> Result<Vec<GenerationCounts>> {
        Ok(sqlx::query_as(
            "SELECT d.generation AS generation, COUNT(*) AS drafts,
                    SUM(CASE WHEN e.draft_id IS NOT NULL THEN 1 ELSE 0 END) AS evaluated,
                    SUM(CASE WHEN e.verdict = 'pass' THEN 1 ELSE 0 END) AS passed,
                    SUM(CASE WHEN EXISTS (SELECT 1 FROM review_items r WHERE r.draft_id = d.id)
                               OR EXISTS (SELECT 1 FROM tasks t WHERE t.campaign_id = d.campaign_id AND t.accepted_draft = d.id)
                             THEN 1 ELSE 0 END) AS accepted
             FROM drafts d LEFT JOIN evaluations e ON e.draft_id = d.id
             WHERE d.campaign_id = ? GROUP BY d.generation ORDER BY d.generation",
        )
        .bind(campaign)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Failed evaluations per generation and furthest stage passed.
    pub async fn stage_failures(&self, campaign: i64) -> Result<Vec<StageFailures>> {
        Ok(sqlx::query_as(
            "SELECT d.generation AS generation, e.furthest_stage AS furthest_stage, COUNT(*) AS count
             FROM drafts d JOIN evaluations e ON e.draft_id = d.id
             WHERE d.campaign_id = ? AND e.verdict <> 'pass'
             GROUP BY d.generation, e.furthest_stage ORDER BY d.generation, e.furthest_stage",
        )
        .bind(campaign)
        .fetch_all(&self.pool)
        .await?)
    }

    /// LLM calls and tokens per generation (of the draft they served) and role.
    pub async fn usage_by_generation(&self, campaign: i64) -> Result<Vec<RoleUsage>> {
        Ok(sqlx::query_as(
            "SELECT d.generation AS generation, c.role AS role, COUNT(*) AS calls,
                    COALESCE(SUM(c.prompt_tokens), 0) AS prompt_tokens,
                    COALESCE(SUM(c.completion_tokens), 0) AS completion_tokens
             FROM llm_calls c LEFT JOIN drafts d ON d.id = c.draft_id
             WHERE c.campaign_id = ? GROUP BY d.generation, c.role ORDER BY d.generation, c.role",
        )
        .bind(campaign)
        .fetch_all(&self.pool)
        .await?)
    }
}
