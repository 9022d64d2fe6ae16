//! The daemon's structured logs (`tracing`): on stderr, and appended to a
//! daily file `logs/daemon-YYYY-MM-DD.log` (UTC dates) under the data
//! directory. The level comes from `BOOTFORGE_LOG` (`info` by default;
//! `debug`, or per-module targets such as `bootforge=debug`).

use std::io::Write;
use std::path::{Path, PathBuf};

use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Opens today's file for each event (the daemon logs a few lines a minute).
#[derive(Clone)]
pub struct DailyFile {
    dir: PathBuf,
}

impl DailyFile {
    pub fn path_for_today(&self) -> PathBuf {
        let today = jiff::Timestamp::now().strftime("%Y-%m-%d").to_string();
        self.dir.join(format!("daemon-{today}.log"))
    }
}

/// A file writer, or nothing when the file cannot be opened.
pub struct MaybeFile(Option<std::fs::File>);

impl Write for MaybeFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match &mut self.0 {
            Some(f) => f.write(buf),
            None => Ok(buf.len()),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.0 {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

impl<'a> MakeWriter<'a> for DailyFile {
    type Writer = MaybeFile;

    fn make_writer(&'a self) -> MaybeFile {
        MaybeFile(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(self.path_for_today())
                .ok(),
        )
    }
}

/// Install the daemon's subscriber; returns today's log file. `filter` is
/// the `BOOTFORGE_LOG` value, read by the CLI.
pub fn init(data_dir: &Path, filter: Option<&str>) -> Result<PathBuf, String> {
    let dir = data_dir.join("logs");
    std::fs::create_dir_all(&dir)
        .map_err(|e| format!("cannot create the log directory {}: {e}", dir.display()))?;
    let mut targets: Targets = filter.unwrap_or("info").parse().map_err(|e| {
        format!(
            "BOOTFORGE_LOG={filter:?} is not a log filter such as `info` or `bootforge=debug`: {e}"
        )
    })?;
    // async-openai logs a reply it cannot parse whole, at error level: up to
    // the read cap of a hostile endpoint's bytes per attempt. bootforge
    // records each failure itself (clipped), so its logs stay out unless
    // asked for by name.
    if !filter.is_some_and(|f| f.contains("async_openai")) {
        targets = targets.with_target("async_openai", tracing_subscriber::filter::LevelFilter::OFF);
    }
    let file = DailyFile { dir };
    let today = file.path_for_today();
    let _ = tracing_subscriber::registry()
        .with(targets)
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(false),
        )
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(file)
                .with_ansi(false),
        )
        .try_init();
    Ok(today)
}
