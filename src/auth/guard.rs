//! The one middleware every request passes: dev-mode narrowing (loopback peer, loopback Host, no
//! proxy), authentication, cross-origin write refusal for ambient credentials, each server
//! function's permission from [`super::needs::RPC_PERMISSIONS`] and each REST route's from
//! [`crate::api::routes::ROUTES`], and the response's CSP (with the page's script nonce),
//! `Set-Cookie` for an ended session and HSTS behind https.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::jwt::{self, Purpose};
use super::needs::{Needs, find_rpc};
use super::pages::signed_out_page;
use super::{AuthMethod, Principal, RequestMeta, session};
use crate::api;
use crate::config::AuthMode;
use crate::error::AppError;
use crate::model::audit::AuditAction;
use crate::state::AppState;

/// The per-request CSP nonce; the page render puts it on its inline scripts.
#[derive(Debug, Clone)]
pub struct CspNonce(pub String);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Area {
    /// Probes, the favicon, the sign-in endpoints and `/metrics` (which checks its own token):
    /// no caller needed.
    Public,
    /// The bundle's files under `/pkg/`: no caller needed, and no Content-Security-Policy (a
    /// browser applies one only to documents and workers, and a page loads up to fifty of these
    /// files, each of which would carry its 300 bytes).
    Asset,
    Api,
    Rpc,
    /// `/auth/logout`: needs a caller, answers like a page.
    SignOut,
    Page,
}

fn area(path: &str) -> Area {
    if path.starts_with("/api/") || path == "/api" {
        Area::Api
    } else if path.starts_with("/rpc/") {
        Area::Rpc
    } else if path == "/auth/logout" {
        Area::SignOut
    } else if path.starts_with("/pkg/") {
        Area::Asset
    } else if matches!(
        path,
        "/healthz" | "/readyz" | "/metrics" | "/favicon.ico" | "/auth/handoff" | "/auth/signed-out"
    ) {
        Area::Public
    } else {
        Area::Page
    }
}

