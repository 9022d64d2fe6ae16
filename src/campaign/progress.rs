//! What a running campaign tells its caller, typed: progress as
//! [`CampaignEvent`]s to a [`Progress`] the caller passes in, and at the end
//! what to do about a stop as a [`Remedy`]. The library renders neither:
//! the CLI draws a progress line and words the hints; a daemon may log them.

use serde::Serialize;

/// The campaign's counts at one moment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Counts {
    pub campaign: i64,
    /// Tasks no longer running (accepted or rejected) ...
    pub tasks_done: usize,
    /// ... of all the campaign's tasks.
    pub tasks_total: usize,
    pub drafts_evaluated: i64,
    pub tasks_accepted: i64,
    /// The budget spent so far, this run's and earlier runs'.
    pub llm_calls: i64,
    pub tokens: i64,
    /// Dollars, when the config prices the models.
    pub usd: Option<f64>,
}

/// One thing a running campaign reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CampaignEvent {
    /// The counts, about twice a second while tasks run, and once more,
    /// final, when they are over.
    Counts(Counts),
    /// No event follows: the last counts were final.
    Ended,
}

/// Where a campaign's events go (the CLI's progress line). Called from the
/// campaign's tasks, so it must not block.
pub trait Progress: Send + Sync {
    fn event(&self, event: &CampaignEvent);
}

/// What the caller can do about how a run ended (the CLI words it as a
/// command to run).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Remedy {
    /// The budget is spent: resume with a larger one.
    RaiseBudget,
    /// A replayed run met a call its cassette has no answer for: resume
    /// against a live endpoint or with a cassette that has it.
    LiveEndpointOrCassette,
    /// An endpoint failed: check it (URL, model, key), then resume.
    CheckEndpoint,
    /// Stopped otherwise (interrupted, the store failed, a task failed):
    /// resuming continues it.
    Resume,
    /// The campaign finished, but the author's answers of its rejected
    /// tasks were cut off: raise `[author].max_tokens` (now this, `None`
    /// for the server's default) and run it again.
    RaiseAuthorMaxTokens { now: Option<u32> },
}
