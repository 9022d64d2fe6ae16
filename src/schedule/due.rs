//! When a schedule runs: cron expressions read in a time zone (croner on jiff
//! zones, Vixie cron's DST rules: a slot in a spring-forward gap runs once at
//! the first valid instant after it, a slot in a fall-back overlap runs once),
//! and whether a slot is due now, with catch-up after downtime. Pure
//! functions of the schedule and "now"; tested by moving time.

use std::str::FromStr;

use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, Zoned};
use serde::Serialize;

/// A slot later than this when the daemon sees it was missed (the daemon
/// was down): `catch_up = skip` skips it.
pub const ON_TIME: SignedDuration = SignedDuration::from_mins(5);

/// Downtime beyond which missed slots are not counted one by one.
const COUNT_BACK: SignedDuration = SignedDuration::from_hours(24 * 8);

const FIELDS: [&str; 5] = ["minute", "hour", "day of month", "month", "day of week"];

/// What to do about slots missed while no daemon ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CatchUp {
    /// Run once for all of them (the latest).
    Once,
    /// Run none; wait for the next slot.
    Skip,
}

impl CatchUp {
    pub fn as_str(self) -> &'static str {
        match self {
            CatchUp::Once => "once",
            CatchUp::Skip => "skip",
        }
    }
}

impl FromStr for CatchUp {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "once" => Ok(CatchUp::Once),
            "skip" => Ok(CatchUp::Skip),
            other => Err(format!("catch-up {other:?} is neither `once` nor `skip`")),
        }
    }
}

/// A cron expression in a time zone.
#[derive(Debug, Clone)]
pub struct Spec {
    cron: Cron,
    pub zone: TimeZone,
}

fn parser() -> CronParser {
    CronParser::builder()
        .seconds(Seconds::Disallowed)
        .year(Year::Disallowed)
        .build()
}

/// Parse a standard 5-field cron expression (ranges, lists, steps, names of
/// days and months); the error names the field that is wrong.
pub fn parse_cron(expr: &str) -> Result<Cron, String> {
    let fields: Vec<&str> = expr.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!(
            "cron expression {expr:?} has {} fields; give 5: minute hour day-of-month month day-of-week (e.g. \"0 2 * * *\" for 02:00 every day)",
            fields.len()
        ));
    }
    match parser().parse(&fields.join(" ")) {
        Ok(cron) => Ok(cron),
        Err(whole) => {
            // Name the culprit: try each field alone, the others `*`.
            for (i, field) in fields.iter().enumerate() {
                let mut probe = ["*"; 5];
                probe[i] = field;
                if let Err(err) = parser().parse(&probe.join(" ")) {
                    return Err(format!(
                        "cron expression {expr:?}: the {} field {field:?} is invalid ({err})",
                        FIELDS[i]
                    ));
                }
            }
            Err(format!("cron expression {expr:?} is invalid ({whole})"))
        }
    }
}

/// An IANA time zone name (`Europe/Berlin`, `UTC`).
pub fn parse_zone(name: &str) -> Result<TimeZone, String> {
    TimeZone::get(name).map_err(|e| {
        format!("unknown time zone {name:?}: give an IANA name such as UTC, Europe/Berlin or America/New_York ({e})")
    })
}

/// This machine's time zone name, when it has one.
pub fn system_zone_name() -> String {
    TimeZone::system()
        .iana_name()
        .map(str::to_owned)
        .unwrap_or_else(|| "UTC".into())
}

impl Spec {
    pub fn new(expr: &str, zone: &str) -> Result<Spec, String> {
        Ok(Spec {
            cron: parse_cron(expr)?,
            zone: parse_zone(zone)?,
        })
    }

    /// The first slot strictly after `t`.
    pub fn next_after(&self, t: Timestamp) -> Option<Timestamp> {
        self.cron
            .find_next_occurrence(&t.to_zoned(self.zone.clone()), false)
            .ok()
            .map(|z| z.timestamp())
    }

    /// The next `n` slots after `t`, in the schedule's zone.
    pub fn upcoming(&self, t: Timestamp, n: usize) -> Vec<Zoned> {
        let mut out = Vec::with_capacity(n);
        let mut at = t;
        while out.len() < n {
            let Some(next) = self.next_after(at) else {
                break;
            };
            out.push(next.to_zoned(self.zone.clone()));
            at = next;
        }
        out
    }
}

