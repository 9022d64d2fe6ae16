//! Campaign pages: the list, and one campaign's per-generation table.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use crate::serve::table::{generation_table, stage_names};
use crate::serve::{AppState, PageError};

pub async fn campaigns(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let viewer = match state.viewer(&headers, true) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let result: Result<_, PageError> = async {
        let mut rows = Vec::new();
        for c in state.store.campaigns().await? {
            let counts = state.store.counts(c.id).await?;
            let usage = state.store.usage(c.id).await?;
            rows.push(minijinja::context! {
                id => c.id, name => c.name, status => c.status, created_at => c.created_at,
                drafts => counts.drafts, evaluated => counts.evaluated, accepted => counts.accepted,
                calls => usage.llm_calls, tokens => usage.tokens,
            });
        }
        Ok(minijinja::context! { campaigns => rows })
    }
    .await;
    match result {
        Ok(ctx) => state.page(StatusCode::OK, "campaigns.html", &viewer, ctx),
        Err(err) => state.error_page(
            PageError {
                viewer: Some(viewer),
                ..err
            },
            &headers,
        ),
    }
}

pub async fn campaign(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Response {
    let viewer = match state.viewer(&headers, true) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let result: Result<_, PageError> = async {
        let Some(c) = state.store.campaign(id).await? else {
            return Err(PageError::new(
                StatusCode::NOT_FOUND,
                format!("no campaign {id} (see /campaigns)"),
            ));
        };
        let counts = state.store.generation_counts(id).await?;
        let failures = state.store.stage_failures(id).await?;
        let usage = state.store.usage_by_generation(id).await?;
        let (roles, rows) = generation_table(&counts, &failures, &usage);
        let tasks = state.store.tasks(id).await?;
        Ok(minijinja::context! {
            c => c,
            roles => roles,
            rows => rows,
            stages => stage_names(),
            tasks => tasks.iter().map(|t| minijinja::context! {
                id => t.id, status => t.status, accepted_draft => t.accepted_draft,
            }).collect::<Vec<_>>(),
        })
    }
    .await;
    match result {
        Ok(ctx) => state.page(StatusCode::OK, "campaign.html", &viewer, ctx),
        Err(err) => state.error_page(
            PageError {
                viewer: Some(viewer),
                ..err
            },
            &headers,
        ),
    }
}
