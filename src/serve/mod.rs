//! `bootforge serve`: the review queue in a browser. An axum
//! server over the same store and the same review functions as `bootforge
//! review` ([`crate::review::list`], [`crate::review::show`],
//! [`crate::review::decide`] and its refusal rules), rendering HTML from
//! minijinja templates embedded from `templates/` with autoescape on; it
//! also shows `eval` runs ([`crate::eval::load_report`], read-only).
//!
//! Everything shown comes from models and guests and is treated as hostile:
//! every value is escaped by the templates and has its hidden characters
//! (bidi controls, invisibles, control characters) written out by
//! [`crate::text::visible`], lines holding them marked; every response
//! carries a strict Content-Security-Policy (no inline script, only
//! `/static/keys.js`); every request must name this server in its `Host` and
//! every POST must come from its pages and carry the session's CSRF token;
//! binding to anything but loopback needs `--auth-token-file` and a TLS proxy
//! ([`bind`]). Internal errors are logged, never shown. Layout: `router`
//! maps paths to one handler module per resource under `handlers`; state is
//! one [`AppState`]; pure pieces (diff, per-generation table,
//! sessions, bind and host rules) sit in their own files with unit tests.

pub mod bind;
pub mod diff;
mod handlers;
mod router;
pub mod session;
pub mod table;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use minijinja::{AutoEscape, Environment, HtmlEscape, Value};
use serde::Serialize;

use crate::sandbox::Sandbox;
use crate::store::Store;
use crate::text::{hidden, visible};

/// How the server runs.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub bind: SocketAddr,
    /// With a token, reviewers sign in with their name and it.
    pub token: Option<String>,
    /// The reviewer name offered on decision forms when nobody signs in.
    pub default_reviewer: Option<String>,
    /// Host names the server answers to besides its address and `localhost`.
    pub allowed_hosts: Vec<String>,
    /// A TLS-terminating proxy is in front: cookies are `Secure`.
    pub behind_tls_proxy: bool,
    /// How long a sign-in lasts.
    pub session_ttl: Duration,
}

/// Everything a handler needs.
pub struct AppState {
    pub store: Store,
    pub sandbox: Sandbox,
    pub templates: Environment<'static>,
    pub sessions: session::Sessions,
    pub token: Option<String>,
    pub default_reviewer: Option<String>,
    pub hosts: bind::AllowedHosts,
    pub behind_tls_proxy: bool,
}

/// The templates, embedded.
const TEMPLATES: [(&str, &str); 10] = [
    ("base.html", include_str!("templates/base.html")),
    ("queue.html", include_str!("templates/queue.html")),
    ("history.html", include_str!("templates/history.html")),
    ("item.html", include_str!("templates/item.html")),
    ("campaigns.html", include_str!("templates/campaigns.html")),
    ("campaign.html", include_str!("templates/campaign.html")),
    ("login.html", include_str!("templates/login.html")),
    ("message.html", include_str!("templates/message.html")),
    ("evals.html", include_str!("templates/evals.html")),
    ("eval.html", include_str!("templates/eval.html")),
];

/// The template environment: every template escapes HTML, and every
/// string printed has its hidden characters made [`visible`] (so no
/// template can forget it); the `marked` filter also marks the lines that
/// held them.
pub fn templates() -> Result<Environment<'static>> {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.set_formatter(|out, state, value| {
        if !value.is_safe()
            && let Some(text) = value.as_str()
            && let std::borrow::Cow::Owned(shown) = visible(text)
        {
            return minijinja::escape_formatter(out, state, &Value::from(shown));
        }
        minijinja::escape_formatter(out, state, value)
    });
    env.add_filter("marked", marked);
    for (name, source) in TEMPLATES {
        env.add_template(name, source)
            .with_context(|| format!("template {name}"))?;
    }
    Ok(env)
}

/// The `marked` filter: `text` escaped, its hidden characters written out,
/// and each line that held one wrapped in `<mark class="hidden-chars">`
/// (the page's stylesheet outlines it), so a reader sees at once that the
/// line's code is not what it would look like in an editor.
fn marked(value: Value) -> Value {
    if value.is_none() || value.is_undefined() {
        return Value::from_safe_string(String::new());
    }
    let text = value.to_string();
    let mut html = String::with_capacity(text.len() + 16);
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            html.push('\n');
        }
        if line.chars().any(hidden) {
            html.push_str(&format!(
                "<mark class=\"hidden-chars\" title=\"this line holds invisible or direction-changing characters, written here as \\u escapes\">{}</mark>",
                HtmlEscape(&visible(line))
            ));
        } else {
            html.push_str(&HtmlEscape(line).to_string());
        }
    }
    Value::from_safe_string(html)
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
    /// The page was reached over TLS: cookies are `Secure`.
    #[serde(skip)]
    pub secure: bool,
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

