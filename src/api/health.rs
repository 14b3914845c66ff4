//! Probes for orchestrators: `/healthz` (the process answers) and `/readyz` (Redis answers).
//! Both are unauthenticated by design and reveal nothing but up/down and a reason.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::json;

use crate::redis_admin::overview;
use crate::state::AppState;

/// Liveness; anyone may call it; changes nothing.
pub async fn healthz() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

/// Readiness: 200 when Redis answers PING, 503 with the reason otherwise; anyone; changes nothing.
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    match overview::ping(&state).await {
        Ok(()) => (StatusCode::OK, Json(json!({ "status": "ready" }))),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "status": "unavailable", "reason": e.message }))),
    }
}
