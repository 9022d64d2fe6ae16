//! Ownership of a running campaign: one process at a time works on
//! a campaign, holding its lease in the store (host, pid, start), renewing it
//! while it runs, and losing it to another process only once it has expired
//! (its holder died). Also the interrupt a daemon uses to stop its campaigns,
//! and how a campaign's state reads when its holder is gone.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Result;
use serde::Serialize;
use tokio::sync::Notify;

use super::status::CampaignStatus;
use crate::store::{CampaignRow, LeaseHolder, Store};

/// How long a lease lasts without renewal unless told otherwise.
pub const DEFAULT_TTL: Duration = Duration::from_secs(60);

/// How a run is owned and stopped.
#[derive(Clone)]
pub struct RunControl {
    /// A lease not renewed for this long is free for another process.
    pub lease_ttl: Duration,
    /// Set by a daemon shutting down: no new call or step starts.
    pub interrupt: Interrupt,
}

impl Default for RunControl {
    fn default() -> Self {
        RunControl {
            lease_ttl: DEFAULT_TTL,
            interrupt: Interrupt::default(),
        }
    }
}

/// How the stop reason of an interrupted campaign starts: such a campaign
/// is not over (a daemon continues it), unlike one stopped for its budget or
/// its endpoint, which waits for a person.
const INTERRUPTED: &str = "interrupted: ";

/// The stop reason of a campaign interrupted because of `why`.
pub fn interrupted_reason(why: &str) -> String {
    format!("{INTERRUPTED}{why}")
}

/// Pure: whether a stop reason says the campaign was interrupted.
pub fn was_interrupted(reason: Option<&str>) -> bool {
    reason.is_some_and(|r| r.starts_with(INTERRUPTED))
}

/// A one-way stop signal with its reason, shared by clones.
#[derive(Clone, Default)]
pub struct Interrupt(Arc<(Mutex<Option<String>>, Notify)>);

impl Interrupt {
    pub fn trigger(&self, reason: impl Into<String>) {
        let mut slot = self.0.0.lock().unwrap_or_else(|p| p.into_inner());
        slot.get_or_insert_with(|| reason.into());
        self.0.1.notify_waiters();
    }

    pub fn reason(&self) -> Option<String> {
        self.0.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Returns once triggered.
    pub async fn wait(&self) -> String {
        loop {
            let notified = self.0.1.notified();
            if let Some(reason) = self.reason() {
                return reason;
            }
            notified.await;
        }
    }
}

/// A campaign another live process works on.
#[derive(Debug, thiserror::Error)]
#[error(
    "campaign {campaign} is being worked on by another process: {holder}; wait for it to finish (`bootforge campaign status {campaign}`), or, if that process is gone, retry once its lease expires at {expires}"
)]
pub struct LeaseHeld {
    pub campaign: i64,
    pub holder: String,
    pub expires: String,
}

/// Milliseconds since the Unix epoch, from the system clock. Leases use real
/// time (not a schedule's injected clock): they measure whether a process is
/// still alive.
pub fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

fn rfc3339(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.round(jiff::Unit::Second).unwrap_or(t).to_string())
        .unwrap_or_else(|_| ms.to_string())
}

/// This machine's name, for lease holders and daemons.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown-host".into())
}

/// A new holder identity for this process, expiring `ttl` from now.
pub fn new_holder(ttl: Duration) -> LeaseHolder {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let now = now_ms();
    let host = hostname();
    let pid = std::process::id();
    LeaseHolder {
        token: format!(
            "{host}:{pid}:{now}:{}",
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ),
        host,
        pid: i64::from(pid),
        started_at: rfc3339(now),
        expires_ms: now + ttl.as_millis() as i64,
    }
}

/// Describe a holder for people.
pub fn describe(holder: &LeaseHolder) -> String {
    format!(
        "host {} pid {} since {}",
        holder.host, holder.pid, holder.started_at
    )
}

/// A lease this process holds.
#[derive(Clone)]
pub struct Lease {
    pub store: Store,
    pub campaign: i64,
    pub holder: LeaseHolder,
    pub ttl: Duration,
}

impl Lease {
    /// Take the lease of `campaign`, or fail with [`LeaseHeld`]. A lease is
    /// free once expired, or at once when its holder ran on this host and
    /// its pid is gone (killed, crashed): `kill -9` then `resume` needs no
    /// wait. Another host's holder is trusted until its lease expires.
    pub async fn acquire(store: &Store, campaign: i64, ttl: Duration) -> Result<Lease> {
        let holder = new_holder(ttl);
        let lease = |holder| Lease {
            store: store.clone(),
            campaign,
            holder,
            ttl,
        };
        let Some(current) = store.acquire_lease(campaign, &holder, now_ms()).await? else {
            return Ok(lease(holder));
        };
        let gone = holder_state(Some(&current), now_ms(), &hostname(), pid_alive) == Holder::Gone;
        if gone
            && store
                .replace_lease(campaign, &current.token, &holder)
                .await?
        {
            return Ok(lease(holder));
        }
        let current = match gone {
            // Lost the race for a dead holder's lease: name the winner.
            true => store.lease(campaign).await?.unwrap_or(current),
            false => current,
        };
        Err(LeaseHeld {
            campaign,
            holder: describe(&current),
            expires: rfc3339(current.expires_ms),
        }
        .into())
    }

