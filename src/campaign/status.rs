//! The stored statuses of campaigns, their tasks and their drafts.

stored_enum! {
    /// A campaign's stored status (`campaign status` shows a `running`
    /// one nobody holds as `interrupted`, see [`super::lease::shown_status`]).
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stored::assert_spellings;

    #[tokio::test]
    async fn statuses_are_spelled_alike_in_sql_json_and_text() {
        assert_spellings(CampaignStatus::ALL).await;
        assert_spellings(TaskStatus::ALL).await;
        assert_spellings(DraftStatus::ALL).await;
    }
}