/// What a schedule should do now.
#[derive(Debug, Clone, PartialEq)]
pub enum Due {
    /// Nothing yet; the next slot, if the expression has one.
    NotDue { next: Option<Timestamp> },
    /// Run this slot. `missed` earlier slots since the last one were not run
    /// (downtime, caught up by this one run).
    Run { slot: Timestamp, missed: u64 },
    /// Record this slot as skipped, with the reason.
    Skip { slot: Timestamp, reason: String },
}

/// The decision for a schedule whose last recorded slot (or the time it was
/// added or resumed) is `after`, at `now`.
pub fn due(spec: &Spec, catch_up: CatchUp, after: Timestamp, now: Timestamp) -> Due {
    let Some(first) = spec.next_after(after) else {
        return Due::NotDue { next: None };
    };
    if first > now {
        return Due::NotDue { next: Some(first) };
    }
    // The latest slot not after now, and how many came before it. After a
    // very long downtime, count only the last days.
    let horizon = now.checked_sub(COUNT_BACK).unwrap_or(now);
    let (mut latest, mut missed) = (first, 0u64);
    if first < horizon
        && let Some(near) = spec.next_after(horizon)
        && near <= now
    {
        latest = near;
        missed = 1;
    }
    while let Some(next) = spec.next_after(latest).filter(|n| *n <= now) {
        latest = next;
        missed += 1;
    }
    let late = now.duration_since(latest);
    match catch_up {
        CatchUp::Skip if late > ON_TIME => Due::Skip {
            slot: latest,
            reason: format!(
                "missed by {} while no daemon ran (catch_up = skip){}",
                human(late),
                if missed > 0 {
                    format!("; {missed} earlier slot(s) missed too")
                } else {
                    String::new()
                }
            ),
        },
        _ => Due::Run {
            slot: latest,
            missed,
        },
    }
}

