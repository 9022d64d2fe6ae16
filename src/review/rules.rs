//! The review queue's decision rules, as pure functions: who is deciding
//! and what a reviewer's name and a note may hold (the CLI and the review
//! page call the same functions), whether a decision may be recorded over an
//! earlier one, which items can be sent back, and how old an item is.
//! Tested without a database.

use std::fmt;

use serde::Serialize;

use crate::campaign::status::{CampaignStatus, TaskStatus};
use crate::store::{DecisionRow, Reopen};

pub use crate::store::status::{Decision, ItemStatus};

impl Decision {
    /// The command that records it.
    pub fn verb(self) -> &'static str {
        match self {
            Decision::Approved => "approve",
            Decision::Rejected => "reject",
            Decision::Revise => "revise",
        }
    }
}

impl From<Decision> for ItemStatus {
    fn from(decision: Decision) -> Self {
        match decision {
            Decision::Approved => ItemStatus::Approved,
            Decision::Rejected => ItemStatus::Rejected,
            Decision::Revise => ItemStatus::Revise,
        }
    }
}

/// Why a decision was not recorded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Refusal {
    pub item: i64,
    /// The decision already recorded.
    pub decision: Decision,
    pub reviewer: String,
    pub at: String,
    pub note: Option<String>,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "review item {} was already decided: {} by {} at {}{}; pass --force to record another decision (both stay in its history)",
            self.item,
            self.decision,
            self.reviewer,
            self.at,
            self.note
                .as_deref()
                .map(|n| format!(" (note: {n:?})"))
                .unwrap_or_default()
        )
    }
}

/// Whether a decision may be recorded on an item whose latest decision is
/// `latest`: yes on a pending item; over an earlier decision only with
/// `force`, and then it is marked forced (`Ok(true)`).
pub fn may_decide(item: i64, latest: Option<&DecisionRow>, force: bool) -> Result<bool, Refusal> {
    match latest {
        None => Ok(false),
        Some(_) if force => Ok(true),
        Some(d) => Err(Refusal {
            item,
            decision: d.decision,
            reviewer: d.reviewer.clone(),
            at: d.created_at.clone(),
            note: d.note.clone(),
        }),
    }
}

/// What recording `decision` on item `item` does to the campaign the item
/// came from (nothing for an item added from a file): a `revise` reopens
/// the task, so that it runs again on `campaign resume` with its accepted
/// draft no longer accepted, and a finished campaign, which has work again,
/// shows as resumable rather than done (`campaign status` and `list` read
/// it). The store applies it in the decision's transaction.
pub fn reopening(item: i64, decision: Decision) -> Option<Reopen> {
    (decision == Decision::Revise).then(|| Reopen {
        task_status: TaskStatus::Running,
        campaign_from: CampaignStatus::Done,
        campaign_to: CampaignStatus::Stopped,
        stop_reason: format!("review item {item} was sent back for revision: resume to refine it"),
    })
}

/// The note of a queue item carried from `item` into `campaign` (a new
/// campaign over a task whose latest item was sent back).
pub fn carried_note(item: i64, campaign: i64) -> String {
    format!("carried from review item {item} into campaign {campaign}")
}

/// Whether an item from `source` can be sent back: only a campaign's draft
/// has an author to send it to.
pub fn may_revise(item: i64, source: &str) -> Result<(), String> {
    if source == "campaign" {
        Ok(())
    } else {
        Err(format!(
            "review item {item} was added from a file, so there is no campaign to send it back to: reject it with a reason, or fix the file and `bootforge review add` it again"
        ))
    }
}

/// Longest reviewer name accepted, in characters.
pub const MAX_REVIEWER: usize = 80;
/// Longest note or reason accepted, in characters.
pub const MAX_NOTE: usize = 4_000;

/// The reviewer's name: `--reviewer`, else `BOOTFORGE_REVIEWER`, else the
/// login name; the first that is set and not blank, checked by
/// [`reviewer_name`] (`Err` says which source was wrong). `Ok(None)`: none is
/// set.
pub fn reviewer(
    flag: Option<&str>,
    env: Option<&str>,
    login: Option<&str>,
) -> Result<Option<String>, String> {
    let sources = [
        (flag, "--reviewer"),
        (env, "BOOTFORGE_REVIEWER"),
        (login, "the login name"),
    ];
    match sources
        .into_iter()
        .find_map(|(v, from)| v.filter(|v| !v.trim().is_empty()).map(|v| (v, from)))
    {
        None => Ok(None),
        Some((name, from)) => reviewer_name(name)
            .map(Some)
            .map_err(|why| format!("the reviewer's name from {from} is refused: {why}")),
    }
}

