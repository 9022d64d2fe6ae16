//! The queue page (filters by status, campaign and task; each line made by
//! [`crate::review::summarize`], as `review list` makes them, over one page
//! read from the store) and the history of decisions, newest first.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use super::{MAX_FILTER, bounded_text, optional_id, optional_text};
use crate::review::{self, ItemStatus};
use crate::serve::{AppState, PageError};
use crate::store::{ReviewFilter, ReviewPage};

/// Rows per queue page.
pub const PAGE: usize = 100;

#[derive(Debug, Deserialize)]
pub struct QueueQuery {
    status: Option<String>,
    campaign: Option<String>,
    task: Option<String>,
    page: Option<String>,
}

pub async fn queue(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Query<QueueQuery>,
) -> Response {
    let viewer = match state.viewer(&headers, true) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let result = async {
        let status = match optional_text(&q.status) {
            None => None,
            Some(s) => Some(s.parse::<ItemStatus>().map_err(|_| {
                PageError::new(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "unknown status {s:?}; one of {}",
                        ItemStatus::NAMES.join(", ")
                    ),
                )
            })?),
        };
        let filter = ReviewFilter {
            status,
            campaign: optional_id(&q.campaign, "campaign")?,
            task: bounded_text(&q.task, MAX_FILTER, "task filter")?,
        };
        let page = optional_id(&q.page, "page")?
            .unwrap_or(1)
            .clamp(1, i64::MAX / PAGE as i64);
        // One page from the store (a queue of 10,000 is not read whole per
        // view); each line made by the function behind `review list`.
        let ReviewPage { items: rows, total } = state
            .store
            .review_items_page(&filter, PAGE as i64, (page - 1) * PAGE as i64)
            .await?;
        let now = review::now_secs();
        let shown: Vec<_> = rows.iter().map(|r| review::summarize(r, now)).collect();
        let total = total as usize;
        let pages = total.div_ceil(PAGE).max(1);
        let campaigns = state.store.campaigns().await?;
        Ok(minijinja::context! {
            items => shown,
            total => total,
            page => page,
            pages => pages,
            statuses => ItemStatus::NAMES,
            campaigns => campaigns.iter().map(|c| (c.id, c.name.clone())).collect::<Vec<_>>(),
            filter => minijinja::context! {
                status => status.map(ItemStatus::as_str).unwrap_or_default(),
                campaign => filter.campaign.map(|c| c.to_string()).unwrap_or_default(),
                task => filter.task.clone().unwrap_or_default(),
            },
        })
    }
    .await;
    match result {
        Ok(ctx) => state.page(StatusCode::OK, "queue.html", &viewer, ctx),
        Err(err) => state.error_page(
            PageError {
                viewer: Some(viewer),
                ..err
            },
            &headers,
        ),
    }
}

/// Decisions shown in the history view.
const HISTORY: i64 = 500;

pub async fn history(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let viewer = match state.viewer(&headers, true) {
        Ok(v) => v,
        Err(r) => return r,
    };
    match state.store.decision_history(HISTORY).await {
        Ok(rows) => state.page(
            StatusCode::OK,
            "history.html",
            &viewer,
            minijinja::context! { decisions => rows, limit => HISTORY },
        ),
        Err(err) => state.error_page(
            PageError {
                viewer: Some(viewer),
                ..err.into()
            },
            &headers,
        ),
    }
}
