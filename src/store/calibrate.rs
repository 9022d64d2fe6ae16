//! Calibrations and their probes. Timestamps are bound from here (RFC 3339,
//! UTC) so that these statements also run on PostgreSQL.

use anyhow::Result;

use super::status::{CalibrationStatus, CampaignStatus};
use super::{Store, now_utc};

/// A calibration as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CalibrationRow {
    pub id: i64,
    pub campaign_id: i64,
    pub status: CalibrationStatus,
    pub space_json: Option<String>,
    pub result_json: Option<String>,
}

/// What a campaign draft's calibration found.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DraftCalibrationRow {
    pub draft_id: i64,
    pub calibration_id: Option<i64>,
    pub in_band: bool,
    /// The setting that landed in the band.
    pub params_json: Option<String>,
    pub accuracy: Option<f64>,
    /// Why the calibration could not run, if it could not.
    pub note: Option<String>,
    /// The calibration's result (a `calibrate::Report` as JSON).
    pub result_json: Option<String>,
}

/// One measured setting.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ProbeRow {
    pub idx: i64,
    pub params_json: String,
    pub values_json: String,
    pub cases: i64,
    pub correct: i64,
    pub bound_json: Option<String>,
    pub generate_ms: f64,
    pub solver_calls: i64,
    pub detail_json: String,
}

