//! The HTTP surface: Leptos pages and server functions, `/api`, probes and the security headers
//! every response carries. `main` and the integration tests both build it from here.

use axum::Router;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware;
use axum::routing::{get, post};
use leptos_axum::{LeptosRoutes, generate_route_list};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::app::{App, shell};
use crate::state::AppState;

/// Tasks every instance runs beside the HTTP server; they stop when `stop` turns true.
pub fn spawn_background(
    state: &AppState,
    stop: tokio::sync::watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks = vec![tokio::spawn(crate::cache::counters::run_flusher(state.clone(), stop.clone()))];
    if state.config.workers_enabled {
        tasks.push(tokio::spawn(crate::jobs::worker::run(state.clone(), stop.clone())));
    }
    // Build the source list (and the demo database on first start) before the first page needs it.
    let warm_catalog = state.clone();
    tasks.push(tokio::spawn(async move {
        if let Err(e) = warm_catalog.catalog.entries().await {
            tracing::warn!(error = %e.message, "data sources are not available yet");
        }
    }));
    tasks
}

/// The largest request body accepted (server function arguments, REST JSON, the hand-off form):
/// refused with 413 before anything reads it.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    Router::new()
        .route("/healthz", get(crate::api::health::healthz))
        .route("/readyz", get(crate::api::health::readyz))
        .route("/auth/handoff", post(crate::auth::handoff::handoff))
        .route("/auth/logout", post(crate::auth::handoff::logout))
        .route("/auth/signed-out", get(crate::auth::handoff::signed_out))
        .nest("/api", crate::api::routes())
        .leptos_routes_with_context(&state, routes, provide_request_nonce, {
            let options = state.leptos_options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context::<AppState, _>(provide_request_nonce, shell))
        .layer(middleware::from_fn_with_state(state.clone(), crate::auth::guard::guard))
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, state.config.request_timeout))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("same-origin")))
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("cache-control"),
            HeaderValue::from_static("no-store"),
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Page renders use the nonce the guard put in the CSP header for this request.
fn provide_request_nonce() {
    use leptos::prelude::{provide_context, use_context};
    if let Some(parts) = use_context::<http::request::Parts>()
        && let Some(nonce) = parts.extensions.get::<crate::auth::guard::CspNonce>()
    {
        provide_context(leptos::nonce::Nonce::from_value(nonce.0.clone()));
    }
}