/// A duration for people: `3h 5m`, `42s`.
pub fn human(d: SignedDuration) -> String {
    let s = d.as_secs().max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m {}s", s / 60, s % 60),
        _ => format!("{}h {}m", s / 3600, s % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn local(spec: &Spec, t: Timestamp) -> String {
        t.to_zoned(spec.zone.clone())
            .strftime("%Y-%m-%d %H:%M %Z")
            .to_string()
    }

    /// Every slot from `from` to `to` as the daemon meets them, one tick a
    /// minute, with catch-up once: the slots it would run.
    fn runs(spec: &Spec, from: Timestamp, to: Timestamp) -> Vec<String> {
        let mut after = from;
        let mut now = from;
        let mut out = Vec::new();
        while now <= to {
            if let Due::Run { slot, missed } = due(spec, CatchUp::Once, after, now) {
                assert_eq!(missed, 0, "a tick a minute misses nothing");
                out.push(local(spec, slot));
                after = slot;
            }
            now = now.checked_add(SignedDuration::from_mins(1)).unwrap();
        }
        out
    }

    #[test]
    fn bad_expressions_name_the_field() {
        let err = parse_cron("0 25 * * *").unwrap_err();
        assert!(err.contains("hour field \"25\""), "{err}");
        let err = parse_cron("*/5 * * FOO *").unwrap_err();
        assert!(err.contains("month field"), "{err}");
        let err = parse_cron("0 2 * *").unwrap_err();
        assert!(err.contains("4 fields"), "{err}");
        let err = parse_cron("0 0 2 * * *").unwrap_err();
        assert!(err.contains("6 fields"), "{err}");
        let err = parse_cron("61 * * * *").unwrap_err();
        assert!(err.contains("minute field"), "{err}");
        // Ranges, lists, steps and names are standard.
        for ok in [
            "0 2 * * *",
            "*/15 9-17 * * MON-FRI",
            "0 0 1,15 JAN,JUL *",
            "30 4 * * sun",
        ] {
            parse_cron(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        assert!(
            parse_zone("Mars/Olympus")
                .unwrap_err()
                .contains("unknown time zone")
        );
    }

    #[test]
    fn spring_forward_slots_run_once_at_the_next_valid_minute() {
        // 2026-03-08, New York: 02:00 EST jumps to 03:00 EDT.
        let ny = Spec::new("30 2 * * *", "America/New_York").unwrap();
        let ran = runs(&ny, at("2026-03-07T00:00:00Z"), at("2026-03-10T00:00:00Z"));
        assert_eq!(
            ran,
            [
                "2026-03-07 02:30 EST",
                "2026-03-08 03:00 EDT",
                "2026-03-09 02:30 EDT"
            ]
        );
        // 2026-03-29, Berlin: 02:00 CET jumps to 03:00 CEST.
        let berlin = Spec::new("30 2 * * *", "Europe/Berlin").unwrap();
        let ran = runs(
            &berlin,
            at("2026-03-28T00:00:00Z"),
            at("2026-03-31T00:00:00Z"),
        );
        assert_eq!(
            ran,
            [
                "2026-03-28 02:30 CET",
                "2026-03-29 03:00 CEST",
                "2026-03-30 02:30 CEST"
            ]
        );
    }

    #[test]
    fn fall_back_slots_run_once() {
        // 2026-11-01, New York: 01:00-02:00 happens twice.
        let ny = Spec::new("30 1 * * *", "America/New_York").unwrap();
        let ran = runs(&ny, at("2026-10-31T00:00:00Z"), at("2026-11-03T00:00:00Z"));
        assert_eq!(
            ran,
            [
                "2026-10-31 01:30 EDT",
                "2026-11-01 01:30 EDT",
                "2026-11-02 01:30 EST"
            ]
        );
        // 2026-10-25, Berlin: 02:00-03:00 happens twice.
        let berlin = Spec::new("30 2 * * *", "Europe/Berlin").unwrap();
        let ran = runs(
            &berlin,
            at("2026-10-24T00:00:00Z"),
            at("2026-10-27T00:00:00Z"),
        );
        assert_eq!(
            ran,
            [
                "2026-10-24 02:30 CEST",
                "2026-10-25 02:30 CEST",
                "2026-10-26 02:30 CET"
            ]
        );
    }

    #[test]
    fn the_same_instant_is_due_in_one_zone_and_not_in_another() {
        // 07:10 UTC on 2026-03-08 is 03:10 EDT in New York (its 02:30 slot
        // fell in the gap and is due at 03:00) and 08:10 CET in Berlin (its
        // 02:30 slot ran hours ago).
        let now = at("2026-03-08T07:10:00Z");
        let ny = Spec::new("30 2 * * *", "America/New_York").unwrap();
        let berlin = Spec::new("30 2 * * *", "Europe/Berlin").unwrap();
        let after_ny = at("2026-03-07T07:30:00Z"); // its previous slot
        let after_berlin = at("2026-03-08T01:30:00Z"); // today's, already run
        assert_eq!(
            due(&ny, CatchUp::Once, after_ny, now),
            Due::Run {
                slot: at("2026-03-08T07:00:00Z"),
                missed: 0
            }
        );
        assert_eq!(
            due(&berlin, CatchUp::Once, after_berlin, now),
            Due::NotDue {
                next: Some(at("2026-03-09T01:30:00Z"))
            }
        );
        // One minute before the New York slot it is not due yet.
        assert_eq!(
            due(&ny, CatchUp::Once, after_ny, at("2026-03-08T06:59:00Z")),
            Due::NotDue {
                next: Some(at("2026-03-08T07:00:00Z"))
            }
        );
    }

    #[test]
    fn downtime_is_caught_up_once_or_skipped() {
        let hourly = Spec::new("0 * * * *", "UTC").unwrap();
        let after = at("2026-05-01T00:00:00Z");
        let now = at("2026-05-01T05:20:00Z");
        // Five slots missed (01:00..05:00): one run, for the latest.
        assert_eq!(
            due(&hourly, CatchUp::Once, after, now),
            Due::Run {
                slot: at("2026-05-01T05:00:00Z"),
                missed: 4
            }
        );
        let Due::Skip { slot, reason } = due(&hourly, CatchUp::Skip, after, now) else {
            panic!()
        };
        assert_eq!(slot, at("2026-05-01T05:00:00Z"));
        assert!(reason.contains("catch_up = skip"), "{reason}");
        // On time (within ON_TIME), skip still runs it.
        assert!(matches!(
            due(&hourly, CatchUp::Skip, after, at("2026-05-01T01:02:00Z")),
            Due::Run { missed: 0, .. }
        ));
        // A year down, minutely: one run, counted without walking the year.
        let minutely = Spec::new("* * * * *", "UTC").unwrap();
        let Due::Run { slot, missed } =
            due(&minutely, CatchUp::Once, at("2025-05-01T00:00:00Z"), now)
        else {
            panic!()
        };
        assert_eq!(slot, at("2026-05-01T05:20:00Z"));
        assert!(missed > 10_000);
    }
}
