//! One handler module per resource: the queue (and its history), an item
//! (with its decisions), campaigns, evaluation runs, the session (sign-in), static assets.

pub mod assets;
pub mod campaign;
pub mod eval;
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

/// Longest task filter accepted, in characters.
pub const MAX_FILTER: usize = 200;

/// A reviewer's name from a form, by the same rule as the CLI's
/// ([`rules::reviewer_name`](crate::review::rules::reviewer_name)).
pub fn reviewer_name(text: &Option<String>) -> Result<String, String> {
    crate::review::rules::reviewer_name(text.as_deref().unwrap_or_default())
}

/// A note or reason from a form (empty or blank means absent), capped by
/// the same rule as the CLI's ([`rules::note`](crate::review::rules::note)).
pub fn note_text(text: &Option<String>) -> Result<Option<String>, PageError> {
    let t = optional_text(text);
    match t.as_deref().map(crate::review::rules::note) {
        Some(Err(message)) => Err(PageError::new(StatusCode::BAD_REQUEST, message)),
        _ => Ok(t),
    }
}

/// An optional text field of at most `max` characters.
pub fn bounded_text(
    text: &Option<String>,
    max: usize,
    what: &str,
) -> Result<Option<String>, PageError> {
    let t = optional_text(text);
    match &t {
        Some(t) if t.chars().count() > max => Err(PageError::new(
            StatusCode::BAD_REQUEST,
            format!(
                "the {what} is {} characters long; at most {max} are kept: shorten it and send it again",
                t.chars().count()
            ),
        )),
        _ => Ok(t),
    }
}

/// An optional text field: empty or blank means absent.
pub fn optional_text(text: &Option<String>) -> Option<String> {
    text.as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}
