//! The daemon's clock, behind a trait so tests move time without sleeping
//! (the due-time logic takes "now" as an argument; the binary takes
//! `BOOTFORGE_NOW`).
//! Leases are not on this clock: they measure whether a process is alive,
//! in real time.

use jiff::{SignedDuration, Timestamp};

pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

/// The system clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// Real time, shifted so that it started at a given instant
/// (`BOOTFORGE_NOW`, for tests and rehearsals): time still passes.
pub struct ShiftedClock {
    shift: SignedDuration,
}

impl ShiftedClock {
    pub fn starting_at(start: Timestamp) -> ShiftedClock {
        ShiftedClock {
            shift: start.duration_since(Timestamp::now()),
        }
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
            .checked_add(self.shift)
            .unwrap_or(Timestamp::MAX)
    }
}

/// Parse an instant given as RFC 3339 (`2026-03-08T06:59:00Z`), for
/// `BOOTFORGE_NOW`.
pub fn parse_instant(text: &str) -> Result<Timestamp, String> {
    text.trim().parse::<Timestamp>().map_err(|e| {
        format!("{text:?} is not an RFC 3339 instant such as 2026-03-08T06:59:00Z: {e}")
    })
}
