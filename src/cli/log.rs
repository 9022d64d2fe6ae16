//! Where the library's warnings go in a one-shot command: stderr, spelled
//! as the CLI spells its own (`warning: ...`, `error: ...`), so a user sees
//! them as before and a script that read them still finds the same text.
//! `serve` and `daemon` install their own subscribers (a daemon's also
//! writes its log file), so they are left out.

use std::fmt;

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::{FormatEvent, FormatFields, Writer};
use tracing_subscriber::fmt::{FmtContext, MakeWriter};
use tracing_subscriber::registry::LookupSpan;

use super::Command;

/// Install the stderr subscriber for `command` (warnings and errors only),
/// unless it brings its own.
pub(super) fn init(command: &Command) {
    if matches!(command, Command::Serve(_) | Command::Daemon(_)) {
        return;
    }
    let _ = tracing::subscriber::set_global_default(subscriber(std::io::stderr));
}

fn subscriber<W>(writer: W) -> impl Subscriber + Send + Sync
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(false)
        .with_max_level(Level::WARN)
        .event_format(Plain)
        .finish()
}

/// `warning: message key=value`, one line, no time or target.
struct Plain;

impl<S, N> FormatEvent<S, N> for Plain
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let level = match *event.metadata().level() {
            Level::ERROR => "error",
            Level::WARN => "warning",
            Level::INFO => "info",
            Level::DEBUG => "debug",
            Level::TRACE => "trace",
        };
        write!(writer, "{level}: ")?;
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn library_warnings_read_as_the_cli_writes_them() {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = super::subscriber(move || writer.clone());
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!("not shown");
            tracing::warn!("releasing the lease of campaign {}: {}", 3, "gone");
            tracing::error!(campaign = 3, "stopped");
        });
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        assert_eq!(
            text,
            "warning: releasing the lease of campaign 3: gone\nerror: stopped campaign=3\n"
        );
    }
}
