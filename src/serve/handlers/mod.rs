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

/// Longest reviewer name accepted, in characters.
pub const MAX_NAME: usize = 80;
/// Longest note or reason accepted, in characters.
pub const MAX_NOTE: usize = 4_000;
/// Longest task filter accepted, in characters.
pub const MAX_FILTER: usize = 200;

/// A reviewer's name from a form: trimmed, present, at most [`MAX_NAME`]
/// characters, no control or hidden characters (it is shown beside every
/// decision, and the time and note after it must stay where they are).
pub fn reviewer_name(text: &Option<String>) -> Result<String, String> {
    match optional_text(text) {
        Some(name)
            if name.chars().count() <= MAX_NAME && !name.chars().any(crate::text::hidden) =>
        {
            Ok(name)
        }
        Some(_) => Err(format!(
            "a reviewer's name is at most {MAX_NAME} characters of plain text (no control, invisible or direction-changing characters)"
        )),
        None => Err("say who you are: the reviewer's name is required".into()),
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
