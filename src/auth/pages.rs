//! The small standalone pages of signing in and out: no scripts, the console's stylesheet, every
//! inserted text escaped.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::format::html_escape;
use crate::state::AppState;

/// The page a browser sees without a session: what happened and where to go.
pub fn signed_out_page(state: &AppState, ended: bool, status: StatusCode) -> Response {
    let headline = if ended { "Your session has ended" } else { "Sign in through the command center" };
    let detail = if ended {
        "Hearth signed you out (the session expired, was revoked, or you signed out). Open Hearth again from the command center."
    } else {
        "Hearth has no sign-in form of its own: open it from the command center's admin page, which signs you in."
    };
    let link = match &state.config.auth.login_url {
        Some(url) => format!(r#"<p><a class="button" href="{}">Open the command center</a></p>"#, html_escape(url)),
        None => String::new(),
    };
    page(&state.config.base_path, status, headline, detail, &link)
}

/// A small standalone HTML page (no scripts) for sign-in outcomes.
pub fn page(base: &str, status: StatusCode, headline: &str, detail: &str, extra_html: &str) -> Response {
    let body = format!(
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Hearth: {h}</title><link rel="stylesheet" href="{base}/pkg/hearth.css"></head><body><main class="signed-out" data-testid="signed-out"><section class="card"><h1>{h}</h1><p>{d}</p>{extra_html}</section></main></body></html>"#,
        h = html_escape(headline),
        d = html_escape(detail),
    );
    (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
}