pub async fn guard(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let nonce = CspNonce(random_token(16));
    let path = request.uri().path().to_string();
    let method = request.method().clone();
    let area = area(&path);
    let mut clear_cookie = false;
    let meta = request_meta(&request);
    request.extensions_mut().insert(meta.clone());
    let mut caller: Option<Principal> = None;
    // Hearth speaks plain HTTP; https is real only at the proxy in front of it.
    let https = request
        .headers()
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"));

    let outcome: Result<(), Refusal> = async {
        if state.config.auth.mode == AuthMode::Dev && !matches!(path.as_str(), "/healthz" | "/readyz") {
            dev_mode_allows(&state, &request).map_err(Refusal::Error)?;
        }
        if matches!(area, Area::Public | Area::Asset) {
            return Ok(());
        }
        let who = match identify(&state, request.headers()).await.map_err(Refusal::Error)? {
            Identified::Caller(who) => Principal { request: meta.clone(), ..who },
            Identified::SessionEnded => {
                clear_cookie = true;
                return Err(Refusal::SignedOut { ended: true });
            }
            Identified::Nobody => return Err(Refusal::SignedOut { ended: false }),
        };
        caller = Some(who.clone());
        if who.method.is_ambient() && !is_safe(request.method()) {
            same_origin(&state, request.headers()).map_err(Refusal::Error)?;
        }
        // The permission from the tables, before a body or query string is read.
        let needs = match area {
            Area::Rpc => {
                find_rpc(&path).map(|spec| spec.needs).ok_or_else(|| AppError::not_found("no such server function"))
            }
            Area::Api => api::routes::find(request.method(), &path)
                .map(|spec| spec.needs)
                .ok_or_else(|| AppError::not_found(api::routes::NO_SUCH_ROUTE)),
            _ => Ok(Needs::Login),
        };
        needs.and_then(|needs| needs.require(&who)).map_err(Refusal::Error)?;
        request.extensions_mut().insert(who);
        Ok(())
    }
    .await;
    // Bodies over the limit are refused here, in the area's own error format (the body-limit
    // layer inside still caps what is read): a declared Content-Length at once, a body sent
    // without one (chunked) while it is read, before anything decodes it.
    let declared =
        request.headers().get(header::CONTENT_LENGTH).map(|v| v.to_str().ok().and_then(|v| v.parse::<u64>().ok()));
    let outcome = match outcome {
        Ok(()) if declared == Some(None) => {
            Err(Refusal::Error(AppError::validation("the Content-Length header is not a number")))
        }
        Ok(()) if declared.flatten().is_some_and(|n| n > crate::server::MAX_BODY_BYTES as u64) => {
            Err(Refusal::Error(body_too_large()))
        }
        Ok(()) if !is_safe(request.method()) && declared.is_none() => {
            let (parts, body) = request.into_parts();
            match axum::body::to_bytes(body, crate::server::MAX_BODY_BYTES).await {
                Ok(bytes) => {
                    request = Request::from_parts(parts, axum::body::Body::from(bytes));
                    Ok(())
                }
                Err(_) => {
                    request = Request::from_parts(parts, axum::body::Body::empty());
                    Err(Refusal::Error(body_too_large()))
                }
            }
        }
        other => other,
    };

    let mut response = match outcome {
        Ok(()) => {
            request.extensions_mut().insert(nonce.clone());
            let limit = state.config.request_timeout;
            match tokio::time::timeout(limit, next.run(request)).await {
                Ok(response) => response,
                Err(_) => refuse(area, &path, request_timed_out(limit)),
            }
        }
        Err(Refusal::SignedOut { ended }) if area == Area::Page || area == Area::SignOut => {
            signed_out_page(&state, ended, StatusCode::UNAUTHORIZED)
        }
        Err(Refusal::SignedOut { ended }) => {
            let message = if ended {
                "your session has ended: open Hearth again from the command center"
            } else {
                "sign in required: send Authorization: Bearer <token>, or open Hearth from the command center"
            };
            refuse(area, &path, AppError::unauthorized(message))
        }
        Err(Refusal::Error(e)) => refuse(area, &path, e),
    };
    if !meta.recorded.load(std::sync::atomic::Ordering::Relaxed) {
        record_unaudited(&state, area, &method, &path, caller.as_ref(), &meta, response.status().as_u16());
    }
    let headers = response.headers_mut();
    if let Ok(id) = HeaderValue::from_str(&meta.id) {
        headers.insert(REQUEST_ID, id);
    }
    if clear_cookie {
        headers.append(header::SET_COOKIE, session_cookie(&state, "", 0));
    }
    if area != Area::Asset
        && let Ok(csp) = HeaderValue::from_str(&content_security_policy(&state, &nonce.0))
    {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    if https && state.config.auth.mode != AuthMode::Dev {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000"));
    }
    response
}

const REQUEST_ID: header::HeaderName = header::HeaderName::from_static("x-request-id");

/// The request's id (the client's `x-request-id` when it is a sane token, else a new one) and
/// where it came from.
fn request_meta(request: &Request) -> RequestMeta {
    let id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        })
        .map(str::to_string)
        .unwrap_or_else(|| random_token(8));
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| peer.ip().to_string())
        .unwrap_or_else(|| "unknown".into());
    // A proxy's claim is recorded as a claim: Hearth cannot check it.
    let forwarded = request
        .headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.chars().filter(|c| !c.is_control()).take(200).collect::<String>());
    let client = match forwarded {
        Some(f) if !f.trim().is_empty() => format!("{} via {peer}", f.trim()),
        _ => peer,
    };
    RequestMeta { id, client, recorded: Default::default() }
}

/// A request no operation recorded: a refusal (401/403/429) of an API call or server function
/// gets its entry here, as does any failure of a route that changes something (a body that
/// would not parse, a timeout) before it reached its operation.
fn record_unaudited(
    state: &AppState,
    area: Area,
    method: &Method,
    path: &str,
    who: Option<&Principal>,
    meta: &RequestMeta,
    status: u16,
) {
    if !matches!(area, Area::Api | Area::Rpc | Area::SignOut) {
        return;
    }
    let action = audit_action_of(method, path);
    let refused = matches!(status, 401 | 403 | 429);
    if !(refused || (action.is_some() && status >= 400)) {
        return;
    }
    let act = super::audit::Act::new(action.unwrap_or(AuditAction::AccessRefused), format!("{method} {path}"));
    let detail = super::audit::Done::detail(match status {
        401 => "not signed in",
        403 => "not allowed",
        429 => "rate limited",
        408 => "no answer within the time limit (an invalidation goes on and is recorded when it ends)",
        _ => "the request failed before it was carried out",
    });
    super::audit::record(state, who, meta, act, status, detail);
}

