//! Queries for fleets of endpoints and their cost: spend by role
//! and model, and an author answer cut off by max_tokens.

use anyhow::Result;

use super::status::DraftStatus;
use super::{CallRecord, Store};

/// Calls and tokens of one role and model.
/// How many calls of a role one endpoint served.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct EndpointCalls {
    pub role: String,
    /// `None`: replayed from a cassette, or failed for good.
    pub endpoint: Option<String>,
    pub calls: i64,
}

/// How many answers of a role were cut off by `max_tokens`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TruncatedCalls {
    pub role: String,
    pub calls: i64,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct SpendRow {
    pub role: String,
    pub model: String,
    pub calls: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
}

impl Store {
    /// Calls and tokens by role and model (replayed calls included, like
    /// [`Store::usage`]; failed calls count, their tokens are 0).
    pub async fn spend_by_model(&self, campaign: i64) -> Result<Vec<SpendRow>> {
        Ok(sqlx::query_as(
            "SELECT role, model, COUNT(*) AS calls, COALESCE(SUM(prompt_tokens), 0) AS prompt_tokens,
                    COALESCE(SUM(completion_tokens), 0) AS completion_tokens
             FROM llm_calls WHERE campaign_id = ? GROUP BY role, model ORDER BY role, model",
        )
        .bind(campaign)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Calls served by each endpoint, by role (`None`: replayed, or failed
    /// for good).
    pub async fn calls_by_endpoint(&self, campaign: i64) -> Result<Vec<EndpointCalls>> {
        Ok(sqlx::query_as(
            "SELECT role, endpoint, COUNT(*) AS calls FROM llm_calls WHERE campaign_id = ? GROUP BY role, endpoint ORDER BY role, endpoint",
        )
        .bind(campaign)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Calls whose answer was cut off by max_tokens, by role.
    pub async fn truncated_calls(&self, campaign: i64) -> Result<Vec<TruncatedCalls>> {
        Ok(sqlx::query_as(
            "SELECT role, COUNT(*) AS calls FROM llm_calls WHERE campaign_id = ? AND finish_reason = 'length' GROUP BY role ORDER BY role",
        )
        .bind(campaign)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Store an author answer cut off by max_tokens and its call, in one
    /// transaction: the draft ends `truncated`, with no code.
    pub async fn truncate_draft(
        &self,
        campaign: i64,
        draft: i64,
        response: &str,
        call: &CallRecord,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        Self::insert_call(&mut tx, campaign, call).await?;
        sqlx::query("UPDATE drafts SET response = ?, code = NULL, status = ? WHERE id = ?")
            .bind(response)
            .bind(DraftStatus::Truncated)
            .bind(draft)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
