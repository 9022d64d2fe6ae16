//! Signing in (with `--auth-token-file`): a reviewer gives a name and the
//! token; the name becomes the reviewer of their decisions.

use std::sync::Arc;

use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::optional_text;
use crate::serve::bind::same_secret;
use crate::serve::{AppState, PageError, set_cookie};

/// Longest reviewer name accepted.
const MAX_NAME: usize = 80;

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
    let name = optional_text(&form.name)
        .filter(|n| n.chars().count() <= MAX_NAME && !n.chars().any(|c| c.is_control()));
    let Some(name) = name else {
        return fail(
            StatusCode::BAD_REQUEST,
            "give your name (at most 80 characters): it is recorded with your decisions",
        );
    };
    if !same_secret(expected, form.token.as_deref().unwrap_or("").trim()) {
        return fail(StatusCode::FORBIDDEN, "wrong token");
    }
    let session = state.sessions.sign_in(&viewer.session, &name);
    let mut response = Redirect::to("/queue").into_response();
    set_cookie(&mut response, &session, true);
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
