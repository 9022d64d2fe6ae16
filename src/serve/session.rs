//! Browser sessions, CSRF tokens and the sign-in rate limit.
//!
//! Every browser gets a random session id in an HttpOnly, SameSite=Strict
//! cookie, and every form carries a CSRF token derived from that id and a
//! secret made at start-up, so a page on another site cannot post a
//! decision. Nothing is stored for a visitor who has not signed in: the
//! token is recomputed from the cookie, so no number of anonymous requests
//! can fill the server's memory or push a signed-in reviewer out. Only
//! sign-ins (which need the token, and are rate limited per client) are
//! kept; each expires a fixed time after it was made, and when the map is
//! full the oldest one goes, never all.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::bind::same_secret;

/// The cookie's name.
pub const COOKIE: &str = "bf_session";

/// Signed-in sessions kept at most; beyond that the oldest is dropped.
pub const MAX_SESSIONS: usize = 10_000;

/// How long a sign-in lasts unless `--session-ttl` says otherwise.
pub const DEFAULT_TTL: Duration = Duration::from_secs(12 * 3600);

/// Sign-in attempts a client may make at once; one more is allowed every
/// [`ATTEMPT_EVERY`] after that.
pub const ATTEMPTS: u32 = 10;
pub const ATTEMPT_EVERY: Duration = Duration::from_secs(30);

/// Clients whose attempts are remembered at most (the least recent goes).
const MAX_CLIENTS: usize = 10_000;

struct SignedIn {
    name: String,
    since: Instant,
}

/// A client's sign-in allowance (a token bucket).
struct Allowance {
    left: f64,
    at: Instant,
}

/// The server's sessions.
pub struct Sessions {
    secret: [u8; 32],
    ttl: Duration,
    max: usize,
    /// Session id to the reviewer signed in with it.
    map: Mutex<HashMap<String, SignedIn>>,
    attempts: Mutex<HashMap<IpAddr, Allowance>>,
}

