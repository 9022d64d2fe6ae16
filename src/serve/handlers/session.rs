//! Signing in (with `--auth-token-file`): a reviewer gives a name and the
//! token; the name becomes the reviewer of their decisions. Attempts are
//! rationed per client address, so the token cannot be guessed by trying.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::reviewer_name;
use crate::serve::bind::same_secret;
use crate::serve::{AppState, PageError, set_cookie};

pub async fn login_form(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let viewer = match state.viewer(&headers, false) {
        Ok(v) => v,
        Err(r) => return r,
    };
    state.page(
        StatusCode::OK,
        "login.html",
        &viewer,
        minijinja::context! { notice => None::<String> },
    )
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    csrf: Option<String>,
    name: Option<String>,
    token: Option<String>,
}

pub async fn login(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let viewer = match state.viewer(&headers, false) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let fail = |status, message: &str| {
        state.page(
            status,
            "login.html",
            &viewer,
            minijinja::context! { notice => message },
        )
    };
    if viewer.new_session
        || !state
            .sessions
            .csrf_ok(&viewer.session, form.csrf.as_deref().unwrap_or(""))
    {
        return fail(
            StatusCode::FORBIDDEN,
            "the form's CSRF token is missing or stale: reload this page and sign in again",
        );
    }
    let Some(expected) = &state.token else {
        return state.error_page(
            PageError {
                viewer: Some(viewer.clone()),
                ..PageError::new(
                    StatusCode::NOT_FOUND,
                    "this server runs without --auth-token-file: there is nothing to sign in to",
                )
            },
            &headers,
        );
    };
    if let Err(wait) = state.sessions.attempt(peer.ip()) {
        let mut response = fail(
            StatusCode::TOO_MANY_REQUESTS,
            &format!(
                "too many sign-in attempts from your address: wait {wait} seconds and try again"
            ),
        );
        if let Ok(v) = wait.to_string().parse() {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, v);
        }
        return response;
    }
    let name = match reviewer_name(&form.name) {
        Ok(n) => n,
        Err(why) => {
            return fail(
                StatusCode::BAD_REQUEST,
                &format!("{why}; it is recorded with your decisions"),
            );
        }
    };
    // The token is short; a longer field is no token of ours.
    let given = form.token.as_deref().unwrap_or("");
    if given.len() > 1024 || !same_secret(expected, given.trim()) {
        return fail(StatusCode::FORBIDDEN, "wrong token");
    }
    let session = state.sessions.sign_in(&viewer.session, &name);
    let mut response = Redirect::to("/queue").into_response();
    set_cookie(&mut response, &session, true, viewer.secure);
    response
}

pub async fn logout(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let viewer = match state.viewer(&headers, false) {
        Ok(v) => v,
        Err(r) => return r,
    };
    if !state
        .sessions
        .csrf_ok(&viewer.session, form.csrf.as_deref().unwrap_or(""))
    {
        return state.error_page(
            PageError {
                viewer: Some(viewer.clone()),
                ..PageError::new(StatusCode::FORBIDDEN, "the form's CSRF token is missing")
            },
            &headers,
        );
    }
    state.sessions.sign_out(&viewer.session);
    Redirect::to("/login").into_response()
}
