//! The HTTP surface: Leptos pages and server functions, `/api`, probes and the security headers
//! every response carries. `main` and the integration tests both build it from here.

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware;
use axum::routing::{get, post};
use leptos_axum::LeptosRoutes;
use tower::ServiceExt;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::app::{App, BasePath, shell};
use crate::state::AppState;

/// Tasks every instance runs beside the HTTP server; they stop when `stop` turns true.
pub fn spawn_background(
    state: &AppState,
    stop: tokio::sync::watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks = vec![tokio::spawn(crate::cache::counters::run_flusher(state.clone(), stop.clone()))];
    if state.config.metrics.enabled() {
        tasks.push(tokio::spawn(crate::metrics::run_upkeep(stop.clone())));
    }
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

/// The whole HTTP surface. Under `HEARTH_BASE_PATH` the pages are routed at their full paths
/// (the Leptos router knows the base), and everything else under the base reaches the routes
/// below with the base taken off.
pub fn router(state: AppState) -> Router {
    let base = state.config.base_path.clone();
    let inner = routes(state);
    if base.is_empty() {
        return inner;
    }
    // The console's home is `/hearth`; `/hearth/` is where people and proxies will send them.
    let home = base.clone();
    Router::new()
        .route(&format!("{base}/"), get(move || async move { axum::response::Redirect::permanent(&home) }))
        .fallback_service(inner.map_request(move |mut request: Request| {
            strip_base(&base, &mut request);
            request
        }))
}

/// Paths under the base that are not pages: served by the routes below as if at the root.
const UNDER_BASE: [&str; 8] = ["/api/", "/rpc/", "/auth/", "/pkg/", "/healthz", "/readyz", "/metrics", "/favicon.ico"];

fn strip_base(base: &str, request: &mut Request) {
    let Some(rest) = request.uri().path().strip_prefix(base) else { return };
    if !UNDER_BASE.iter().any(|p| rest.starts_with(p) || rest == p.trim_end_matches('/')) {
        return;
    }
    let query = request.uri().query().map(|q| format!("?{q}")).unwrap_or_default();
    if let Ok(uri) = format!("{rest}{query}").parse() {
        *request.uri_mut() = uri;
    }
}

/// The page routes for `base`, generated once per process: generating renders the app with
/// resource loading switched off for the whole process (a Leptos global), so a page rendered
/// meanwhile elsewhere would wait forever for its data. Building routers in tests must not do that.
fn page_routes(base: &str) -> Vec<leptos_axum::AxumRouteListing> {
    static GENERATED: std::sync::Mutex<Vec<(String, Vec<leptos_axum::AxumRouteListing>)>> =
        std::sync::Mutex::new(Vec::new());
    let mut generated = GENERATED.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some((_, routes)) = generated.iter().find(|(b, _)| b == base) {
        return routes.clone();
    }
    let context = BasePath(base.to_string());
    let (routes, _) = leptos_axum::generate_route_list_with_exclusions_and_ssg_and_context(App, None, move || {
        leptos::prelude::provide_context(context.clone())
    });
    generated.push((base.to_string(), routes.clone()));
    routes
}

fn routes(state: AppState) -> Router {
    let routes = page_routes(&state.config.base_path);
    Router::new()
        .leptos_routes_with_context(&state, routes, provide_request_context, {
            let options = state.leptos_options.clone();
            move || shell(options.clone())
        })
        // The page routes only (added above); the API, files and probes never render a page.
        .route_layer(middleware::from_fn(render_under_request_owner))
        .route("/healthz", get(crate::api::health::healthz))
        .route("/readyz", get(crate::api::health::readyz))
        .route("/metrics", get(crate::metrics::scrape_with_token))
        .route("/auth/handoff", post(crate::auth::handoff::handoff))
        .route("/auth/logout", post(crate::auth::handoff::logout))
        .route("/auth/signed-out", get(crate::auth::handoff::signed_out))
        .nest("/api", crate::api::routes::router())
        .nest_service("/pkg", pkg_service(&state.leptos_options))
        .fallback(leptos_axum::file_and_error_handler_with_context::<AppState, _>(provide_request_context, shell))
        // Inside the guard, which refuses an oversized body first in the caller's error format.
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(state.clone(), crate::auth::guard::guard))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("same-origin")))
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("cache-control"),
            HeaderValue::from_static("no-store"),
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// What a cache may keep of a bundle file with a content hash in its name: it never changes.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// The JS, WASM and CSS bundle: the br or gzip copy `.ci/build` wrote beside each file when the
/// browser accepts it, and cached for a year when the name carries a content hash. Plain names
/// (`cargo leptos watch`, the signed-out page's stylesheet) are revalidated on every use.
fn pkg_service(options: &leptos::config::LeptosOptions) -> axum::routing::MethodRouter {
    let dir = std::path::Path::new(options.site_root.as_ref()).join(options.site_pkg_dir.as_ref());
    let files = tower_http::services::ServeDir::new(dir).precompressed_br().precompressed_gzip();
    axum::routing::get_service(files).layer(middleware::from_fn(pkg_cache_control))
}