fn random_hex() -> String {
    let mut bytes = [0u8; 32];
    // The OS random source cannot fail on Linux once booted; if it did,
    // a server without unguessable ids must not run.
    getrandom::fill(&mut bytes).expect("the OS random number source");
    hex(&bytes)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The `bf_session` value in a Cookie header, if it looks like one of ours.
pub fn cookie_value(header: &str) -> Option<&str> {
    header
        .split(';')
        .filter_map(|part| part.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v)
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Default for Sessions {
    fn default() -> Self {
        Self::new(DEFAULT_TTL)
    }
}

impl Sessions {
    /// Sessions whose sign-ins last `ttl`.
    pub fn new(ttl: Duration) -> Self {
        Self::with_capacity(ttl, MAX_SESSIONS)
    }

    /// As [`Sessions::new`], keeping at most `max` sign-ins.
    pub fn with_capacity(ttl: Duration, max: usize) -> Self {
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).expect("the OS random number source");
        Sessions {
            secret,
            ttl,
            max: max.max(1),
            map: Mutex::new(HashMap::new()),
            attempts: Mutex::new(HashMap::new()),
        }
    }

    /// The session for a cookie value: `(id, reviewer, new)`. A well-formed
    /// id is kept (signed in while its sign-in lasts, anonymous otherwise);
    /// a missing one gets a fresh id, stored nowhere (the caller sets the
    /// cookie).
    pub fn resolve(&self, cookie: Option<&str>) -> (String, Option<String>, bool) {
        let Some(id) = cookie else {
            return (random_hex(), None, true);
        };
        let mut map = self.lock_map();
        let name = match map.get(id) {
            Some(s) if s.since.elapsed() < self.ttl => Some(s.name.clone()),
            Some(_) => {
                map.remove(id);
                None
            }
            None => None,
        };
        (id.to_owned(), name, false)
    }

    fn lock_map(&self) -> std::sync::MutexGuard<'_, HashMap<String, SignedIn>> {
        lock(&self.map)
    }

    /// Sign a reviewer in on session `old` (a fresh id replaces it, so a
    /// session id seen before sign-in is worthless after).
    pub fn sign_in(&self, old: &str, name: &str) -> String {
        let mut map = self.lock_map();
        map.remove(old);
        if map.len() >= self.max {
            let ttl = self.ttl;
            map.retain(|_, s| s.since.elapsed() < ttl);
        }
        if map.len() >= self.max
            && let Some(oldest) = map
                .iter()
                .min_by_key(|(_, s)| s.since)
                .map(|(id, _)| id.clone())
        {
            map.remove(&oldest);
        }
        let id = random_hex();
        map.insert(
            id.clone(),
            SignedIn {
                name: name.to_owned(),
                since: Instant::now(),
            },
        );
        id
    }

    pub fn sign_out(&self, id: &str) {
        self.lock_map().remove(id);
    }

    /// Signed-in sessions held now (expired ones included until touched).
    pub fn len(&self) -> usize {
        self.lock_map().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Take one sign-in attempt from `client`'s allowance, or say how many
    /// seconds until the next one is allowed.
    pub fn attempt(&self, client: IpAddr) -> Result<(), u64> {
        let mut clients = lock(&self.attempts);
        let now = Instant::now();
        let refill = |a: &Allowance| {
            let gained = now.duration_since(a.at).as_secs_f64() / ATTEMPT_EVERY.as_secs_f64();
            (a.left + gained).min(ATTEMPTS as f64)
        };
        if !clients.contains_key(&client) && clients.len() >= MAX_CLIENTS {
            // Forget clients back to a full allowance first, then the least
            // recent: memory stays bounded whoever knocks.
            clients.retain(|_, a| refill(a) < ATTEMPTS as f64);
            if clients.len() >= MAX_CLIENTS
                && let Some(stale) = clients.iter().min_by_key(|(_, a)| a.at).map(|(k, _)| *k)
            {
                clients.remove(&stale);
            }
        }
        let a = clients.entry(client).or_insert(Allowance {
            left: ATTEMPTS as f64,
            at: now,
        });
        a.left = refill(a);
        a.at = now;
        if a.left >= 1.0 {
            a.left -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - a.left) * ATTEMPT_EVERY.as_secs_f64()).ceil() as u64)
        }
    }

    /// The CSRF token of session `id`.
    pub fn csrf(&self, id: &str) -> String {
        let mut h = Sha256::new();
        h.update(self.secret);
        h.update(b"csrf:");
        h.update(id.as_bytes());
        hex(&h.finalize())
    }

    /// Whether `token` is session `id`'s CSRF token.
    pub fn csrf_ok(&self, id: &str, token: &str) -> bool {
        same_secret(&self.csrf(id), token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_and_tokens() {
        let s = Sessions::default();
        let (id, name, new) = s.resolve(None);
        assert!(new && name.is_none() && id.len() == 64);
        assert!(s.is_empty(), "nothing stored for an anonymous visitor");
        let header = format!("theme=dark; {COOKIE}={id}");
        assert_eq!(cookie_value(&header), Some(id.as_str()));
        assert_eq!(cookie_value("bf_session=<script>"), None);
        let (again, _, new) = s.resolve(cookie_value(&header));
        assert!(!new && again == id);
        let token = s.csrf(&id);
        assert!(s.csrf_ok(&id, &token));
        assert!(!s.csrf_ok(&id, ""));
        let other = Sessions::default();
        assert!(!other.csrf_ok(&id, &token), "another server's secret");
        let signed = s.sign_in(&id, "ada");
        assert_ne!(signed, id);
        assert_eq!(s.resolve(Some(&signed)).1.as_deref(), Some("ada"));
        assert_eq!(s.resolve(Some(&id)).1, None, "the old id is anonymous");
        s.sign_out(&signed);
        assert_eq!(s.resolve(Some(&signed)).1, None);
        assert!(s.is_empty());
    }

    #[test]
    fn a_full_map_drops_the_oldest_sign_in_only() {
        let s = Sessions::with_capacity(DEFAULT_TTL, 3);
        let ids: Vec<_> = (0..4)
            .map(|i| s.sign_in(&format!("{i:064}"), &format!("r{i}")))
            .collect();
        assert_eq!(s.len(), 3);
        assert_eq!(s.resolve(Some(&ids[0])).1, None, "the oldest went");
        for (i, id) in ids.iter().enumerate().skip(1) {
            assert_eq!(s.resolve(Some(id)).1, Some(format!("r{i}")));
        }
    }

    #[test]
    fn sign_ins_expire() {
        let s = Sessions::new(Duration::ZERO);
        let id = s.sign_in("", "ada");
        assert_eq!(s.resolve(Some(&id)).1, None);
        assert!(s.is_empty(), "an expired sign-in is dropped when seen");
    }

    #[test]
    fn sign_in_attempts_are_rationed_per_client() {
        let s = Sessions::default();
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        for _ in 0..ATTEMPTS {
            assert!(s.attempt(a).is_ok());
        }
        let wait = s.attempt(a).unwrap_err();
        assert!((1..=ATTEMPT_EVERY.as_secs()).contains(&wait), "{wait}");
        assert!(s.attempt(b).is_ok(), "another client is not held back");
    }
}
