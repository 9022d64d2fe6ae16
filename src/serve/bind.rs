//! Who may reach the server, and by what name. Binding to anything but
//! loopback needs an auth token file and a TLS proxy in front (the server
//! speaks plain HTTP, so the token and the cookie must not cross a network
//! in clear); the token must be strong and is compared in constant time.
//! Every request must name this server in its `Host` (the bound address,
//! `localhost`, or a name given with `--allowed-host`): a page on another
//! domain that rebinds its name to this address is refused, since its
//! requests carry its own name. Every POST from a browser must come from a
//! page of this server (`Origin`, else `Referer`). Pure functions, tested
//! without a socket.

use std::net::{IpAddr, SocketAddr};

/// Whether the server may listen on `addr`: loopback always; any other
/// address only when reviewers must sign in with a token and a TLS proxy
/// is in front.
pub fn check_bind(addr: &SocketAddr, has_token: bool, behind_tls: bool) -> Result<(), String> {
    if addr.ip().is_loopback() {
        return Ok(());
    }
    if !has_token {
        return Err(format!(
            "refusing to serve the review queue on {addr}: it is not a loopback address, so anyone who can reach it could decide items; pass --auth-token-file FILE (reviewers then sign in with their name and that token) and put a TLS proxy in front (--behind-tls-proxy), or bind to 127.0.0.1"
        ));
    }
    if !behind_tls {
        return Err(format!(
            "refusing to serve the review queue on {addr} in plain HTTP: the sign-in token and the session cookie would cross the network in clear; put a TLS-terminating proxy in front and pass --behind-tls-proxy (better still, bind to 127.0.0.1 and let a proxy on this machine forward to it; see \"Deploying beyond this machine\" in docs/review-page.md)"
        ));
    }
    Ok(())
}

/// The rule for the reward service (`what` it serves), whose clients send
/// the token as a bearer token. No TLS proxy is demanded: trainers reach it
/// on their own cluster network; docs/reward.md says to put TLS in front
/// when that network is not trusted.
pub fn check_bind_for(addr: &SocketAddr, has_token: bool, what: &str) -> Result<(), String> {
    if addr.ip().is_loopback() || has_token {
        Ok(())
    } else {
        Err(format!(
            "refusing to serve {what} on {addr}: it is not a loopback address, so anyone who can reach it could use it; pass --auth-token-file FILE (clients then send `Authorization: Bearer TOKEN`), or bind to 127.0.0.1"
        ))
    }
}

/// Bits of guessing a token needs at least, by [`token_bits`].
pub const MIN_TOKEN_BITS: f64 = 60.0;

/// A cautious estimate of a token's strength: its length times the
/// entropy of its own character frequencies. A token of one repeated
/// character scores 0, `abababab…` one bit a character; 24 random bytes in
/// hex (48 characters) score about 180.
pub fn token_bits(token: &str) -> f64 {
    let chars: Vec<char> = token.chars().collect();
    let n = chars.len() as f64;
    let mut counts = std::collections::HashMap::new();
    for c in &chars {
        *counts.entry(*c).or_insert(0usize) += 1;
    }
    let per_char: f64 = counts
        .values()
        .map(|&k| {
            let p = k as f64 / n;
            -p * p.log2()
        })
        .sum();
    per_char * n
}

/// The token in a token file: its first line, trimmed. Refused when shorter
/// than 16 characters or too regular to resist guessing.
pub fn parse_token(text: &str) -> Result<String, String> {
    const HOW: &str = "make one with `openssl rand -hex 24` (or `head -c 24 /dev/urandom | base64`) and put it on the file's first line";
    let token = text.lines().next().unwrap_or("").trim();
    if token.chars().count() < 16 {
        return Err(format!(
            "the auth token file must hold a token of at least 16 characters on its first line: {HOW}"
        ));
    }
    let bits = token_bits(token);
    if bits < MIN_TOKEN_BITS {
        return Err(format!(
            "the auth token is too easy to guess (about {bits:.0} bits; repeated or few distinct characters; at least {MIN_TOKEN_BITS:.0} needed): {HOW}"
        ));
    }
    Ok(token.to_owned())
}

/// The token of `--auth-token-file`, when one is given: the file read and
/// its first line checked by [`parse_token`]. The error names the file.
pub fn read_token_file(path: Option<&std::path::Path>) -> Result<Option<String>, String> {
    let Some(path) = path else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the auth token file {}: {e}", path.display()))?;
    parse_token(&text)
        .map(Some)
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// `a == b` without an early exit on the first differing byte.
pub fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The names this server answers to.
#[derive(Debug, Clone)]
pub struct AllowedHosts {
    /// The address bound (unspecified: any address of this machine).
    pub bound: IpAddr,
    /// Names given with `--allowed-host`, lowercase, without a final dot.
    pub names: Vec<String>,
}

/// The host name of a `Host` value or an origin's authority (port and IPv6
/// brackets removed, lowercase, a final dot dropped). `None` when it is
/// not a plausible authority.
fn host_part(authority: &str) -> Option<String> {
    let a = authority.trim();
    if a.is_empty() || a.contains(['/', '@', ' ', '\\']) {
        return None;
    }
    let host = if let Some(rest) = a.strip_prefix('[') {
        let (inside, after) = rest.split_once(']')?;
        if !(after.is_empty() || after.strip_prefix(':').is_some_and(is_port)) {
            return None;
        }
        inside
    } else {
        match a.rsplit_once(':') {
            Some((h, port)) if is_port(port) => h,
            Some(_) => return None,
            None => a,
        }
    };
    let host = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
    (!host.is_empty()).then_some(host)
}

fn is_port(p: &str) -> bool {
    !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit())
}