/// The audit action of the route `method path` names, if it changes something or reads a key.
fn audit_action_of(method: &Method, path: &str) -> Option<AuditAction> {
    if let Some(route) = api::routes::find(method, path) {
        return route.audit;
    }
    // A server function that records one of several actions (by argument) is named by none.
    match find_rpc(path).map(|spec| spec.audit) {
        Some([one]) => Some(*one),
        _ => None,
    }
}

fn body_too_large() -> AppError {
    AppError::new(
        crate::error::ErrorCode::PayloadTooLarge,
        format!("the request body is over {} KiB", crate::server::MAX_BODY_BYTES / 1024),
    )
}

/// A request still running at `HEARTH_REQUEST_TIMEOUT_SECS` is answered in its area's error
/// format, as every other refusal. What it was doing stops, but for a cache invalidation, which
/// goes on to its end (a source half deleted is worse than one deleted late).
fn request_timed_out(limit: std::time::Duration) -> AppError {
    AppError::new(
        crate::error::ErrorCode::RequestTimeout,
        format!(
            "no answer within {} s (HEARTH_REQUEST_TIMEOUT_SECS): a cache invalidation goes on to its end, \
             anything else was stopped; refresh to see where things stand",
            limit.as_secs()
        ),
    )
}

enum Refusal {
    SignedOut { ended: bool },
    Error(AppError),
}

fn refuse(area: Area, path: &str, e: AppError) -> Response {
    match area {
        Area::Rpc => e.into_server_fn_response(path),
        _ => e.into_response(),
    }
}

enum Identified {
    Caller(Principal),
    /// A Hearth session cookie whose session is gone.
    SessionEnded,
    Nobody,
}

/// Bearer first (an API client says exactly who it is), then Hearth's session, then the command
/// center's cookie, then dev mode.
async fn identify(state: &AppState, headers: &HeaderMap) -> Result<Identified, AppError> {
    let auth = &state.config.auth;
    let key = match &auth.mode {
        AuthMode::Dev => None,
        AuthMode::Jwt(key) => Some(key),
    };
    let Some(key) = key else {
        // Dev mode: everyone is the dev admin; credentials change nothing.
        return Ok(Identified::Caller(Principal::dev_admin()));
    };
    // Another scheme (a proxy's Basic auth, say) is not Hearth's: the cookies still count.
    if let Some(token) = bearer_token(headers)? {
        return Ok(Identified::Caller(jwt::verify(token, key, auth, Purpose::Access, AuthMethod::Bearer)?.principal));
    }
    let session_ended = match cookie(headers, session::cookie_name(state)) {
        Some(value) => match session::resume(state, value).await? {
            Some(who) => return Ok(Identified::Caller(who)),
            None => true,
        },
        None => false,
    };
    if let Some(name) = &auth.jwt_cookie
        && let Some(token) = cookie(headers, name)
    {
        return Ok(Identified::Caller(jwt::verify(token, key, auth, Purpose::Access, AuthMethod::Cookie)?.principal));
    }
    Ok(if session_ended { Identified::SessionEnded } else { Identified::Nobody })
}

/// The token of an `Authorization: Bearer` header; `None` without one or with another scheme.
fn bearer_token(headers: &HeaderMap) -> Result<Option<&str>, AppError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else { return Ok(None) };
    let value = value.to_str().map_err(|_| AppError::unauthorized("the Authorization header is not readable text"))?;
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Ok(None);
    }
    if token.trim().is_empty() {
        return Err(AppError::unauthorized("the Authorization header must be `Bearer <token>`"));
    }
    Ok(Some(token.trim()))
}

/// The value of cookie `name` from the `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"'))
}

/// The `Set-Cookie` value of Hearth's session cookie (`max_age` 0 clears it).
pub fn session_cookie(state: &AppState, value: &str, max_age_secs: u64) -> HeaderValue {
    // Secure everywhere: browsers treat http://localhost and 127.0.0.1 as secure contexts.
    let site = if state.config.auth.embed { "SameSite=None; Partitioned" } else { "SameSite=Lax" };
    let path = if state.config.base_path.is_empty() { "/" } else { &state.config.base_path };
    let text = format!(
        "{}={value}; Path={path}; Max-Age={max_age_secs}; HttpOnly; Secure; {site}",
        session::cookie_name(state)
    );
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("__Host-hearth_session=; Max-Age=0"))
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// A state-changing request with ambient credentials must come from Hearth's own pages: by
/// `Sec-Fetch-Site` where the browser sends it, else by `Origin` against the `Host` it was sent
/// to (or a trusted origin). Neither header means no browser made it cross-origin (the approach
/// of Go's `http.CrossOriginProtection`).
fn same_origin(state: &AppState, headers: &HeaderMap) -> Result<(), AppError> {
    let refused = || {
        AppError::forbidden(
            "cross-origin request refused: changes can only be made from Hearth's own pages (or with a bearer token)",
        )
    };
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    if let Some(o) = origin
        && state.config.auth.trusted_origins.iter().any(|t| t == o)
    {
        return Ok(());
    }
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return if matches!(site, "same-origin" | "none") { Ok(()) } else { Err(refused()) };
    }
    match origin {
        Some(o) if !is_own_origin(headers, o) => Err(refused()),
        _ => Ok(()),
    }
}