/// A reviewer's name, trimmed: present, at most [`MAX_REVIEWER`] characters,
/// no control (newline and tab included) or [`hidden`](crate::text::hidden)
/// characters (it is shown
/// beside every decision, and the time and note after it must stay where
/// they are). The one rule for the CLI and the review page.
pub fn reviewer_name(name: &str) -> Result<String, String> {
    let name = name.trim();
    if name.is_empty() {
        Err("say who you are: the reviewer's name is required".into())
    } else if name.chars().count() > MAX_REVIEWER
        // Unlike `hidden`, a newline or tab counts too: a name is one line.
        || name.chars().any(|c| c.is_control() || crate::text::hidden(c))
    {
        Err(format!(
            "a reviewer's name is at most {MAX_REVIEWER} characters of plain text (no control, invisible or direction-changing characters)"
        ))
    } else {
        Ok(name.to_owned())
    }
}

/// Whether a note (or reason) is short enough to keep: at most [`MAX_NOTE`]
/// characters once trimmed. The one rule for the CLI and the review page.
pub fn note(text: &str) -> Result<(), String> {
    let n = text.trim().chars().count();
    if n > MAX_NOTE {
        Err(format!(
            "the note is {n} characters long; at most {MAX_NOTE} are kept: shorten it and send it again"
        ))
    } else {
        Ok(())
    }
}

/// Seconds since the Unix epoch of an RFC 3339 UTC timestamp as the store
/// writes them (`2026-11-27T13:03:57.123Z`, fraction optional), or of
/// SQLite's `YYYY-MM-DD HH:MM:SS`.
pub fn parse_timestamp(text: &str) -> Option<i64> {
    let t = match text.parse::<jiff::Timestamp>() {
        Ok(t) => t,
        // SQLite's shape has no offset: it is UTC.
        Err(_) => jiff::tz::TimeZone::UTC
            .to_timestamp(text.parse::<jiff::civil::DateTime>().ok()?)
            .ok()?,
    };
    Some(t.as_second())
}

