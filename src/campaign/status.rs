//! The stored statuses of campaigns, their tasks and their drafts.

pub use crate::store::status::{CampaignStatus, DraftStatus, TaskStatus};

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
