//! When a schedule runs: cron expressions read in a time zone (croner on jiff
//! zones, Vixie cron's DST rules: the slots in a spring-forward gap run once,
//! together, at the first valid instant after it; a fixed-time slot in a
//! fall-back overlap runs once, while an expression whose minute or hour
//! field starts with `*` runs at every real slot, twice in that hour),
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

/// Missed slots counted one by one at most; beyond, the count is a lower
/// bound ("at least N"): a minutely schedule down for a year is not walked.
pub const COUNT_CAP: u64 = 10_000;

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
    /// The minute or hour field starts with `*` (Vixie cron's "wildcard"
    /// jobs): it runs at every real slot, also twice in a fall-back hour.
    /// Other expressions run a repeated wall time once.
    interval: bool,
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
    for (i, field) in fields.iter().enumerate() {
        standard_field(i, field).map_err(|why| {
            format!(
                "cron expression {expr:?}: the {} field {field:?} {why}",
                FIELDS[i]
            )
        })?;
    }
    match parser().parse(&fields.join(" ")) {
        Ok(cron) => {
            // An expression with no slot at all (`0 2 30 2 *`: February
            // 30th) would be accepted and never run: refuse it now.
            let from = Timestamp::UNIX_EPOCH.to_zoned(TimeZone::UTC);
            if cron.find_next_occurrence(&from, false).is_err() {
                return Err(format!(
                    "cron expression {expr:?} never matches a date (check the day of month against the month); it would never run"
                ));
            }
            Ok(cron)
        }
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

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/// Pure: whether field `i` uses only standard cron (numbers, `*`, ranges,
/// lists, steps, and month or day names in their fields). croner also takes
/// Quartz-style extensions (`?`, `L`, `W`, `#`, `+`) and forgives empty list
/// items; bootforge accepts standard 5-field cron only, so an expression
/// means the same to every cron reader. The error completes the sentence
/// `the X field "..."`.
fn standard_field(i: usize, field: &str) -> Result<(), String> {
    if field.split(',').any(str::is_empty) {
        return Err("has an empty list item (two commas, or a comma at an end)".into());
    }
    if let Some(c) = field
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "*,-/".contains(*c)))
    {
        return Err(format!(
            "uses {c:?}: only standard 5-field cron is accepted (numbers, names, `*`, ranges `a-b`, lists `a,b`, steps `*/n`), not the extensions ? L W # +"
        ));
    }
    let names: &[&str] = match i {
        3 => &MONTHS,
        4 => &DAYS,
        _ => &[],
    };
    for word in field
        .split(|c: char| !c.is_ascii_alphabetic())
        .filter(|w| !w.is_empty())
    {
        if !names.iter().any(|n| n.eq_ignore_ascii_case(word)) {
            return Err(match names.is_empty() {
                true => format!(
                    "uses {word:?}: this field takes numbers only (standard 5-field cron; no L or W)"
                ),
                false => format!(
                    "uses {word:?}: give numbers or names such as {} (standard 5-field cron; no L or W)",
                    names[..3].join(", ")
                ),
            });
        }
    }
    Ok(())
}

/// An IANA time zone name (`Europe/Berlin`, `UTC`).
pub fn parse_zone(name: &str) -> Result<TimeZone, String> {
    TimeZone::get(name).map_err(|e| {
        format!("unknown time zone {name:?}: give an IANA name such as UTC, Europe/Berlin or America/New_York ({e})")
    })
}

/// The canonical spelling of a zone name (`europe/berlin` is stored as
/// `Europe/Berlin`); the name as given when the zone has none.
pub fn canonical_zone_name(name: &str) -> String {
    parse_zone(name)
        .ok()
        .and_then(|tz| tz.iana_name().map(str::to_owned))
        .unwrap_or_else(|| name.to_owned())
}

/// This machine's time zone name, and a warning when it has none usable
/// (a `TZ` it cannot read, or a zone without an IANA name): then UTC.
/// `system` is `TimeZone::try_system()` and `tz_var` the `TZ` variable, read
/// by the caller so that this stays a function of its inputs.
pub fn system_zone_name(
    system: Result<TimeZone, jiff::Error>,
    tz_var: Option<&str>,
) -> (String, Option<String>) {
    let fallback = |why: String| {
        (
            "UTC".to_owned(),
            Some(format!(
                "{why}; the schedule uses UTC (give --timezone to choose)"
            )),
        )
    };
    match system {
        Ok(tz) => match tz.iana_name() {
            Some(name) => (name.to_owned(), None),
            None => fallback("this machine's time zone has no IANA name".into()),
        },
        Err(err) => fallback(match tz_var {
            Some(tz) => format!("the TZ environment variable {tz:?} is not a time zone ({err})"),
            None => format!("this machine's time zone cannot be read ({err})"),
        }),
    }
}

