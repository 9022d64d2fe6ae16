//! The reward service over HTTP (axum): `POST /v1/score`, `GET /healthz`,
//! `GET /metrics`. Binding beyond loopback needs a token, by the same rule
//! as `bootforge serve` ([`crate::serve::bind`]); with a token, `/v1/score`
//! and `/metrics` need `Authorization: Bearer TOKEN` (`/healthz` stays open
//! for load balancers).

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use super::Service;
use crate::serve::bind;

/// How the server runs.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    pub bind: SocketAddr,
    pub token: Option<String>,
    /// The largest request body, bytes.
    pub max_body_bytes: usize,
}

struct AppState {
    service: Service,
    token: Option<String>,
}

fn json(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn error(status: StatusCode, message: &str) -> Response {
    json(status, serde_json::json!({ "error": message }).to_string())
}

/// `None` when the request may pass.
fn refuse(state: &AppState, headers: &HeaderMap) -> Option<Response> {
    let token = state.token.as_deref()?;
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    match given {
        Some(given) if bind::same_secret(given, token) => None,
        _ => Some(error(
            StatusCode::UNAUTHORIZED,
            "this service needs `Authorization: Bearer TOKEN` (the token of its --auth-token-file)",
        )),
    }
}

async fn score(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(refused) = refuse(&state, &headers) {
        return refused;
    }
    match state.service.score_body(&body).await {
        Ok(scored) => match serde_json::to_string(&scored) {
            Ok(text) => json(StatusCode::OK, text),
            Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
        },
        Err(message) => error(StatusCode::BAD_REQUEST, &message),
    }
}

async fn healthz(State(state): State<Arc<AppState>>) -> Response {
    json(
        StatusCode::OK,
        serde_json::json!({
            "ok": true,
            "bootcamps": state.service.catalog.len(),
            "workers": state.service.sandbox.workers(),
        })
        .to_string(),
    )
}

async fn metrics(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if let Some(refused) = refuse(&state, &headers) {
        return refused;
    }
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.service.metrics.render(state.service.catalog.len()),
    )
        .into_response()
}

/// Serve until the process ends. `on_bound` sees the address actually
/// bound (port 0 picks a free one).
pub async fn run(
    service: Service,
    options: HttpOptions,
    on_bound: impl FnOnce(SocketAddr),
) -> Result<()> {
    bind::check_bind_for(&options.bind, options.token.is_some(), "reward scores")
        .map_err(anyhow::Error::msg)?;
    let state = Arc::new(AppState {
        service,
        token: options.token,
    });
    let router = Router::new()
        .route("/v1/score", post(score))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .layer(DefaultBodyLimit::max(options.max_body_bytes))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind(options.bind)
        .await
        .with_context(|| format!("binding {}", options.bind))?;
    on_bound(listener.local_addr()?);
    axum::serve(listener, router).await.context("serving")?;
    Ok(())
}
