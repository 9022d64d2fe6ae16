//! One handler module per resource: the queue (and its history), an item
//! (with its decisions), campaigns, the session (sign-in), static assets.

pub mod assets;
pub mod campaign;
pub mod item;
pub mod queue;
pub mod session;

use axum::http::StatusCode;

use super::PageError;

/// An optional numeric query field: empty means absent.
pub fn optional_id(text: &Option<String>, what: &str) -> Result<Option<i64>, PageError> {
    match text.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) => t.parse().map(Some).map_err(|_| {
            PageError::new(
                StatusCode::BAD_REQUEST,
                format!("{what} must be a number, not {t:?}"),
            )
        }),
    }
}

/// An optional text field: empty or blank means absent.
pub fn optional_text(text: &Option<String>) -> Option<String> {
    text.as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}
