//! What state a scheduled run is in. A run that started a campaign follows
//! that campaign's stored state, however the campaign got there (its daemon,
//! `campaign resume` by hand after a SIGTERM, a later resume with a raised
//! budget): the daemon records the slot, the campaign records how it ended,
//! and nothing writes the same fact twice. Pure functions of the stored rows.

use jiff::Timestamp;

use crate::campaign::lease;
use crate::campaign::status::CampaignStatus;
use crate::store::RunRow;

pub use crate::store::status::SlotStatus;

impl SlotStatus {
    /// The slot status that records a campaign's end: the same word. A
    /// campaign is never `calibration` here (those rows hold no schedule's
    /// run); should one be, the slot is recorded stopped.
    pub fn of_campaign(status: CampaignStatus) -> SlotStatus {
        match status {
            CampaignStatus::Running => SlotStatus::Running,
            CampaignStatus::Done => SlotStatus::Done,
            CampaignStatus::Stopped | CampaignStatus::Calibration => SlotStatus::Stopped,
        }
    }
}

/// A run's status and reason as history, `daemon status` and the daemon
/// see them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunState {
    pub status: SlotStatus,
    pub reason: Option<String>,
    /// When it ended (Unix ms): the daemon's record, or else when its
    /// campaign ended.
    pub finished_ms: Option<i64>,
}

impl RunState {
    /// Still open: its campaign is going, or was interrupted and is the
    /// schedule's to continue (one run per schedule at a time).
    pub fn is_open(&self) -> bool {
        self.status == SlotStatus::Running
    }
}

/// Pure: whether a campaign stored with `status` and stop `reason` is
/// over for its schedule: done, or stopped for a reason other than an
/// interruption (an interrupted campaign is the schedule's to continue).
pub fn campaign_over(status: CampaignStatus, reason: Option<&str>) -> bool {
    status == CampaignStatus::Done
        || (status == CampaignStatus::Stopped && !lease::was_interrupted(reason))
}

/// Pure: the state of `run`. Its campaign being `done` makes it done (a
/// note the daemon recorded, such as missed slots, stays); a campaign
/// `stopped` for a reason other than an interruption (budget, endpoint, a
/// draft sent back by review) makes it stopped with that reason. Otherwise
/// (no campaign, a campaign still running or interrupted) the daemon's
/// record stands.
pub fn of(run: &RunRow) -> RunState {
    let recorded = RunState {
        status: run.status,
        reason: run.reason.clone(),
        finished_ms: run.finished_ms,
    };
    if run.campaign_id.is_none() {
        return recorded;
    }
    let ended_ms = || {
        run.finished_ms.or_else(|| {
            run.campaign_updated
                .as_deref()
                .and_then(|t| t.parse::<Timestamp>().ok())
                .map(|t| t.as_millisecond())
        })
    };
    match run.campaign_status {
        Some(CampaignStatus::Done) => RunState {
            status: SlotStatus::Done,
            // A reason recorded with a stop no longer applies once done.
            reason: match run.status {
                SlotStatus::Running | SlotStatus::Done => run.reason.clone(),
                _ => None,
            },
            finished_ms: ended_ms(),
        },
        Some(status) if campaign_over(status, run.campaign_reason.as_deref()) => RunState {
            status: SlotStatus::Stopped,
            reason: run.campaign_reason.clone(),
            finished_ms: ended_ms(),
        },
        _ => recorded,
    }
}

/// Pure: whether `run` is still open (see [`RunState::is_open`]).
pub fn is_open(run: &RunRow) -> bool {
    of(run).is_open()
}

#[cfg(test)]
mod tests {
    use super::*;

    use CampaignStatus as C;
    use SlotStatus as S;

    fn run(status: SlotStatus, campaign: Option<(CampaignStatus, Option<&str>)>) -> RunRow {
        RunRow {
            id: 1,
            schedule_id: Some(1),
            schedule: "n".into(),
            slot_s: 0,
            campaign_id: campaign.map(|_| 7),
            status,
            reason: Some("missed 2 slots".into()),
            daemon: None,
            started_ms: 0,
            finished_ms: None,
            campaign_status: campaign.map(|(s, _)| s),
            campaign_reason: campaign.and_then(|(_, r)| r.map(Into::into)),
            campaign_updated: campaign.map(|_| "1970-01-01T00:00:05Z".into()),
        }
    }

    #[test]
    fn a_run_follows_its_campaign_however_it_ended() {
        // Resumed by hand to the end after its daemon stopped: done, and
        // the schedule's next slot is free.
        let by_hand = of(&run(S::Running, Some((C::Done, None))));
        assert_eq!(by_hand.status, S::Done);
        assert_eq!(by_hand.reason.as_deref(), Some("missed 2 slots"));
        assert_eq!(by_hand.finished_ms, Some(5_000));
        assert!(!by_hand.is_open());
        // Stopped on its budget in a resume by hand: stopped, with why.
        let budget = of(&run(
            S::Running,
            Some((C::Stopped, Some("the budget is spent"))),
        ));
        assert_eq!(
            (budget.status, budget.reason.as_deref()),
            (S::Stopped, Some("the budget is spent"))
        );
        // Stopped by a daemon's SIGTERM (or a Ctrl-C of a resume): still the
        // schedule's to continue.
        let reason = lease::interrupted_reason("the daemon stopped (SIGTERM)");
        assert!(is_open(&run(S::Running, Some((C::Stopped, Some(&reason))))));
        // Going, or its holder died: open.
        assert!(is_open(&run(S::Running, Some((C::Running, None)))));
        // Stopped on its budget, then resumed with a raised one to the end.
        let raised = of(&run(S::Stopped, Some((C::Done, None))));
        assert_eq!((raised.status, raised.reason), (S::Done, None));
    }

    #[test]
    fn a_record_without_a_finished_campaign_stands() {
        for status in [S::Skipped, S::Failed] {
            let r = run(status, None);
            assert_eq!(of(&r).status, status);
            assert!(!is_open(&r));
        }
        // The daemon could not start its campaign's clients: failed, also
        // while the campaign is stored as running.
        let failed = of(&run(S::Failed, Some((C::Running, None))));
        assert_eq!(failed.status, S::Failed);
        assert_eq!(failed.finished_ms, None);
    }

    #[tokio::test]
    async fn slot_statuses_are_spelled_alike_in_sql_json_and_text() {
        crate::stored::assert_spellings(SlotStatus::ALL).await;
    }
}