impl AllowedHosts {
    /// Whether a request's `Host` names this server: an address literal
    /// that is the bound address (any, when bound to all addresses; an
    /// address cannot be rebound to another site), `localhost`, or an
    /// allowed name.
    pub fn allows(&self, host: &str) -> bool {
        let Some(name) = host_part(host) else {
            return false;
        };
        if let Ok(ip) = name.parse::<IpAddr>() {
            return self.bound.is_unspecified() || ip == self.bound;
        }
        name == "localhost" || self.names.contains(&name)
    }

    /// A name for `--allowed-host`, checked and normalised.
    pub fn parse_name(name: &str) -> Result<String, String> {
        match host_part(name) {
            Some(h)
                if h.len() <= 253
                    && !name.contains(':')
                    && h.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.') =>
            {
                Ok(h)
            }
            _ => Err(format!(
                "--allowed-host {name:?} is not a host name such as review.example.com (no scheme, port or path)"
            )),
        }
    }
}

/// Whether a POST's `Origin` (else `Referer`) is a page of `host`, the
/// request's own `Host`. A request with neither did not come from a
/// browser (browsers send `Origin` on every POST), which could not be
/// tricked into it; its CSRF token is still checked. `Origin: null` (a
/// sandboxed frame, a `data:` page, a redirect from elsewhere) is refused.
pub fn same_origin(origin: Option<&str>, referer: Option<&str>, host: &str) -> bool {
    let source = match (origin, referer) {
        (Some(o), _) => o.trim(),
        (None, Some(r)) => r.trim(),
        (None, None) => return true,
    };
    let Some((scheme, rest)) = source.split_once("://") else {
        return false;
    };
    if !matches!(scheme.to_ascii_lowercase().as_str(), "http" | "https") {
        return false;
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    !authority.is_empty() && authority.eq_ignore_ascii_case(host.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_is_open_without_a_token_and_a_tls_proxy() {
        let ok = |a: &str, t, tls| check_bind(&a.parse().unwrap(), t, tls);
        assert!(ok("127.0.0.1:8421", false, false).is_ok());
        assert!(ok("[::1]:0", false, false).is_ok());
        let err = ok("0.0.0.0:8421", false, false).unwrap_err();
        assert!(
            err.contains("--auth-token-file") && err.contains("0.0.0.0"),
            "{err}"
        );
        assert!(ok("192.168.1.4:80", false, true).is_err());
        let err = ok("0.0.0.0:8421", true, false).unwrap_err();
        assert!(err.contains("--behind-tls-proxy"), "{err}");
        assert!(ok("0.0.0.0:8421", true, true).is_ok());
    }

    #[test]
    fn tokens_are_long_strong_and_compared_whole() {
        assert_eq!(
            parse_token("  0123456789abcdef0123\nrest").unwrap(),
            "0123456789abcdef0123"
        );
        assert!(parse_token("short\n").is_err());
        assert!(parse_token("").is_err());
        for weak in [
            "aaaaaaaaaaaaaaaa",
            "abababababababababab",
            "passwordpassword",
        ] {
            let err = parse_token(weak).unwrap_err();
            assert!(err.contains("openssl rand"), "{weak}: {err}");
        }
        assert!(parse_token("3f9a1c07be52d8e46a0b9c1d7e2f3a4b5c6d7e8f90a1b2c3").is_ok());
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "abcd"));
    }

    #[test]
    fn hosts_name_this_server_or_are_refused() {
        let loopback = AllowedHosts {
            bound: "127.0.0.1".parse().unwrap(),
            names: vec!["review.example.com".into()],
        };
        for ok in [
            "127.0.0.1:8421",
            "127.0.0.1",
            "localhost:8421",
            "LOCALHOST.",
            "review.example.com",
            "Review.Example.Com:443",
        ] {
            assert!(loopback.allows(ok), "{ok}");
        }
        for bad in [
            "rebind.attacker.example:8421",
            "127.0.0.2:8421",
            "localhost.attacker.example",
            "evil.localhost",
            "",
            "127.0.0.1:8421@evil",
            "[::1]:8421",
            "localhost:x",
        ] {
            assert!(!loopback.allows(bad), "{bad}");
        }
        let any = AllowedHosts {
            bound: "0.0.0.0".parse().unwrap(),
            names: vec![],
        };
        assert!(any.allows("192.168.1.4:8421") && any.allows("[::1]:1"));
        assert!(!any.allows("rebind.attacker.example"));
        assert_eq!(
            AllowedHosts::parse_name("Review.Example.com.").unwrap(),
            "review.example.com"
        );
        assert!(AllowedHosts::parse_name("https://x.example").is_err());
        assert!(AllowedHosts::parse_name("x.example:443").is_err());
    }

    #[test]
    fn posts_come_from_this_server_s_pages() {
        let host = "127.0.0.1:8421";
        assert!(same_origin(Some("http://127.0.0.1:8421"), None, host));
        assert!(same_origin(
            None,
            Some("http://127.0.0.1:8421/items/4"),
            host
        ));
        assert!(same_origin(None, None, host), "not a browser");
        assert!(!same_origin(
            Some("http://rebind.attacker.example:8421"),
            None,
            host
        ));
        assert!(!same_origin(Some("null"), None, host));
        assert!(!same_origin(
            Some("http://127.0.0.1:8421.attacker.example"),
            None,
            host
        ));
        assert!(!same_origin(
            None,
            Some("http://attacker.example/?http://127.0.0.1:8421"),
            host
        ));
        assert!(!same_origin(Some("ftp://127.0.0.1:8421"), None, host));
    }
}