/// Whether `origin` names the host the request was sent to: Hearth's own pages.
pub fn is_own_origin(headers: &HeaderMap, origin: &str) -> bool {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    origin.split_once("://").is_some_and(|(_, h)| !host.is_empty() && h.eq_ignore_ascii_case(host))
}

/// Dev mode has no login, so it answers only a browser on this machine talking to it directly:
/// a loopback peer, a loopback `Host` for the bound port (no DNS rebinding), no proxy headers.
fn dev_mode_allows(state: &AppState, request: &Request) -> Result<(), AppError> {
    let refused = |why: &str| AppError::forbidden(format!("development mode refuses this request: {why}"));
    for h in ["forwarded", "x-forwarded-for", "x-forwarded-host", "x-real-ip", "via"] {
        if request.headers().contains_key(h) {
            return Err(refused(&format!("it came through a proxy (`{h}`); use HEARTH_AUTH_MODE=jwt behind one")));
        }
    }
    match request.extensions().get::<ConnectInfo<SocketAddr>>() {
        Some(ConnectInfo(peer)) if peer.ip().is_loopback() || is_mapped_loopback(peer) => {}
        Some(ConnectInfo(peer)) => return Err(refused(&format!("{} is not a loopback address", peer.ip()))),
        None => return Err(refused("the peer address is unknown")),
    }
    let host = request.headers().get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    let port = state.config.bind.port();
    let allowed =
        ["localhost", "127.0.0.1", "[::1]"].iter().any(|name| host.eq_ignore_ascii_case(&format!("{name}:{port}")))
            || (port == 80 && ["localhost", "127.0.0.1", "[::1]"].iter().any(|name| host.eq_ignore_ascii_case(name)));
    if !allowed {
        return Err(refused(&format!("Host `{host}` is not this machine's loopback address on port {port}")));
    }
    Ok(())
}

fn is_mapped_loopback(peer: &SocketAddr) -> bool {
    match peer.ip() {
        std::net::IpAddr::V6(v6) => v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
        std::net::IpAddr::V4(_) => false,
    }
}

/// Scripts only from Hearth (its WASM, the inline hydration script by nonce), nothing embedded
/// from elsewhere, and framed only where `HEARTH_FRAME_ANCESTORS` says.
fn content_security_policy(state: &AppState, nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; \
         frame-ancestors {}",
        state.config.frame_ancestors
    )
}

/// Random hex of `bytes` bytes.
pub fn random_token(bytes: usize) -> String {
    (0..bytes).map(|_| format!("{:02x}", rand::random::<u8>())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn areas_put_sign_in_and_assets_outside_authentication() {
        assert_eq!(area("/auth/handoff"), Area::Public);
        assert_eq!(area("/pkg/hearth.wasm"), Area::Asset);
        assert_eq!(area("/favicon.ico"), Area::Public);
        assert_eq!(area("/auth/logout"), Area::SignOut);
        assert_eq!(area("/rpc/jobs/warm"), Area::Rpc);
        assert_eq!(area("/api/admin/redis/stats"), Area::Api);
        assert_eq!(area("/warming"), Area::Page);
        assert_eq!(area("/pkgx"), Area::Page);
    }

    #[test]
    fn cookies_are_found_by_exact_name() {
        let mut h = HeaderMap::new();
        h.append(header::COOKIE, HeaderValue::from_static("a=1; hearth_session_x=2"));
        h.append(header::COOKIE, HeaderValue::from_static("hearth_session=abc"));
        assert_eq!(cookie(&h, "hearth_session"), Some("abc"));
        assert_eq!(cookie(&h, "a"), Some("1"));
        assert_eq!(cookie(&h, "b"), None);
    }
}
