//! The SQL of evaluation runs: the run, its records (copied in at the
//! start), and one answer per record and sample, stored when its call
//! finishes and scored afterwards.

use anyhow::Result;
use serde::Serialize;

use super::status::EvalStatus;
use super::{Store, now_utc};

/// An evaluation run.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct EvalRunRow {
    pub id: i64,
    pub name: String,
    pub config_json: String,
    pub status: EvalStatus,
    pub created_at: String,
    pub updated_at: String,
}

/// One data record of a run.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct EvalRecordRow {
    pub idx: i64,
    pub data_source: String,
    pub prompt: String,
    pub ground_truth: String,
}

/// One stored answer.
#[derive(Debug, Clone, Default, Serialize, sqlx::FromRow)]
pub struct EvalAnswerRow {
    pub idx: i64,
    pub sample: i64,
    pub content: String,
    pub reasoning: Option<String>,
    pub finish_reason: Option<String>,
    pub endpoint: Option<String>,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub latency_ms: f64,
    pub attempts: i64,
    pub score: Option<f64>,
    pub error_kind: Option<String>,
    pub error: Option<String>,
    /// Set when the call was refused for good: no answer, score 0, never
    /// asked again.
    pub call_error: Option<String>,
}

/// An answer's score as the verifier gave it.
#[derive(Debug, Clone)]
pub struct EvalScore {
    pub idx: i64,
    pub sample: i64,
    pub score: f64,
    /// Why the score is 0 without a verdict (the verifier failed).
    pub error_kind: Option<String>,
    pub error: Option<String>,
}

/// A record and an answer's score, for reports.
/// A task an eval run leaves out, and why.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ExcludedTask {
    pub data_source: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct EvalScoreRow {
    pub idx: i64,
    pub sample: i64,
    pub data_source: String,
    pub score: Option<f64>,
    pub error_kind: Option<String>,
    pub completion_tokens: i64,
    pub finish_reason: Option<String>,
    pub call_error: Option<String>,
}

impl Store {
    /// Create a run with its records, in one transaction.
    pub async fn create_eval_run(
        &self,
        name: &str,
        config_json: &str,
        records: &[(String, String, String)],
    ) -> Result<i64> {
        let now = now_utc();
        let mut tx = self.pool.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO eval_runs (name, config_json, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(name)
        .bind(config_json)
        .bind(EvalStatus::Running)
        .bind(&now)
        .bind(&now)
        .fetch_one(&mut *tx)
        .await?;
        for (idx, (source, prompt, truth)) in records.iter().enumerate() {
            sqlx::query(
                "INSERT INTO eval_records (run_id, idx, data_source, prompt, ground_truth) VALUES (?, ?, ?, ?, ?)",
            )
            .bind(id)
            .bind(idx as i64)
            .bind(source)
            .bind(prompt)
            .bind(truth)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    pub async fn eval_run(&self, id: i64) -> Result<Option<EvalRunRow>> {
        Ok(sqlx::query_as(
            "SELECT id, name, config_json, status, created_at, updated_at FROM eval_runs WHERE id = ?",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?)
    }

    pub async fn eval_runs(&self) -> Result<Vec<EvalRunRow>> {
        Ok(sqlx::query_as(
            "SELECT id, name, config_json, status, created_at, updated_at FROM eval_runs ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// Replace a run's stored configuration (a resume that raised its budget).
    pub async fn set_eval_config(&self, id: i64, config_json: &str) -> Result<()> {
        sqlx::query("UPDATE eval_runs SET config_json = ?, updated_at = ? WHERE id = ?")
            .bind(config_json)
            .bind(now_utc())
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn set_eval_status(&self, id: i64, status: EvalStatus) -> Result<()> {
        sqlx::query("UPDATE eval_runs SET status = ?, updated_at = ? WHERE id = ?")
            .bind(status)
            .bind(now_utc())
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn eval_records(&self, run: i64) -> Result<Vec<EvalRecordRow>> {
        Ok(sqlx::query_as(
            "SELECT idx, data_source, prompt, ground_truth FROM eval_records WHERE run_id = ? ORDER BY idx",
        )
        .bind(run)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn eval_answers(&self, run: i64) -> Result<Vec<EvalAnswerRow>> {
        Ok(sqlx::query_as(
            "SELECT idx, sample, content, reasoning, finish_reason, endpoint, prompt_tokens, completion_tokens, latency_ms, attempts, score, error_kind, error, call_error FROM eval_answers WHERE run_id = ? ORDER BY idx, sample",
        )
        .bind(run)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Every answer's score with its record's data source.
    pub async fn eval_scores(&self, run: i64) -> Result<Vec<EvalScoreRow>> {
        Ok(sqlx::query_as(
            "SELECT a.idx, a.sample, r.data_source, a.score, a.error_kind, a.completion_tokens, a.finish_reason, a.call_error FROM eval_answers a JOIN eval_records r ON r.run_id = a.run_id AND r.idx = a.idx WHERE a.run_id = ? ORDER BY a.idx, a.sample",
        )
        .bind(run)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Store finished calls' answers, unscored (a refused call's with its
    /// error and score), in one transaction. A second answer to the same
    /// record and sample is ignored (the first stays).
    pub async fn insert_eval_answers(&self, run: i64, answers: &[EvalAnswerRow]) -> Result<()> {
        let now = now_utc();
        let mut tx = self.pool.begin().await?;
        for a in answers {
            sqlx::query(
                "INSERT INTO eval_answers (run_id, idx, sample, content, reasoning, finish_reason, endpoint, prompt_tokens, completion_tokens, latency_ms, attempts, score, call_error, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, idx, sample) DO NOTHING",
            )
            .bind(run)
            .bind(a.idx)
            .bind(a.sample)
            .bind(&a.content)
            .bind(&a.reasoning)
            .bind(&a.finish_reason)
            .bind(&a.endpoint)
            .bind(a.prompt_tokens)
            .bind(a.completion_tokens)
            .bind(a.latency_ms)
            .bind(a.attempts)
            .bind(a.score)
            .bind(&a.call_error)
            .bind(&now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Store scores, in one transaction.
    pub async fn score_eval_answers(&self, run: i64, scores: &[EvalScore]) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        for EvalScore {
            idx,
            sample,
            score,
            error_kind: kind,
            error,
        } in scores
        {
            sqlx::query(
                "UPDATE eval_answers SET score = ?, error_kind = ?, error = ? WHERE run_id = ? AND idx = ? AND sample = ?",
            )
            .bind(score)
            .bind(kind)
            .bind(error)
            .bind(run)
            .bind(idx)
            .bind(sample)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

impl Store {
    /// Replace a run's excluded tasks.
    pub async fn set_eval_excluded(&self, run: i64, excluded: &[(String, String)]) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM eval_excluded WHERE run_id = ?")
            .bind(run)
            .execute(&mut *tx)
            .await?;
        for (source, reason) in excluded {
            sqlx::query("INSERT INTO eval_excluded (run_id, data_source, reason) VALUES (?, ?, ?)")
                .bind(run)
                .bind(source)
                .bind(reason)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// A run's excluded tasks, by data source.
    pub async fn eval_excluded(&self, run: i64) -> Result<Vec<ExcludedTask>> {
        Ok(sqlx::query_as(
            "SELECT data_source, reason FROM eval_excluded WHERE run_id = ? ORDER BY data_source",
        )
        .bind(run)
        .fetch_all(&self.pool)
        .await?)
    }
}