impl Store {
    /// The calibration stored under `key`, or a new one, in one
    /// transaction. Its solver calls are `llm_calls` rows of `campaign`
    /// (a campaign calibrating one of its drafts) or, `None`, of a campaign
    /// row of its own made here.
    pub async fn open_calibration(
        &self,
        key: &str,
        file: &str,
        class: Option<&str>,
        settings_json: &str,
        campaign: Option<i64>,
    ) -> Result<CalibrationRow> {
        let mut tx = self.pool.begin().await?;
        let found = sqlx::query_as::<_, CalibrationRow>(
            "SELECT id, campaign_id, status, space_json, result_json FROM calibrations WHERE calibration_key = ?",
        )
        .bind(key)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = found {
            return Ok(row);
        }
        let now = now_utc();
        let campaign = match campaign {
            Some(id) => id,
            None => sqlx::query(
                "INSERT INTO campaigns (name, config_json, config_path, status, created_at, updated_at) VALUES (?, ?, NULL, ?, ?, ?)",
            )
            .bind(format!("calibrate {file}"))
            .bind(settings_json)
            .bind(CampaignStatus::Calibration)
            .bind(&now)
            .bind(&now)
            .execute(&mut *tx)
            .await?
            .last_insert_rowid(),
        };
        let id = sqlx::query(
            "INSERT INTO calibrations (calibration_key, campaign_id, file, class_name, settings_json, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(key)
        .bind(campaign)
        .bind(file)
        .bind(class)
        .bind(settings_json)
        .bind(CalibrationStatus::Running)
        .bind(&now)
        .bind(&now)
        .execute(&mut *tx)
        .await?
        .last_insert_rowid();
        tx.commit().await?;
        Ok(CalibrationRow {
            id,
            campaign_id: campaign,
            status: CalibrationStatus::Running,
            space_json: None,
            result_json: None,
        })
    }

    pub async fn set_calibration_space(&self, id: i64, space_json: &str) -> Result<()> {
        sqlx::query("UPDATE calibrations SET space_json = ?, updated_at = ? WHERE id = ?")
            .bind(space_json)
            .bind(now_utc())
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn finish_calibration(&self, id: i64, result_json: &str) -> Result<()> {
        sqlx::query(
            "UPDATE calibrations SET status = ?, result_json = ?, updated_at = ? WHERE id = ?",
        )
        .bind(CalibrationStatus::Done)
        .bind(result_json)
        .bind(now_utc())
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn calibration_probes(&self, id: i64) -> Result<Vec<ProbeRow>> {
        Ok(sqlx::query_as::<_, ProbeRow>(
            "SELECT idx, params_json, values_json, cases, correct, bound_json, generate_ms, solver_calls, detail_json FROM calibration_probes WHERE calibration_id = ? ORDER BY idx",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn add_calibration_probe(&self, id: i64, probe: &ProbeRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO calibration_probes (calibration_id, idx, params_json, values_json, cases, correct, bound_json, generate_ms, solver_calls, detail_json, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id)
        .bind(probe.idx)
        .bind(&probe.params_json)
        .bind(&probe.values_json)
        .bind(probe.cases)
        .bind(probe.correct)
        .bind(&probe.bound_json)
        .bind(probe.generate_ms)
        .bind(probe.solver_calls)
        .bind(&probe.detail_json)
        .bind(now_utc())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Solver calls the calibration's campaign row holds.
    pub async fn calibration_calls(&self, campaign: i64) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM llm_calls WHERE campaign_id = ?")
                .bind(campaign)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// Link a review item to a finished calibration of its code (replacing
    /// an earlier link).
    pub async fn link_item_calibration(&self, item: i64, calibration: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO review_calibrations (item_id, calibration_id, created_at) VALUES (?, ?, ?) ON CONFLICT (item_id) DO UPDATE SET calibration_id = excluded.calibration_id, created_at = excluded.created_at",
        )
        .bind(item)
        .bind(calibration)
        .bind(now_utc())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The stored result (a `calibrate::Report` as JSON) of the review
    /// item's calibration, if it has one.
    pub async fn item_calibration(&self, item: i64) -> Result<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT c.result_json FROM review_calibrations r JOIN calibrations c ON c.id = r.calibration_id WHERE r.item_id = ? AND c.result_json IS NOT NULL",
        )
        .bind(item)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// The check report stored for a setting of a calibration, if its
    /// checks ran there.
    pub async fn calibration_check(&self, id: i64, params_json: &str) -> Result<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT report_json FROM calibration_checks WHERE calibration_id = ? AND params_json = ?",
        )
        .bind(id)
        .bind(params_json)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Store the check report of a setting (once: the same setting checked
    /// again keeps the first).
    pub async fn add_calibration_check(
        &self,
        id: i64,
        params_json: &str,
        report_json: &str,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO calibration_checks (calibration_id, params_json, report_json, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (calibration_id, params_json) DO NOTHING",
        )
        .bind(id)
        .bind(params_json)
        .bind(report_json)
        .bind(now_utc())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Set a review item to the setting its calibration chose: its
    /// parameters, the check report there and the accuracy measured there.
    pub async fn set_item_setting(
        &self,
        item: i64,
        params_json: &str,
        report_json: &str,
        accuracy: Option<f64>,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE review_items SET params_json = ?, report_json = ?, accuracy = ? WHERE id = ?",
        )
        .bind(params_json)
        .bind(report_json)
        .bind(accuracy)
        .bind(item)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The settings (a JSON object with the `params` the search started
    /// from) of the review item's calibration, if it has one.
    pub async fn item_calibration_settings(&self, item: i64) -> Result<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT c.settings_json FROM review_calibrations r JOIN calibrations c ON c.id = r.calibration_id WHERE r.item_id = ?",
        )
        .bind(item)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Record what a campaign draft's calibration found (once: a resumed
    /// campaign that calibrates the draft again finds the same), with the
    /// check report at the setting found (the full check when in band).
    #[allow(clippy::too_many_arguments)]
    pub async fn record_draft_calibration(
        &self,
        draft: i64,
        calibration: Option<i64>,
        in_band: bool,
        params_json: Option<&str>,
        accuracy: Option<f64>,
        note: Option<&str>,
        report_json: Option<&str>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO draft_calibrations (draft_id, calibration_id, in_band, params_json, accuracy, note, report_json, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (draft_id) DO NOTHING",
        )
        .bind(draft)
        .bind(calibration)
        .bind(i64::from(in_band))
        .bind(params_json)
        .bind(accuracy)
        .bind(note)
        .bind(report_json)
        .bind(now_utc())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The calibrations of a campaign task's drafts.
    pub async fn draft_calibrations(
        &self,
        campaign: i64,
        task: &str,
    ) -> Result<Vec<DraftCalibrationRow>> {
        Ok(sqlx::query_as::<_, DraftCalibrationRow>(
            "SELECT dc.draft_id, dc.calibration_id, dc.in_band, dc.params_json, dc.accuracy, dc.note, c.result_json
             FROM draft_calibrations dc JOIN drafts d ON d.id = dc.draft_id
             LEFT JOIN calibrations c ON c.id = dc.calibration_id
             WHERE d.campaign_id = ? AND d.task_id = ? ORDER BY dc.draft_id",
        )
        .bind(campaign)
        .bind(task)
        .fetch_all(&self.pool)
        .await?)
    }
}
