//! `bootforge serve`: parses flags, checks the bind address against the
//! token rule (exit 2 when refused), opens the store and the sandbox, and
//! runs [`crate::serve`]. The bound address is printed on stderr
//! (`listening on http://ADDR`), so `--bind 127.0.0.1:0` can be used by
//! scripts and tests.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::Args;

use super::campaign::{DbArgs, open_store};
use super::{exit, open_sandbox, report_error, runtime, usage};
use crate::review::rules;
use crate::serve::{self, ServeOptions, bind};

#[derive(Args, Debug)]
pub struct ServeCommand {
    /// Address to listen on (port 0 picks a free port; the address bound is
    /// printed on stderr). Anything but loopback needs --auth-token-file.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8421")]
    bind: String,
    /// A file whose first line is the shared token: reviewers sign in with
    /// their name and this token, and the name is recorded with their
    /// decisions. Required to bind to a non-loopback address.
    #[arg(long, value_name = "FILE")]
    auth_token_file: Option<PathBuf>,
}

pub fn run(cmd: ServeCommand, db: &DbArgs, cache_dir: &Path) -> u8 {
    let addr: SocketAddr = match cmd.bind.parse() {
        Ok(a) => a,
        Err(_) => {
            return usage(format!(
                "--bind {:?} is not an address with a port, like 127.0.0.1:8421 or [::1]:8421",
                cmd.bind
            ));
        }
    };
    let token = match &cmd.auth_token_file {
        None => None,
        Some(path) => match std::fs::read_to_string(path) {
            Ok(text) => match bind::parse_token(&text) {
                Ok(t) => Some(t),
                Err(e) => return usage(format!("{}: {e}", path.display())),
            },
            Err(e) => {
                return usage(format!(
                    "cannot read the auth token file {}: {e}",
                    path.display()
                ));
            }
        },
    };
    if let Err(message) = bind::check_bind(&addr, token.is_some()) {
        return usage(message);
    }
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let default_reviewer = rules::reviewer(
        None,
        std::env::var("BOOTFORGE_REVIEWER").ok().as_deref(),
        std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .ok()
            .as_deref(),
    );
    rt.block_on(async move {
        let store = match open_store(db).await {
            Ok(s) => s,
            Err(code) => return code,
        };
        // After the store, so that a wrong --db is said at once; on this
        // thread, outside the runtime's workers (a first compile blocks).
        let sandbox = match open_sandbox(cache_dir, None) {
            Ok(s) => s,
            Err(code) => return code,
        };
        let options = ServeOptions {
            bind: addr,
            token,
            default_reviewer,
        };
        let result = serve::run(store, sandbox, options, |bound| {
            eprintln!("bootforge serve: listening on http://{bound}");
        })
        .await;
        match result {
            Ok(()) => exit::OK,
            Err(err) => {
                report_error(&err);
                exit::FAILED
            }
        }
    })
}