impl Spec {
    pub fn new(expr: &str, zone: &str) -> Result<Spec, String> {
        let fields: Vec<&str> = expr.split_whitespace().collect();
        Ok(Spec {
            cron: parse_cron(expr)?,
            zone: parse_zone(zone)?,
            interval: fields.iter().take(2).any(|f| f.starts_with('*')),
        })
    }

    /// croner's next slot after `t`, without the second occurrence of a
    /// wall time repeated by a fall-back change (unless `interval`).
    fn cron_next(&self, t: Timestamp) -> Option<Timestamp> {
        let mut at = t;
        // A repeated hour holds at most 60 slots to pass over (120: room
        // for a zone that repeats more than an hour).
        for _ in 0..=120 {
            let next = self
                .cron
                .find_next_occurrence(&at.to_zoned(self.zone.clone()), false)
                .ok()?
                .timestamp();
            if self.interval || !self.repeated(next) {
                return Some(next);
            }
            at = next;
        }
        None
    }

    /// Whether `t`'s wall time already happened earlier (fall back).
    fn repeated(&self, t: Timestamp) -> bool {
        let wall = t.to_zoned(self.zone.clone()).datetime();
        self.zone
            .to_ambiguous_timestamp(wall)
            .earlier()
            .is_ok_and(|first| first < t)
    }

