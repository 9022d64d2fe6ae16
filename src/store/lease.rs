//! Campaign leases: which process works on a campaign now. Taking a lease is
//! one conditional upsert, so of two processes racing for one campaign
//! exactly one wins; a lease whose expiry has passed (its holder died) is
//! taken over the same way.

use anyhow::Result;
use serde::Serialize;

use super::Store;

/// The holder of a campaign's lease.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct LeaseHolder {
    pub host: String,
    pub pid: i64,
    /// When the holder took the lease (RFC 3339).
    pub started_at: String,
    /// Unique per holder: only the holder renews or releases.
    pub token: String,
    /// Unix ms after which the lease is free (renewed while the holder runs).
    pub expires_ms: i64,
}

impl Store {
    /// Take the lease of `campaign` for `me` unless another holder's lease is
    /// still valid at `now_ms`: `Ok(None)` when taken (or renewed, when `me`
    /// already held it), `Ok(Some(holder))` naming the live holder otherwise.
    pub async fn acquire_lease(
        &self,
        campaign: i64,
        me: &LeaseHolder,
        now_ms: i64,
    ) -> Result<Option<LeaseHolder>> {
        let done = sqlx::query(
            "INSERT INTO campaign_leases (campaign_id, host, pid, started_at, token, expires_ms)
             VALUES (?, ?, ?, ?, ?, ?)
             ON CONFLICT (campaign_id) DO UPDATE SET host = excluded.host, pid = excluded.pid,
                 started_at = excluded.started_at, token = excluded.token, expires_ms = excluded.expires_ms
             WHERE campaign_leases.expires_ms <= ? OR campaign_leases.token = excluded.token",
        )
        .bind(campaign)
        .bind(&me.host)
        .bind(me.pid)
        .bind(&me.started_at)
        .bind(&me.token)
        .bind(me.expires_ms)
        .bind(now_ms)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if done == 1 {
            return Ok(None);
        }
        Ok(Some(self.lease(campaign).await?.unwrap_or_else(|| {
            // Released between the two statements: report it as gone.
            LeaseHolder {
                expires_ms: 0,
                ..me.clone()
            }
        })))
    }

    /// Take over the lease `old_token` holds (its holder is known to be
    /// dead); false when it changed hands meanwhile (another process was
    /// faster).
    pub async fn replace_lease(
        &self,
        campaign: i64,
        old_token: &str,
        me: &LeaseHolder,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE campaign_leases SET host = ?, pid = ?, started_at = ?, token = ?, expires_ms = ?
             WHERE campaign_id = ? AND token = ?",
        )
        .bind(&me.host)
        .bind(me.pid)
        .bind(&me.started_at)
        .bind(&me.token)
        .bind(me.expires_ms)
        .bind(campaign)
        .bind(old_token)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(done == 1)
    }

    /// Push the expiry of a lease `token` holds; false when it no longer
    /// holds it (it expired and another process took it over).
    pub async fn renew_lease(&self, campaign: i64, token: &str, expires_ms: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE campaign_leases SET expires_ms = ? WHERE campaign_id = ? AND token = ?",
        )
        .bind(expires_ms)
        .bind(campaign)
        .bind(token)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(done == 1)
    }

    /// Give a lease up (only its holder can).
    pub async fn release_lease(&self, campaign: i64, token: &str) -> Result<()> {
        sqlx::query("DELETE FROM campaign_leases WHERE campaign_id = ? AND token = ?")
            .bind(campaign)
            .bind(token)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The lease of a campaign, live or expired, if any.
    pub async fn lease(&self, campaign: i64) -> Result<Option<LeaseHolder>> {
        Ok(sqlx::query_as(
            "SELECT host, pid, started_at, token, expires_ms FROM campaign_leases WHERE campaign_id = ?",
        )
        .bind(campaign)
        .fetch_optional(&self.pool)
        .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holder(token: &str, expires_ms: i64) -> LeaseHolder {
        LeaseHolder {
            host: "h".into(),
            pid: 1,
            started_at: "t".into(),
            token: token.into(),
            expires_ms,
        }
    }

    #[tokio::test]
    async fn a_live_lease_is_refused_and_an_expired_one_taken_over() {
        let store = Store::memory().await.unwrap();
        let id = store
            .create_campaign_with_tasks("c", "{}", None, &[])
            .await
            .unwrap();
        assert_eq!(
            store
                .acquire_lease(id, &holder("a", 1000), 0)
                .await
                .unwrap(),
            None
        );
        let refused = store
            .acquire_lease(id, &holder("b", 2000), 500)
            .await
            .unwrap();
        assert_eq!(refused.map(|h| h.token), Some("a".into()));
        // The holder renews; the other process still cannot take it.
        assert!(store.renew_lease(id, "a", 3000).await.unwrap());
        assert!(
            store
                .acquire_lease(id, &holder("b", 4000), 2500)
                .await
                .unwrap()
                .is_some()
        );
        // Expired: taken over, and the old holder can no longer renew.
        assert_eq!(
            store
                .acquire_lease(id, &holder("b", 9000), 3000)
                .await
                .unwrap(),
            None
        );
        assert!(!store.renew_lease(id, "a", 10_000).await.unwrap());
        // A holder known dead is replaced at once, by one process only.
        assert!(
            store
                .replace_lease(id, "b", &holder("c", 9000))
                .await
                .unwrap()
        );
        assert!(
            !store
                .replace_lease(id, "b", &holder("d", 9000))
                .await
                .unwrap()
        );
        assert!(store.renew_lease(id, "c", 9000).await.unwrap());
        store.release_lease(id, "c").await.unwrap();
        assert!(
            store
                .acquire_lease(id, &holder("b", 9000), 3000)
                .await
                .unwrap()
                .is_none()
        );
        store.release_lease(id, "a").await.unwrap();
        assert_eq!(
            store.lease(id).await.unwrap().map(|h| h.token),
            Some("b".into())
        );
        store.release_lease(id, "b").await.unwrap();
        assert_eq!(store.lease(id).await.unwrap(), None);
    }
}
