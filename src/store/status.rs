//! The stored statuses, declared below every module that reads or
//! writes them, so the store decodes them without importing from the floors
//! above it. Each is re-exported by the module that owns the concept
//! (`campaign::status`, `review::rules`, `calibrate`, `schedule::state`,
//! `eval`), where its behaviour lives.

stored_enum! {
    /// A campaign's stored status (`campaign status` shows a `running`
    /// one nobody holds as `interrupted`, see [`crate::campaign::lease::shown_status`]).
    pub enum CampaignStatus as "campaign status" {
        Running = "running",
        /// Every task ended (accepted or rejected) and nothing stopped it.
        Done = "done",
        /// Stopped with a reason (budget, endpoint, interruption, a draft
        /// sent back by review); `campaign resume` continues it.
        Stopped = "stopped",
        /// Not a campaign: the row that holds a calibration's LLM calls.
        Calibration = "calibration",
    }
}

stored_enum! {
    /// A task's stored status.
    pub enum TaskStatus as "task status" {
        Running = "running",
        Accepted = "accepted",
        /// Its generations ran out without an accepted draft.
        Rejected = "rejected",
        Stopped = "stopped",
    }
}

stored_enum! {
    /// A draft's stored status: where it is between its author call and its
    /// evaluation.
    pub enum DraftStatus as "draft status" {
        /// Created; its author call has not answered yet.
        Pending = "pending",
        /// Answered with code, not yet evaluated.
        Drafted = "drafted",
        /// Answered without a Python code block.
        NoCode = "no_code",
        /// The author call failed past its retries.
        LlmFailed = "llm_failed",
        Evaluated = "evaluated",
        /// The author's answer was cut off by `max_tokens`.
        Truncated = "truncated",
    }
}

stored_enum! {
    /// A curator's decision (stored, and spelled as `review list --status`
    /// takes it).
    pub enum Decision as "review decision" {
        Approved = "approved",
        Rejected = "rejected",
        /// Sent back to its campaign with a note for the author.
        Revise = "revise",
    }
}

stored_enum! {
    /// A review item's status: its latest decision, or pending when it has
    /// none (read from the store, and spelled as `review list --status`
    /// takes it).
    pub enum ItemStatus as "review status" {
        /// No decision yet.
        Pending = "pending",
        Approved = "approved",
        Rejected = "rejected",
        Revise = "revise",
    }
}

stored_enum! {
    /// A calibration's stored status.
    pub enum CalibrationStatus as "calibration status" {
        /// Opened; probes may still be missing (a run resumes it).
        Running = "running",
        /// Its report is stored.
        Done = "done",
    }
}

stored_enum! {
    /// A slot's status as the daemon records it (and as history shows it).
    pub enum SlotStatus as "slot status" {
        /// Its campaign was started and has not been recorded as ended.
        Running = "running",
        Done = "done",
        Stopped = "stopped",
        /// Its campaign could not be started or failed.
        Failed = "failed",
        /// Not run (paused, busy, or a missed slot not caught up).
        Skipped = "skipped",
    }
}

stored_enum! {
    /// An evaluation run's stored status.
    pub enum EvalStatus as "eval status" {
        Running = "running",
        /// Every answer asked for was made.
        Done = "done",
        /// Calls stopped (budget, endpoint) or were not made: resumable.
        Incomplete = "incomplete",
    }
}

stored_enum! {
    /// How an `llm_calls` row's answer came about. The default is a live
    /// answer's; the router sets every record's status itself.
    #[derive(Default)]
    pub enum CallStatus as "call status" {
        /// Answered by the endpoint.
        #[default]
        Ok = "ok",
        /// Refused for good after its retries; never answers a later lookup.
        Failed = "failed",
        /// Answered from a cassette.
        Replayed = "replayed",
    }
}
