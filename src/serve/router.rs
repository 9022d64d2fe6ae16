//! Paths to handlers, the checks every request passes first (its `Host`
//! names this server; a POST comes from this server's pages; bodies are
//! small), and the headers every response carries.

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use super::bind::same_origin;
use super::handlers::{assets, campaign, eval, item, queue, session};
use super::{AppState, CSP};

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/", get(|| async { Redirect::to("/queue") }))
        .route("/queue", get(queue::queue))
        .route("/history", get(queue::history))
        .route("/items/{id}", get(item::item))
        .route("/items/{id}/decide", post(item::decide))
        .route("/campaigns", get(campaign::campaigns))
        .route("/campaigns/{id}", get(campaign::campaign))
        .route("/evals", get(eval::evals))
        .route("/evals/{id}", get(eval::eval_run))
        .route("/login", get(session::login_form).post(session::login))
        .route("/logout", post(session::logout))
        .route("/static/keys.js", get(assets::keys_js))
        .route("/static/style.css", get(assets::style_css))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::from_fn_with_state(state.clone(), this_server))
        .layer(middleware::from_fn(security_headers))
        .with_state(state)
}

/// The largest form accepted (three notes at their longest, encoded, fit).
pub const MAX_BODY: usize = 64 * 1024;

/// Refuse a request that does not name this server (DNS rebinding: a page
/// on another domain whose name now points here still sends its own name),
/// and a POST whose `Origin` (else `Referer`) is not a page of this server.
async fn this_server(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| request.uri().authority().map(|a| a.as_str()))
        .unwrap_or("")
        .to_owned();
    if !state.hosts.allows(&host) {
        return (
            StatusCode::MISDIRECTED_REQUEST,
            "this server answers only to its own address and localhost (Host header refused); to reach it under another name, start it with --allowed-host NAME",
        )
            .into_response();
    }
    if request.method() == Method::POST {
        let get = |name| {
            request
                .headers()
                .get(name)
                .map(|v| v.to_str().unwrap_or("\u{0}"))
        };
        if !same_origin(get(header::ORIGIN), get(header::REFERER), &host) {
            return (
                StatusCode::FORBIDDEN,
                "this form was not sent from a page of this server (Origin/Referer refused): open the page from the server's own address and submit it again",
            )
                .into_response();
        }
    }
    next.run(request).await
}

async fn not_found() -> Response {
    (
        axum::http::StatusCode::NOT_FOUND,
        "no such page (start at /queue)",
    )
        .into_response()
}

async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        // Not `no-referrer`: with it a browser sends `Origin: null` even on
        // this server's own forms, and the origin check needs their origin.
        // Other sites still learn nothing.
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
