//! Signing in and out in a browser. The command center POSTs a short-lived, single-use token
//! (form field `token`) to `/auth/handoff`, usually into an iframe; Hearth answers with a session
//! cookie and a 303 to the console. The token never appears in a URL.

use axum::Form;
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::audit::{self, Act, Done};
use super::guard::session_cookie;
use super::jwt::{self, Purpose};
use super::pages::{page, signed_out_page};
use super::{AuthMethod, Principal, RequestMeta, session};
use crate::config::AuthMode;
use crate::model::audit::AuditAction;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct HandoffForm {
    #[serde(default)]
    token: String,
    /// `1` for the embed layout (the console inside the command center's page).
    #[serde(default)]
    embed: Option<String>,
}

fn refused(state: &AppState, status: StatusCode, why: &str) -> Response {
    page(
        &state.config.base_path,
        status,
        "Hearth could not sign you in",
        &format!("{why}. Open Hearth again from the command center."),
        "",
    )
}

/// Exchanges a hand-off token for a session; anyone may call it, the token is the proof. Every
/// attempt is audited, with the user when the token named one.
pub async fn handoff(State(state): State<AppState>, request: Request) -> Response {
    let meta = request.extensions().get::<RequestMeta>().cloned().unwrap_or_default();
    let (response, who, detail) = sign_in(&state, request).await;
    let act = Act::new(AuditAction::SessionSignedIn, "hand-off");
    audit::record(&state, who.as_ref(), &meta, act, response.status().as_u16(), Done::detail(detail));
    response
}

/// What a hand-off answers, who it signed in (or tried to), and what happened in words.
async fn sign_in(state: &AppState, request: Request) -> (Response, Option<Principal>, String) {
    let state = state.clone();
    let fail = |state: &AppState, status: StatusCode, why: String, who: Option<Principal>| {
        (refused(state, status, &why), who, why)
    };
    let AuthMode::Jwt(key) = &state.config.auth.mode else {
        return fail(
            &state,
            StatusCode::NOT_FOUND,
            "Hand-off sign-in needs HEARTH_AUTH_MODE=jwt; development mode has no login".into(),
            None,
        );
    };
    if let Err(why) = origin_may_sign_in(&state, request.headers()) {
        tracing::warn!(reason = %why, "hand-off from an origin Hearth does not know refused");
        return fail(&state, StatusCode::FORBIDDEN, why, None);
    }
    // Signing in again replaces the browser's previous session instead of leaving it alive.
    let previous = super::guard::cookie(request.headers(), session::cookie_name(&state)).map(session::sha256_hex);
    let client = request
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|ua| ua.chars().take(160).collect::<String>());
    let form = match Form::<HandoffForm>::from_request(request, &state).await {
        Ok(Form(f)) => f,
        Err(e) => {
            return fail(
                &state,
                StatusCode::BAD_REQUEST,
                format!("The sign-in form was unreadable ({})", e.body_text()),
                None,
            );
        }
    };
    if form.token.is_empty() {
        return fail(&state, StatusCode::BAD_REQUEST, "The sign-in form carried no token".into(), None);
    }
    let verified = match jwt::verify(&form.token, key, &state.config.auth, Purpose::Handoff, AuthMethod::Session) {
        Ok(v) => v,
        Err(e) => {
            tracing::info!(reason = %e.message, "hand-off refused");
            return fail(&state, StatusCode::UNAUTHORIZED, capitalize(&e.message), None);
        }
    };
    let Some(jti) = verified.jti.as_deref() else {
        return fail(&state, StatusCode::UNAUTHORIZED, "The token lacks `jti`".into(), Some(verified.principal));
    };
    match session::claim_jti(&state, jti, verified.exp).await {
        Ok(true) => {}
        Ok(false) => {
            tracing::warn!(user = %verified.principal.id, "hand-off token replayed");
            return fail(
                &state,
                StatusCode::UNAUTHORIZED,
                "This sign-in token was used already".into(),
                Some(verified.principal),
            );
        }
        Err(e) => {
            return fail(
                &state,
                StatusCode::SERVICE_UNAVAILABLE,
                format!("Sign-in is unavailable: {}", e.message),
                Some(verified.principal),
            );
        }
    }
    if let Some(digest) = previous
        && let Err(e) = session::delete(&state, &digest).await
    {
        tracing::warn!(error = %e.message, "could not end the previous session of a browser signing in again");
    }
    let embed = form.embed.as_deref() == Some("1");
    let value = match session::create(&state, &verified.principal, embed, client).await {
        Ok(v) => v,
        Err(e) => {
            return fail(
                &state,
                StatusCode::SERVICE_UNAVAILABLE,
                format!("Sign-in is unavailable: {}", e.message),
                Some(verified.principal),
            );
        }
    };
    tracing::info!(user = %verified.principal.id, embed, "signed in by hand-off");
    let mut response = see_other(&crate::app::page_href(&state.config.base_path, "/"));
    response
        .headers_mut()
        .append(header::SET_COOKIE, session_cookie(&state, &value, state.config.auth.session_max_secs));
    let detail = if embed { "signed in (embedded)" } else { "signed in" };
    (response, Some(verified.principal), detail.into())
}

/// A browser's hand-off must come from Hearth itself, a trusted origin or an origin allowed to
/// frame Hearth (the command center); otherwise any page could sign its visitor in as someone else
/// (login CSRF). No `Origin` at all is a non-browser client, which holds the token anyway.
fn origin_may_sign_in(state: &AppState, headers: &axum::http::HeaderMap) -> Result<(), String> {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else { return Ok(()) };
    let own = super::guard::is_own_origin(headers, origin);
    let config = &state.config;
    let known = config.auth.trusted_origins.iter().any(|t| t == origin)
        || config.frame_ancestors.split_whitespace().any(|a| a == origin);
    if own || known {
        Ok(())
    } else {
        Err(format!(
            "The sign-in came from {origin}, which is not the command center Hearth knows (HEARTH_FRAME_ANCESTORS or HEARTH_TRUSTED_ORIGINS)"
        ))
    }
}

/// Ends the caller's Hearth session (the guard checked it comes from Hearth's own page).
pub async fn logout(State(state): State<AppState>, request: Request) -> Response {
    let who = request.extensions().get::<super::Principal>().cloned();
    if let Some(digest) = who.as_ref().and_then(|w| w.session.clone())
        && let Err(e) = session::delete(&state, &digest).await
    {
        return e.into_response();
    }
    if let Some(who) = &who {
        let act = Act::new(AuditAction::SessionSignedOut, "own session");
        audit::record(&state, Some(who), &who.request, act, 303, Done::detail("signed out"));
    }
    let mut response = see_other(&format!("{}/auth/signed-out", state.config.base_path));
    response.headers_mut().append(header::SET_COOKIE, session_cookie(&state, "", 0));
    response
}

/// Where Sign out lands.
pub async fn signed_out(State(state): State<AppState>) -> Response {
    signed_out_page(&state, true, StatusCode::OK)
}

fn see_other(location: &str) -> Response {
    let location = HeaderValue::from_str(location).unwrap_or_else(|_| HeaderValue::from_static("/"));
    (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}
