//! `bootforge serve` (issue 10): the review queue in a browser. An axum
//! server over the same store and the same review functions as `bootforge
//! review` ([`crate::review::list`], [`crate::review::show`],
//! [`crate::review::decide`] and its refusal rules), rendering HTML from
//! minijinja templates embedded from `templates/` with autoescape on.
//!
//! Everything shown comes from models and guests and is treated as hostile:
//! every value is escaped by the templates, every response carries a strict
//! Content-Security-Policy (no inline script, only `/static/keys.js`), every
//! POST needs the session's CSRF token, and binding to anything but loopback
//! needs `--auth-token-file` ([`bind`]). Layout: `router` maps paths to
//! one handler module per resource under `handlers`; state is one
//! [`AppState`]; pure pieces (diff, lineage tree, per-generation table,
//! sessions) sit in their own files with unit tests.

pub mod bind;
pub mod diff;
mod handlers;
pub mod lineage;
mod router;
pub mod session;
pub mod table;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use minijinja::{AutoEscape, Environment};
use serde::Serialize;

use crate::sandbox::Sandbox;
use crate::store::Store;

/// How the server runs.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub bind: SocketAddr,
    /// With a token, reviewers sign in with their name and it.
    pub token: Option<String>,
    /// The reviewer name offered on decision forms when nobody signs in.
    pub default_reviewer: Option<String>,
}

/// Everything a handler needs.
pub struct AppState {
    pub store: Store,
    pub sandbox: Sandbox,
    pub templates: Environment<'static>,
    pub sessions: session::Sessions,
    pub token: Option<String>,
    pub default_reviewer: Option<String>,
}

/// The templates, embedded.
const TEMPLATES: [(&str, &str); 8] = [
    ("base.html", include_str!("templates/base.html")),
    ("queue.html", include_str!("templates/queue.html")),
    ("history.html", include_str!("templates/history.html")),
    ("item.html", include_str!("templates/item.html")),
    ("campaigns.html", include_str!("templates/campaigns.html")),
    ("campaign.html", include_str!("templates/campaign.html")),
    ("login.html", include_str!("templates/login.html")),
    ("message.html", include_str!("templates/message.html")),
];

/// The template environment: every template escapes HTML.
pub fn templates() -> Result<Environment<'static>> {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    for (name, source) in TEMPLATES {
        env.add_template(name, source)
            .with_context(|| format!("template {name}"))?;
    }
    Ok(env)
}

/// Who is looking: the session, its reviewer and its CSRF token.
#[derive(Debug, Clone, Serialize)]
pub struct Viewer {
    #[serde(skip)]
    pub session: String,
    #[serde(skip)]
    pub new_session: bool,
    /// Signed in (with a token) or offered as the default.
    pub reviewer: Option<String>,
    pub signed_in: bool,
    pub auth: bool,
    pub csrf: String,
}

/// A page that could not be shown, with its status.
pub struct PageError {
    pub status: StatusCode,
    pub message: String,
    pub viewer: Option<Viewer>,
}

impl PageError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        PageError {
            status,
            message: message.into(),
            viewer: None,
        }
    }
}

impl From<anyhow::Error> for PageError {
    fn from(err: anyhow::Error) -> Self {
        let message = err
            .chain()
            .map(|c| c.to_string())
            .collect::<Vec<_>>()
            .join(": ");
        PageError::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }
}

impl AppState {
    /// The viewer of a request; with a token, a visitor not signed in is
    /// sent to the sign-in page.
    // The error is the redirect, returned as it is by the handler at once.
    #[allow(clippy::result_large_err)]
    pub fn viewer(&self, headers: &HeaderMap, need_sign_in: bool) -> Result<Viewer, Response> {
        let cookie = headers
            .get(header::COOKIE)
            .and_then(|v| v.to_str().ok())
            .and_then(session::cookie_value);
        let (session, name, new_session) = self.sessions.resolve(cookie);
        let auth = self.token.is_some();
        if auth && need_sign_in && name.is_none() {
            let mut response = Redirect::to("/login").into_response();
            set_cookie(&mut response, &session, new_session);
            return Err(response);
        }
        Ok(Viewer {
            csrf: self.sessions.csrf(&session),
            signed_in: name.is_some(),
            reviewer: name.or_else(|| {
                if auth {
                    None
                } else {
                    self.default_reviewer.clone()
                }
            }),
            auth,
            session,
            new_session,
        })
    }

    /// Render `template` with `context` (plus the viewer) as a response.
    pub fn page(
        &self,
        status: StatusCode,
        template: &str,
        viewer: &Viewer,
        context: minijinja::Value,
    ) -> Response {
        let ctx = minijinja::context! { viewer => viewer, ..context };
        let body = self
            .templates
            .get_template(template)
            .and_then(|t| t.render(ctx));
        let mut response = match body {
            Ok(html) => (status, Html(html)).into_response(),
            Err(err) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("rendering {template}: {err:#}"),
            )
                .into_response(),
        };
        set_cookie(&mut response, &viewer.session, viewer.new_session);
        response
    }

    /// An error page.
    pub fn error_page(&self, err: PageError, headers: &HeaderMap) -> Response {
        let viewer = match err.viewer {
            Some(v) => v,
            None => match self.viewer(headers, false) {
                Ok(v) => v,
                Err(r) => return r,
            },
        };
        self.page(
            err.status,
            "message.html",
            &viewer,
            minijinja::context! { title => err.status.canonical_reason().unwrap_or("error"), message => err.message, error => true },
        )
    }
}

/// Set the session cookie on a response when the session is new.
pub fn set_cookie(response: &mut Response, session: &str, new: bool) {
    if !new {
        return;
    }
    if let Ok(value) = HeaderValue::from_str(&format!(
        "{}={session}; Path=/; HttpOnly; SameSite=Strict",
        session::COOKIE
    )) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

/// The Content-Security-Policy of every response: nothing but this
/// server's own script and stylesheet, no inline script or style, no
/// frames, forms only to this server.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Set up the state and serve until the process ends. `on_bound` sees the
/// address actually bound (port 0 picks a free one).
pub async fn run(
    store: Store,
    sandbox: Sandbox,
    options: ServeOptions,
    on_bound: impl FnOnce(SocketAddr),
) -> Result<()> {
    bind::check_bind(&options.bind, options.token.is_some()).map_err(anyhow::Error::msg)?;
    let state = Arc::new(AppState {
        store,
        sandbox,
        templates: templates()?,
        sessions: session::Sessions::new(),
        token: options.token,
        default_reviewer: options.default_reviewer,
    });
    let listener = tokio::net::TcpListener::bind(options.bind)
        .await
        .with_context(|| format!("binding {}", options.bind))?;
    on_bound(listener.local_addr()?);
    axum::serve(listener, router::router(state))
        .await
        .context("serving")?;
    Ok(())
}