async fn pkg_cache_control(request: Request, next: middleware::Next) -> axum::response::Response {
    let hashed = is_content_hashed(request.uri().path());
    let mut response = next.run(request).await;
    if response.status().is_success() || response.status() == StatusCode::NOT_MODIFIED {
        let value = if hashed { IMMUTABLE } else { "no-cache" };
        response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(value));
        response.headers_mut().insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    response
}

/// `hearth.0123456789abcdef.js` (cargo-leptos and `.ci/build` name files `<name>.<hash>.<ext>`):
/// a middle segment of at least 16 hex digits.
pub fn is_content_hashed(path: &str) -> bool {
    let file = path.rsplit('/').next().unwrap_or_default();
    let parts: Vec<&str> = file.split('.').collect();
    parts.len() >= 3
        && parts[1..parts.len() - 1].iter().any(|p| p.len() >= 16 && p.chars().all(|c| c.is_ascii_hexdigit()))
}

/// Runs as each page render starts, under the render's root owner: the page uses the nonce the
/// guard put in the CSP header for this request, and the root owner is noted for
/// [`render_under_request_owner`].
fn provide_request_context() {
    use leptos::prelude::{provide_context, use_context};
    let Some(parts) = use_context::<http::request::Parts>() else { return };
    if let Some(slot) = parts.extensions.get::<RenderOwner>()
        && let Some(owner) = leptos::prelude::Owner::current()
    {
        let _ = slot.0.set(owner.downgrade());
    }
    if let Some(nonce) = parts.extensions.get::<crate::auth::guard::CspNonce>() {
        provide_context(leptos::nonce::Nonce::from_value(nonce.0.clone()));
    }
}

/// The root reactive owner of the page this request renders, once rendering has begun. Weak: the
/// owner's context holds the request (and so this slot), which must not keep the owner alive.
#[derive(Clone, Default)]
struct RenderOwner(std::sync::Arc<std::sync::OnceLock<leptos::reactive::owner::WeakOwner>>);

/// leptos_axum 0.8 reads the CSP nonce and the page's lazily loaded chunks (which it then
/// preloads) from whichever reactive owner is current on the thread where the render finishes,
/// and a render that waited for Redis may finish on another worker thread than it began: the page
/// then came without its chunk preloads, often (fixed upstream in 0.9 the same way). Every poll
/// after the one in which the render began runs under the request's own root owner here; pages
/// render in `SsrMode::Async` and wait for Redis, so none finishes within that first poll.
async fn render_under_request_owner(mut request: Request, next: middleware::Next) -> axum::response::Response {
    let slot = RenderOwner::default();
    request.extensions_mut().insert(slot.clone());
    let mut response = std::pin::pin!(next.run(request));
    std::future::poll_fn(move |cx| match slot.0.get().and_then(|weak| weak.upgrade()) {
        Some(owner) => owner.with(|| response.as_mut().poll(cx)),
        None => response.as_mut().poll(cx),
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::is_content_hashed;

    #[test]
    fn only_names_with_a_content_hash_are_immutable() {
        assert!(is_content_hashed("/hearth.0123456789abcdef.js"));
        assert!(is_content_hashed("hearth.0123456789abcdef.wasm"));
        assert!(!is_content_hashed("/hearth.js"));
        assert!(!is_content_hashed("/hearth_bg.wasm"));
        assert!(!is_content_hashed("/hearth.beef.css"));
        assert!(!is_content_hashed("/hearth.0123456789abcdefg.css"));
    }
}
