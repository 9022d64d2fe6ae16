//! The static assets: the keyboard-shortcut script and the stylesheet,
//! vendored here and served from this origin (the CSP allows nothing else).

use axum::http::header;
use axum::response::IntoResponse;

pub async fn keys_js() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("../static/keys.js"),
    )
}

pub async fn style_css() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("../static/style.css"),
    )
}
