//! The HTTP surface: Leptos pages and server functions, `/api`, probes and the security headers
//! every response carries. `main` and the integration tests both build it from here.

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use leptos_axum::{LeptosRoutes, generate_route_list};
use tower_http::set_header::SetResponseHeaderLayer;
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

pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let frame_ancestors = HeaderValue::from_str(&format!("frame-ancestors {}", state.config.frame_ancestors))
        .unwrap_or_else(|_| HeaderValue::from_static("frame-ancestors 'self'"));
    Router::new()
        .route("/healthz", get(crate::api::health::healthz))
        .route("/readyz", get(crate::api::health::readyz))
        .nest("/api", crate::api::routes())
        .leptos_routes(&state, routes, {
            let options = state.leptos_options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(middleware::from_fn_with_state(state.clone(), authenticate_server_fns))
        .layer(SetResponseHeaderLayer::overriding(header::CONTENT_SECURITY_POLICY, frame_ancestors))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("same-origin")))
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("cache-control"),
            HeaderValue::from_static("no-store"),
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Server functions authenticate before their arguments are parsed: an anonymous or badly signed
/// call to `/rpc/…` ends here with 401, whatever its body. Each function then checks its own
/// permission (read or write) with the same [`crate::auth::authenticate`].
async fn authenticate_server_fns(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if !path.starts_with("/rpc/") {
        return next.run(request).await;
    }
    let path = path.to_string();
    let (parts, body) = request.into_parts();
    if let Err(e) = crate::auth::authenticate(&state, &parts) {
        return e.into_server_fn_response(&path);
    }
    next.run(Request::from_parts(parts, body)).await
}
