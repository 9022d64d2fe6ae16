//! `bootforge serve`: parses flags, checks the bind address against the
//! token and TLS rule (exit 2 when refused), opens the store and the
//! sandbox, logs internal errors on stderr (`tracing`), and runs
//! [`crate::serve`]. The bound address is printed on stderr
//! (`listening on http://ADDR`), so `--bind 127.0.0.1:0` can be used by
//! scripts and tests.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;

use super::campaign::{DbArgs, open_store};
use super::{CliResult, failed, open_sandbox, runtime, usage};
use crate::review::rules;
use crate::serve::{self, ServeOptions, bind};

#[derive(Args, Debug)]
pub struct ServeCommand {
    /// Address to listen on (port 0 picks a free port; the address bound is
    /// printed on stderr). Anything but loopback needs --auth-token-file
    /// and --behind-tls-proxy.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8421")]
    bind: String,
    /// A file whose first line is the shared token (16 characters or more,
    /// not guessable: `openssl rand -hex 24`): reviewers sign in with their
    /// name and this token, and the name is recorded with their decisions.
    /// Required to bind to a non-loopback address.
    #[arg(long, value_name = "FILE")]
    auth_token_file: Option<PathBuf>,
    /// A host name browsers use to reach the server (a proxy's public name),
    /// besides its address and `localhost`; repeatable. Requests naming any
    /// other host are refused (DNS rebinding).
    #[arg(long, value_name = "NAME")]
    allowed_host: Vec<String>,
    /// A TLS-terminating proxy is in front: required to bind to a
    /// non-loopback address; session cookies are marked Secure.
    #[arg(long)]
    behind_tls_proxy: bool,
    /// How long a sign-in lasts, like 30m, 12h or 7d (seconds without a
    /// unit); reviewers then sign in again.
    #[arg(long, value_name = "DURATION", default_value = "12h")]
    session_ttl: String,
}

/// A duration such as `90`, `90s`, `30m`, `12h` or `7d`.
fn parse_duration(text: &str) -> Option<Duration> {
    let t = text.trim();
    let (digits, unit) = match t.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => t.split_at(i),
        None => (t, "s"),
    };
    let n: u64 = digits.parse().ok()?;
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return None,
    };
    n.checked_mul(scale)
        .filter(|&s| s > 0)
        .map(Duration::from_secs)
}

pub fn run(cmd: ServeCommand, db: &DbArgs, cache_dir: &Path) -> CliResult {
    let addr: SocketAddr = match cmd.bind.parse() {
        Ok(a) => a,
        Err(_) => {
            return Err(usage(format!(
                "--bind {:?} is not an address with a port, like 127.0.0.1:8421 or [::1]:8421",
                cmd.bind
            )));
        }
    };
    let token = bind::read_token_file(cmd.auth_token_file.as_deref()).map_err(usage)?;
    if let Err(message) = bind::check_bind(&addr, token.is_some(), cmd.behind_tls_proxy) {
        return Err(usage(message));
    }
    let mut allowed_hosts = Vec::new();
    for name in &cmd.allowed_host {
        match bind::AllowedHosts::parse_name(name) {
            Ok(n) => allowed_hosts.push(n),
            Err(e) => return Err(usage(e)),
        }
    }
    let Some(session_ttl) = parse_duration(&cmd.session_ttl) else {
        return Err(usage(format!(
            "--session-ttl {:?} is not a duration: a positive number with s, m, h or d, like 12h",
            cmd.session_ttl
        )));
    };
    // Internal errors are logged here, not shown on the page.
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .try_init();
    let rt = runtime()?;
    let default_reviewer = match rules::reviewer(
        None,
        std::env::var("BOOTFORGE_REVIEWER").ok().as_deref(),
        crate::review::login_name().as_deref(),
    ) {
        Ok(name) => name,
        Err(why) => {
            return Err(usage(format!(
                "{why}; set BOOTFORGE_REVIEWER to a plain name"
            )));
        }
    };
    rt.block_on(async move {
        let store = open_store(db).await?;
        // After the store, so that a wrong --db is said at once; on this
        // thread, outside the runtime's workers (a first compile blocks).
        let sandbox = open_sandbox(cache_dir, None)?;
        let options = ServeOptions {
            bind: addr,
            token,
            default_reviewer,
            allowed_hosts,
            behind_tls_proxy: cmd.behind_tls_proxy,
            session_ttl,
        };
        let result = serve::run(store, sandbox, options, |bound| {
            eprintln!("bootforge serve: listening on http://{bound}");
        })
        .await;
        result.map_err(failed)
    })
}

#[cfg(test)]
mod tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("30m"), Some(Duration::from_secs(1800)));
        assert_eq!(parse_duration("12h"), Some(Duration::from_secs(43_200)));
        assert_eq!(parse_duration("7d"), Some(Duration::from_secs(604_800)));
        for bad in ["", "0", "h", "5w", "-3s", "1.5h", "99999999999999999999d"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }
}
