//! Evaluation pages: the runs, and one run's per-task table with its
//! answers and their scores (the same report as `bootforge eval show`).

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use crate::eval;
use crate::serve::{AppState, PageError};

/// The most answers one page lists.
const MAX_ANSWERS: usize = 500;
/// The most characters of an answer shown.
const MAX_ANSWER_CHARS: usize = 4_000;

pub async fn evals(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let viewer = match state.viewer(&headers, true) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let result: Result<_, PageError> = async {
        let mut rows = Vec::new();
        for run in state.store.eval_runs().await? {
            let Some(report) = eval::load_report(&state.store, run.id).await? else {
                continue;
            };
            let model = serde_json::from_str::<eval::RunConfig>(&run.config_json)
                .map(|c| c.model)
                .unwrap_or_default();
            rows.push(minijinja::context! {
                id => run.id, name => run.name, model => model, status => run.status,
                created_at => run.created_at, tasks => report.overall.tasks,
                answers => report.overall.answers, excluded => report.excluded.len(),
                accuracy => report.overall.task_mean_accuracy,
            });
        }
        Ok(minijinja::context! { runs => rows })
    }
    .await;
    match result {
        Ok(ctx) => state.page(StatusCode::OK, "evals.html", &viewer, ctx),
        Err(err) => state.error_page(
            PageError {
                viewer: Some(viewer),
                ..err
            },
            &headers,
        ),
    }
}

#[derive(Debug, Deserialize)]
pub struct EvalQuery {
    task: Option<String>,
}

pub async fn eval_run(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Query(query): Query<EvalQuery>,
) -> Response {
    let viewer = match state.viewer(&headers, true) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let result: Result<_, PageError> = async {
        let Some(report) = eval::load_report(&state.store, id).await? else {
            return Err(PageError::new(
                StatusCode::NOT_FOUND,
                format!("no eval run {id} (see /evals)"),
            ));
        };
        let task = super::optional_text(&query.task);
        let records = state.store.eval_records(id).await?;
        let answers = state.store.eval_answers(id).await?;
        let mut shown = Vec::new();
        let mut matching = 0;
        for a in &answers {
            let Some(record) = records.get(a.idx as usize) else {
                continue;
            };
            if task.as_deref().is_some_and(|t| t != record.data_source) {
                continue;
            }
            matching += 1;
            if shown.len() >= MAX_ANSWERS {
                continue;
            }
            let text = eval::synth::assistant_text(a);
            let clipped: String = text.chars().take(MAX_ANSWER_CHARS).collect();
            shown.push(minijinja::context! {
                idx => a.idx, sample => a.sample, data_source => record.data_source,
                prompt => record.prompt.chars().take(MAX_ANSWER_CHARS).collect::<String>(),
                answer => clipped, clipped => text.chars().count() > MAX_ANSWER_CHARS,
                score => a.score, error_kind => a.error_kind, error => a.error,
                call_error => a.call_error.as_deref().map(|e| e.chars().take(MAX_ANSWER_CHARS).collect::<String>()),
                completion_tokens => a.completion_tokens, finish_reason => a.finish_reason,
            });
        }
        Ok(minijinja::context! {
            r => report, answers => shown, matching => matching,
            max_answers => MAX_ANSWERS, task => task,
        })
    }
    .await;
    match result {
        Ok(ctx) => state.page(StatusCode::OK, "eval.html", &viewer, ctx),
        Err(err) => state.error_page(
            PageError {
                viewer: Some(viewer),
                ..err
            },
            &headers,
        ),
    }
}