    /// Renew now; false when the lease was lost to another process.
    pub async fn renew(&self) -> Result<bool> {
        self.store
            .renew_lease(
                self.campaign,
                &self.holder.token,
                now_ms() + self.ttl.as_millis() as i64,
            )
            .await
    }

    /// How often to renew: a third of the lifetime, so two renewals can fail
    /// (a busy database) before the lease lapses.
    pub fn renew_every(&self) -> Duration {
        (self.ttl / 3).max(Duration::from_millis(100))
    }

    pub async fn release(&self) -> Result<()> {
        self.store
            .release_lease(self.campaign, &self.holder.token)
            .await
    }
}

/// Whether a campaign's lease shows a process working on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Holder {
    /// No lease.
    None,
    /// A holder that renews it.
    Live,
    /// Expired, or its process is known to be gone (same host, no such pid).
    Gone,
}

/// Pure: the state of a lease at `now_ms`; `alive` says whether a pid on
/// this host runs (None when it cannot tell).
pub fn holder_state(
    lease: Option<&LeaseHolder>,
    now_ms: i64,
    this_host: &str,
    alive: impl Fn(i64) -> Option<bool>,
) -> Holder {
    match lease {
        None => Holder::None,
        Some(l) if l.expires_ms <= now_ms => Holder::Gone,
        Some(l) if l.host == this_host && alive(l.pid) == Some(false) => Holder::Gone,
        Some(_) => Holder::Live,
    }
}

/// Pure: the status to show for a stored campaign. A campaign stored as
/// `running` that nobody holds was interrupted (killed, or its machine
/// went down): shown as `interrupted`, with the command that continues it.
pub fn shown_status(stored: CampaignStatus, holder: Holder, id: i64) -> (String, Option<String>) {
    match (stored, holder) {
        (CampaignStatus::Running, Holder::Live) => (stored.to_string(), None),
        (CampaignStatus::Running, _) => (
            "interrupted".into(),
            Some(format!("`bootforge campaign resume {id}` continues it")),
        ),
        (CampaignStatus::Stopped, _) => (
            stored.to_string(),
            Some(format!("`bootforge campaign resume {id}` continues it")),
        ),
        (other, _) => (other.to_string(), None),
    }
}

/// Whether a process of this host runs (Linux: /proc); None elsewhere.
pub fn pid_alive(pid: i64) -> Option<bool> {
    let proc = std::path::Path::new("/proc");
    if !proc.join("self").exists() {
        return None;
    }
    Some(proc.join(pid.to_string()).exists())
}

/// Whether a lease shows a live holder now.
pub fn is_live(lease: Option<&LeaseHolder>) -> bool {
    holder_state(lease, now_ms(), &hostname(), pid_alive) == Holder::Live
}

/// The status and hint to show for a stored campaign, reading its lease.
pub async fn status_of(store: &Store, row: &CampaignRow) -> Result<(String, Option<String>)> {
    let lease = store.lease(row.id).await?;
    let state = holder_state(lease.as_ref(), now_ms(), &hostname(), pid_alive);
    Ok(shown_status(row.status, state, row.id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(host: &str, pid: i64, expires_ms: i64) -> LeaseHolder {
        LeaseHolder {
            host: host.into(),
            pid,
            started_at: String::new(),
            token: String::new(),
            expires_ms,
        }
    }

    #[test]
    fn a_running_campaign_without_a_live_holder_is_interrupted() {
        let alive = |pid| Some(pid == 7);
        let live = lease("here", 7, 1000);
        assert_eq!(holder_state(Some(&live), 500, "here", alive), Holder::Live);
        assert_eq!(holder_state(Some(&live), 1000, "here", alive), Holder::Gone);
        let dead = lease("here", 8, 1000);
        assert_eq!(holder_state(Some(&dead), 500, "here", alive), Holder::Gone);
        // Another host's pid says nothing here: trust the expiry.
        let remote = lease("there", 8, 1000);
        assert_eq!(
            holder_state(Some(&remote), 500, "here", alive),
            Holder::Live
        );
        assert_eq!(holder_state(None, 500, "here", alive), Holder::None);

        let running = CampaignStatus::Running;
        assert_eq!(shown_status(running, Holder::Live, 3).0, "running");
        let (status, hint) = shown_status(running, Holder::Gone, 3);
        assert_eq!(status, "interrupted");
        assert!(hint.unwrap().contains("campaign resume 3"));
        assert_eq!(shown_status(running, Holder::None, 3).0, "interrupted");
        assert_eq!(
            shown_status(CampaignStatus::Done, Holder::None, 3),
            ("done".into(), None)
        );
    }

    #[tokio::test]
    async fn an_interrupt_wakes_its_waiters() {
        let interrupt = Interrupt::default();
        let waiter = {
            let interrupt = interrupt.clone();
            tokio::spawn(async move { interrupt.wait().await })
        };
        interrupt.trigger("SIGTERM");
        interrupt.trigger("later");
        assert_eq!(waiter.await.unwrap(), "SIGTERM");
    }
}