    /// The first slot strictly after `t`. A slot whose local time does not
    /// exist (a spring-forward gap) is due at the first instant after the
    /// gap, once for all of that gap's slots.
    pub fn next_after(&self, t: Timestamp) -> Option<Timestamp> {
        let next = self.cron_next(t);
        match (next, self.gap_slot_after(t, next)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The first spring-forward gap after `t` (and before `until`) in which
    /// the expression has a slot: the instant the gap ends. croner moves a
    /// lone gap slot to the end of the gap, but drops a day whose gap holds
    /// two slots (`0,30 2 * * *` in Berlin); reading the gap's wall times
    /// at the offset before it finds them all.
    fn gap_slot_after(&self, t: Timestamp, until: Option<Timestamp>) -> Option<Timestamp> {
        // Zones change offset at most a few times a year; looking at the
        // next 40 changes covers a decade when the expression never fires.
        for change in self.zone.following(t).take(40) {
            let at = change.timestamp();
            if until.is_some_and(|u| at >= u) {
                break;
            }
            let Ok(just_before) = at.checked_sub(SignedDuration::from_secs(1)) else {
                continue;
            };
            let before = self.zone.to_offset(just_before);
            let width = change.offset().duration_since(before);
            if width <= SignedDuration::ZERO || at <= t {
                continue; // a fall-back overlap, or not after t
            }
            // The gap's wall times are [at, at + width) read at `before`.
            let fixed = TimeZone::fixed(before);
            let first = self
                .cron
                .find_next_occurrence(&just_before.to_zoned(fixed), false)
                .ok()
                .map(|z| z.timestamp());
            if first.is_some_and(|f| f < at.checked_add(width).unwrap_or(Timestamp::MAX)) {
                return Some(at);
            }
        }
        None
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
    /// (downtime); `note` says so for the history (caught up by this run, or
    /// skipped with `catch_up = skip`).
    Run {
        slot: Timestamp,
        missed: u64,
        note: Option<String>,
    },
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
    // The latest slot not after now, and how many came before it (counted
    // up to COUNT_CAP; then the latest is looked for near now).
    let (mut latest, mut missed, mut capped) = (first, 0u64, false);
    while let Some(next) = spec.next_after(latest).filter(|n| *n <= now) {
        if missed >= COUNT_CAP {
            capped = true;
            break;
        }
        latest = next;
        missed += 1;
    }
    if capped {
        for days in [1, 32, 367] {
            let Some(near) = now
                .checked_sub(SignedDuration::from_hours(24 * days))
                .ok()
                .and_then(|from| spec.next_after(from.max(latest)))
                .filter(|n| *n <= now)
            else {
                continue;
            };
            latest = near;
            while let Some(next) = spec.next_after(latest).filter(|n| *n <= now) {
                latest = next;
            }
            break;
        }
    }
    let count = match capped {
        true => format!("at least {missed}"),
        false => missed.to_string(),
    };
    let late = now.duration_since(latest);
    match catch_up {
        CatchUp::Skip if late > ON_TIME => Due::Skip {
            slot: latest,
            reason: format!(
                "missed by {} while no daemon ran (catch_up = skip){}",
                human(late),
                if missed > 0 {
                    format!("; {count} earlier slot(s) missed too")
                } else {
                    String::new()
                }
            ),
        },
        _ => Due::Run {
            slot: latest,
            missed,
            note: (missed > 0).then(|| match catch_up {
                CatchUp::Once => format!("caught up once for {count} missed slot(s) before it"),
                CatchUp::Skip => format!(
                    "on time; {count} earlier slot(s) missed while no daemon ran were skipped (catch_up = skip)"
                ),
            }),
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
            if let Due::Run { slot, missed, .. } = due(spec, CatchUp::Once, after, now) {
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
        // Only standard cron: no empty list item, no Quartz extensions.
        let err = parse_cron("0,,5 2 * * *").unwrap_err();
        assert!(
            err.contains("minute field") && err.contains("empty list item"),
            "{err}"
        );
        let err = parse_cron("0 2 * * 1,").unwrap_err();
        assert!(err.contains("empty list item"), "{err}");
        let err = parse_cron("0 2 ? * *").unwrap_err();
        assert!(
            err.contains("day of month field") && err.contains("standard"),
            "{err}"
        );
        let err = parse_cron("0 2 L * *").unwrap_err();
        assert!(err.contains("day of month field \"L\""), "{err}");
        let err = parse_cron("0 2 * * 5L").unwrap_err();
        assert!(
            err.contains("day of week field") && err.contains("\"L\""),
            "{err}"
        );
        let err = parse_cron("0 2 * * MON#2").unwrap_err();
        assert!(err.contains("day of week field"), "{err}");
        let err = parse_cron("0 2 * FRI *").unwrap_err();
        assert!(err.contains("month field"), "{err}");
        // An expression that can never fire is refused.
        let err = parse_cron("0 2 30 2 *").unwrap_err();
        assert!(err.contains("never"), "{err}");
        parse_cron("0 0 29 2 *").expect("February 29th comes every four years");
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
    fn several_slots_in_a_spring_forward_gap_run_once_after_it() {
        // 2027-03-28, Berlin: 02:00 CET jumps to 03:00 CEST.
        let (from, to) = (at("2027-03-27T00:00:00Z"), at("2027-03-29T12:00:00Z"));
        let two = Spec::new("0,30 2 * * *", "Europe/Berlin").unwrap();
        assert_eq!(
            runs(&two, from, to),
            [
                "2027-03-27 02:00 CET",
                "2027-03-27 02:30 CET",
                "2027-03-28 03:00 CEST",
                "2027-03-29 02:00 CEST",
                "2027-03-29 02:30 CEST"
            ]
        );
        let quarter = Spec::new("15,45 2 * * *", "Europe/Berlin").unwrap();
        assert_eq!(
            runs(&quarter, from, to)[2..4],
            ["2027-03-28 03:00 CEST", "2027-03-29 02:15 CEST"]
        );
        // Only that day: its first run used to be a year later.
        let once = Spec::new("0,15,30,45 2 28 3 *", "Europe/Berlin").unwrap();
        assert_eq!(
            local(&once, once.next_after(from).unwrap()),
            "2027-03-28 03:00 CEST"
        );
        // A gap slot and a later valid slot: both run.
        let two_hours = Spec::new("0 2,4 * * *", "Europe/Berlin").unwrap();
        assert_eq!(
            runs(
                &two_hours,
                at("2027-03-28T00:00:00Z"),
                at("2027-03-28T12:00:00Z")
            ),
            ["2027-03-28 03:00 CEST", "2027-03-28 04:00 CEST"]
        );
        // A lone gap slot still runs once at 03:00; so does one at 03:00.
        let lone = Spec::new("30 2 * * *", "Europe/Berlin").unwrap();
        assert_eq!(runs(&lone, from, to)[1], "2027-03-28 03:00 CEST");
        let two_and_three = Spec::new("30 2,3 * * *", "Europe/Berlin").unwrap();
        assert_eq!(
            runs(
                &two_and_three,
                at("2027-03-28T00:00:00Z"),
                at("2027-03-28T12:00:00Z")
            ),
            ["2027-03-28 03:00 CEST", "2027-03-28 03:30 CEST"]
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
    fn fall_back_fixed_hours_run_once_and_wildcard_hours_every_real_slot() {
        // 2026-10-25, Berlin: 03:00 CEST goes back to 02:00 CET (01:00Z).
        let (from, to) = (at("2026-10-24T23:50:00Z"), at("2026-10-25T02:10:00Z"));
        // A fixed hour: each slot once, at its first occurrence.
        let fixed = Spec::new("0,30 2 * * *", "Europe/Berlin").unwrap();
        assert_eq!(
            runs(&fixed, from, to),
            ["2026-10-25 02:00 CEST", "2026-10-25 02:30 CEST"]
        );
        // A wildcard hour: every real half hour, so 02:00 and 02:30 run in
        // both offsets.
        let every = Spec::new("*/30 * * * *", "Europe/Berlin").unwrap();
        assert_eq!(
            runs(&every, from, to),
            [
                "2026-10-25 02:00 CEST",
                "2026-10-25 02:30 CEST",
                "2026-10-25 02:00 CET",
                "2026-10-25 02:30 CET",
                "2026-10-25 03:00 CET"
            ]
        );
    }

    #[test]
    fn an_unreadable_system_zone_falls_back_to_utc_and_says_why() {
        let (name, warning) = system_zone_name(Ok(TimeZone::get("Asia/Tokyo").unwrap()), None);
        assert_eq!((name.as_str(), warning), ("Asia/Tokyo", None));
        let bad = || TimeZone::get("Not/AZone");
        let (name, warning) = system_zone_name(bad(), Some("Not/AZone"));
        assert_eq!(name, "UTC");
        assert!(
            warning
                .unwrap()
                .contains("the TZ environment variable \"Not/AZone\"")
        );
        let (_, warning) = system_zone_name(bad(), None);
        assert!(
            warning
                .unwrap()
                .contains("this machine's time zone cannot be read")
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
                missed: 0,
                note: None
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
                missed: 4,
                note: Some("caught up once for 4 missed slot(s) before it".into())
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
            Due::Run {
                missed: 0,
                note: None,
                ..
            }
        ));
        // On time after downtime, skip runs it and says the earlier ones
        // were skipped, not caught up.
        let Due::Run { missed, note, .. } =
            due(&hourly, CatchUp::Skip, after, at("2026-05-01T05:02:00Z"))
        else {
            panic!()
        };
        assert_eq!(missed, 4);
        let note = note.unwrap();
        assert!(
            note.contains("4 earlier slot(s)") && note.contains("skipped"),
            "{note}"
        );
        assert!(!note.contains("caught up"), "{note}");
        // Down eleven days, daily: ten missed, counted past a week.
        let daily = Spec::new("0 2 * * *", "UTC").unwrap();
        let Due::Run { missed, note, .. } = due(
            &daily,
            CatchUp::Once,
            at("2026-01-01T12:00:00Z"),
            at("2026-01-12T03:00:00Z"),
        ) else {
            panic!()
        };
        assert_eq!(
            (missed, note.unwrap().contains("for 10 missed")),
            (10, true)
        );
        // Hourly, down 30 days: all 719 counted.
        let Due::Run { missed, .. } = due(
            &hourly,
            CatchUp::Once,
            at("2026-04-01T05:00:00Z"),
            at("2026-05-01T05:20:00Z"),
        ) else {
            panic!()
        };
        assert_eq!(missed, 30 * 24 - 1);
        // A year down, minutely: one run for the latest slot, counted up to
        // the cap and said to be a lower bound.
        let minutely = Spec::new("* * * * *", "UTC").unwrap();
        let Due::Run { slot, missed, note } =
            due(&minutely, CatchUp::Once, at("2025-05-01T00:00:00Z"), now)
        else {
            panic!()
        };
        assert_eq!(slot, at("2026-05-01T05:20:00Z"));
        assert_eq!(missed, COUNT_CAP);
        assert!(note.unwrap().contains("at least 10000"));
    }
}
