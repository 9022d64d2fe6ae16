//! Browser sessions and CSRF tokens. Every browser gets a random session id
//! in an HttpOnly, SameSite=Strict cookie; the server keeps the map from
//! session id to the signed-in reviewer (with `--auth-token-file`). Every
//! form carries a CSRF token derived from the session id and a secret made
//! at start-up, so a page on another site cannot post a decision.

use std::collections::HashMap;
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use super::bind::same_secret;

/// The cookie's name.
pub const COOKIE: &str = "bf_session";

/// Sessions kept at most; beyond that the map is cleared (everyone signs in
/// again) rather than grow without bound.
const MAX_SESSIONS: usize = 10_000;

/// The server's sessions.
pub struct Sessions {
    secret: [u8; 32],
    /// Session id to the reviewer signed in with it, if any.
    map: Mutex<HashMap<String, Option<String>>>,
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

impl Default for Sessions {
    fn default() -> Self {
        Self::new()
    }
}

impl Sessions {
    pub fn new() -> Self {
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).expect("the OS random number source");
        Sessions {
            secret,
            map: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Option<String>>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The session for a cookie value: `(id, reviewer, new)`. An unknown or
    /// missing id gets a fresh session (the caller sets the cookie).
    pub fn resolve(&self, cookie: Option<&str>) -> (String, Option<String>, bool) {
        let mut map = self.lock();
        if let Some(id) = cookie
            && let Some(name) = map.get(id)
        {
            return (id.to_owned(), name.clone(), false);
        }
        if map.len() >= MAX_SESSIONS {
            map.clear();
        }
        let id = random_hex();
        map.insert(id.clone(), None);
        (id, None, true)
    }

    /// Sign a reviewer in on session `id` (a fresh id replaces it, so a
    /// session id seen before sign-in is worthless after).
    pub fn sign_in(&self, old: &str, name: &str) -> String {
        let mut map = self.lock();
        map.remove(old);
        let id = random_hex();
        map.insert(id.clone(), Some(name.to_owned()));
        id
    }

    pub fn sign_out(&self, id: &str) {
        self.lock().remove(id);
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
        let s = Sessions::new();
        let (id, name, new) = s.resolve(None);
        assert!(new && name.is_none() && id.len() == 64);
        let header = format!("theme=dark; {COOKIE}={id}");
        assert_eq!(cookie_value(&header), Some(id.as_str()));
        assert_eq!(cookie_value("bf_session=<script>"), None);
        let (again, _, new) = s.resolve(cookie_value(&header));
        assert!(!new && again == id);
        let token = s.csrf(&id);
        assert!(s.csrf_ok(&id, &token));
        assert!(!s.csrf_ok(&id, ""));
        let other = Sessions::new();
        assert!(!other.csrf_ok(&id, &token), "another server's secret");
        let signed = s.sign_in(&id, "ada");
        assert_ne!(signed, id);
        assert_eq!(s.resolve(Some(&signed)).1.as_deref(), Some("ada"));
        assert!(s.resolve(Some(&id)).2, "the old id is gone");
        s.sign_out(&signed);
        assert!(s.resolve(Some(&signed)).2);
    }
}
