//! Who may reach the server: binding to anything but loopback needs an
//! auth token file (issue 10), and the token a reviewer types is compared
//! in constant time. Pure functions, tested without a socket.

use std::net::SocketAddr;

/// Whether the server may listen on `addr`: loopback always; any other
/// address only when reviewers must sign in with a token.
pub fn check_bind(addr: &SocketAddr, has_token: bool) -> Result<(), String> {
    if addr.ip().is_loopback() || has_token {
        Ok(())
    } else {
        Err(format!(
            "refusing to serve the review queue on {addr}: it is not a loopback address, so anyone who can reach it could decide items; pass --auth-token-file FILE (reviewers then sign in with their name and that token), or bind to 127.0.0.1"
        ))
    }
}

/// The same rule for another service (`what` it serves), whose clients
/// send the token as a bearer token.
pub fn check_bind_for(addr: &SocketAddr, has_token: bool, what: &str) -> Result<(), String> {
    if addr.ip().is_loopback() || has_token {
        Ok(())
    } else {
        Err(format!(
            "refusing to serve {what} on {addr}: it is not a loopback address, so anyone who can reach it could use it; pass --auth-token-file FILE (clients then send `Authorization: Bearer TOKEN`), or bind to 127.0.0.1"
        ))
    }
}

/// The token in a token file: its first line, trimmed. Refused when empty
/// or shorter than 16 characters (a guessable token protects nothing).
pub fn parse_token(text: &str) -> Result<String, String> {
    let token = text.lines().next().unwrap_or("").trim();
    if token.chars().count() < 16 {
        return Err("the auth token file must hold a token of at least 16 characters on its first line (for example the output of `openssl rand -hex 24`)".into());
    }
    Ok(token.to_owned())
}

/// `a == b` without an early exit on the first differing byte.
pub fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_is_open_without_a_token() {
        let ok = |a: &str, t| check_bind(&a.parse().unwrap(), t);
        assert!(ok("127.0.0.1:8421", false).is_ok());
        assert!(ok("[::1]:0", false).is_ok());
        let err = ok("0.0.0.0:8421", false).unwrap_err();
        assert!(
            err.contains("--auth-token-file") && err.contains("0.0.0.0"),
            "{err}"
        );
        assert!(ok("192.168.1.4:80", false).is_err());
        assert!(ok("0.0.0.0:8421", true).is_ok());
    }

    #[test]
    fn tokens_are_long_enough_and_compared_whole() {
        assert_eq!(
            parse_token("  0123456789abcdef0123\nrest").unwrap(),
            "0123456789abcdef0123"
        );
        assert!(parse_token("short\n").is_err());
        assert!(parse_token("").is_err());
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "abcd"));
    }
}