/// What a page says of an internal error; the error itself (SQL text,
/// paths) goes to the server's log, not to whoever asked.
pub const INTERNAL: &str = "something went wrong inside the server (the details are in its log); try again, and tell whoever runs it if this persists";

impl From<anyhow::Error> for PageError {
    fn from(err: anyhow::Error) -> Self {
        tracing::error!(error = %visible(&format!("{err:#}")), "serving a page");
        PageError::new(StatusCode::INTERNAL_SERVER_ERROR, INTERNAL)
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
        let secure = self.behind_tls_proxy || forwarded_https(headers);
        if auth && need_sign_in && name.is_none() {
            let mut response = Redirect::to("/login").into_response();
            set_cookie(&mut response, &session, new_session, secure);
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
            secure,
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
            Err(err) => {
                tracing::error!(error = %visible(&format!("{err:#}")), template, "rendering a page");
                (StatusCode::INTERNAL_SERVER_ERROR, INTERNAL).into_response()
            }
        };
        set_cookie(
            &mut response,
            &viewer.session,
            viewer.new_session,
            viewer.secure,
        );
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

/// Whether a proxy in front says the browser came over TLS. Trusted for
/// the `Secure` flag only: a client that lies gets a cookie its own
/// plain-HTTP browser will not send back, which hurts nobody else.
fn forwarded_https(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"))
}

/// Set the session cookie on a response when the session is new; `Secure`
/// when the page was reached over TLS.
pub fn set_cookie(response: &mut Response, session: &str, new: bool, secure: bool) {
    if !new {
        return;
    }
    if let Ok(value) = HeaderValue::from_str(&format!(
        "{}={session}; Path=/; HttpOnly; SameSite=Strict{}",
        session::COOKIE,
        if secure { "; Secure" } else { "" }
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
    bind::check_bind(
        &options.bind,
        options.token.is_some(),
        options.behind_tls_proxy,
    )
    .map_err(anyhow::Error::msg)?;
    let state = Arc::new(AppState {
        store,
        sandbox,
        templates: templates()?,
        sessions: session::Sessions::new(options.session_ttl),
        token: options.token,
        default_reviewer: options.default_reviewer,
        hosts: bind::AllowedHosts {
            bound: options.bind.ip(),
            names: options.allowed_hosts,
        },
        behind_tls_proxy: options.behind_tls_proxy,
    });
    let listener = tokio::net::TcpListener::bind(options.bind)
        .await
        .with_context(|| format!("binding {}", options.bind))?;
    on_bound(listener.local_addr()?);
    // The peer's address rations sign-in attempts per client.
    axum::serve(
        listener,
        router::router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await
    .context("serving")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::templates;

    #[test]
    fn every_printed_string_shows_its_hidden_characters_and_marked_lines_say_so() {
        let env = templates().unwrap();
        let render =
            |src: &str, v: &str| env.render_str(src, minijinja::context! { v => v }).unwrap();
        let trojan = "ok\n# \u{202e} }if solution == 4242 {\u{2066}\nend <b>";
        let plain = render("{{ v }}", trojan);
        assert!(!plain.contains('\u{202e}') && !plain.contains('\u{2066}'));
        assert!(
            plain.contains("\\u202e") && plain.contains("&lt;b&gt;"),
            "{plain}"
        );
        assert!(
            !plain.contains("<mark"),
            "no markup where an attribute may be"
        );
        let marked = render("{{ v | marked }}", trojan);
        assert_eq!(marked.matches("<mark class=\"hidden-chars\"").count(), 1);
        assert!(
            marked.starts_with("ok\n<mark") && marked.ends_with("</mark>\nend &lt;b&gt;"),
            "{marked}"
        );
        assert_eq!(render("{{ v | marked }}", "a <i>"), "a &lt;i&gt;");
        assert_eq!(
            env.render_str("{{ none | marked }}", minijinja::context! {})
                .unwrap(),
            ""
        );
    }
}