/// How long ago, briefly: `42s`, `5m`, `3h`, `2d`.
pub fn age(created: &str, now: i64) -> String {
    let Some(then) = parse_timestamp(created) else {
        return "?".into();
    };
    let secs = (now - then).max(0);
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decided(decision: Decision) -> DecisionRow {
        DecisionRow {
            id: 1,
            item_id: 7,
            decision,
            reviewer: "ada".into(),
            note: Some("fine".into()),
            forced: false,
            created_at: "2026-11-27T10:00:00.000Z".into(),
        }
    }

    #[test]
    fn a_pending_item_may_be_decided_once() {
        assert_eq!(may_decide(7, None, false), Ok(false));
        let refusal = may_decide(7, Some(&decided(Decision::Approved)), false).unwrap_err();
        let text = refusal.to_string();
        assert!(
            text.contains("approved")
                && text.contains("ada")
                && text.contains("2026-11-27T10:00:00.000Z")
                && text.contains("--force"),
            "{text}"
        );
        assert_eq!(
            may_decide(7, Some(&decided(Decision::Revise)), true),
            Ok(true)
        );
    }

    #[tokio::test]
    async fn decisions_are_spelled_alike_in_sql_json_and_text() {
        crate::stored::assert_spellings(Decision::ALL).await;
        crate::stored::assert_spellings(ItemStatus::ALL).await;
        // A decision is the item's status of the same name.
        for d in Decision::ALL {
            assert_eq!(ItemStatus::from(*d).as_str(), d.as_str());
        }
    }

    #[test]
    fn only_a_revise_reopens_its_task() {
        assert_eq!(reopening(3, Decision::Approved), None);
        assert_eq!(reopening(3, Decision::Rejected), None);
        let reopen = reopening(3, Decision::Revise).unwrap();
        assert_eq!(reopen.task_status, TaskStatus::Running);
        assert_eq!(
            (reopen.campaign_from, reopen.campaign_to),
            (CampaignStatus::Done, CampaignStatus::Stopped)
        );
        assert!(
            reopen.stop_reason.contains("review item 3") && reopen.stop_reason.contains("resume"),
            "{}",
            reopen.stop_reason
        );
    }

    #[test]
    fn only_campaign_items_can_be_sent_back() {
        assert!(may_revise(1, "campaign").is_ok());
        assert!(may_revise(1, "file").unwrap_err().contains("review add"));
    }

    #[test]
    fn the_reviewer_is_the_flag_then_the_environment_then_the_login() {
        let who = |f, e, l| reviewer(f, e, l).unwrap();
        assert_eq!(
            who(Some("ada"), Some("bob"), Some("root")).as_deref(),
            Some("ada")
        );
        assert_eq!(
            who(None, Some(" bob "), Some("root")).as_deref(),
            Some("bob")
        );
        assert_eq!(
            who(Some(""), Some("  "), Some("root")).as_deref(),
            Some("root")
        );
        assert_eq!(who(None, None, None), None);
    }

    #[test]
    fn every_source_of_the_reviewer_passes_the_same_rule() {
        let long = "a".repeat(MAX_REVIEWER + 1);
        let err = reviewer(None, Some(&long), Some("root")).unwrap_err();
        assert!(
            err.contains("BOOTFORGE_REVIEWER") && err.contains("at most 80 characters"),
            "{err}"
        );
        let err = reviewer(Some("ada\u{1b}[2K"), None, None).unwrap_err();
        assert!(err.contains("--reviewer"), "{err}");
        let err = reviewer(None, None, Some("ro\u{202e}ot")).unwrap_err();
        assert!(err.contains("login name"), "{err}");
        // A bad fallback is not reached when an earlier source is good.
        assert_eq!(
            reviewer(Some("ada"), Some(&long), None).unwrap().as_deref(),
            Some("ada")
        );
    }

    #[test]
    fn names_and_notes_are_capped() {
        let at_limit = "é".repeat(MAX_REVIEWER);
        assert_eq!(
            reviewer_name(&format!(" {at_limit} ")),
            Ok(at_limit.clone())
        );
        assert!(reviewer_name(&format!("{at_limit}é")).is_err());
        assert!(
            reviewer_name("a\tb").is_err(),
            "a tab would move what follows"
        );
        assert!(reviewer_name("a\u{200b}b").is_err());
        assert!(reviewer_name("  ").unwrap_err().contains("required"));
        assert_eq!(
            reviewer_name("Zoë 👩\u{200d}💻"),
            Ok("Zoë 👩\u{200d}💻".into())
        );
        assert!(note(&"n".repeat(MAX_NOTE)).is_ok());
        assert!(note(&format!("  {}\n", "n".repeat(MAX_NOTE))).is_ok());
        let err = note(&"n".repeat(MAX_NOTE + 1)).unwrap_err();
        assert!(
            err.contains("4001 characters") && err.contains("at most 4000"),
            "{err}"
        );
        assert!(note("line one\nline two\twith a tab").is_ok());
    }

    #[test]
    fn timestamps_and_ages() {
        assert_eq!(parse_timestamp("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_timestamp("2000-03-01T00:00:00.5Z"), Some(951_868_800));
        assert_eq!(
            parse_timestamp("2026-11-27 13:03:57"),
            parse_timestamp("2026-11-27T13:03:57.000Z")
        );
        assert_eq!(parse_timestamp("garbage"), None);
        let t = parse_timestamp("2026-11-27T13:00:00Z").unwrap();
        assert_eq!(age("2026-11-27T13:00:00Z", t + 30), "30s");
        assert_eq!(age("2026-11-27T13:00:00Z", t + 3 * 3600 + 5), "3h");
        assert_eq!(age("2026-11-27T13:00:00Z", t + 2 * 86_400), "2d");
        assert_eq!(age("bad", t), "?");
    }

    #[test]
    fn store_timestamps_parse() {
        let now = crate::store::now_utc();
        assert!(parse_timestamp(&now).is_some(), "{now}");
    }
}
