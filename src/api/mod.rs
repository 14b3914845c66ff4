//! REST handlers: thin wrappers that authenticate, check the permission, call one service
//! function and wrap its result in the SPEC §3 envelope.

pub mod audit;
pub mod cache;
pub mod health;
pub mod jobs;
pub mod limits;
pub mod params;
pub mod redis;
pub mod sessions;
pub mod sources;

use axum::Json;
use axum::Router;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use serde::Serialize;
use serde_json::json;

use crate::error::AppError;
use crate::state::AppState;

/// The success envelope: `{"success": true, "data": …, "meta": {"timestamp": …}}`.
pub struct Envelope<T>(pub T);

impl<T: Serialize> IntoResponse for Envelope<T> {
    fn into_response(self) -> Response {
        Json(json!({
            "success": true,
            "data": self.0,
            "meta": { "timestamp": crate::time::now_iso() },
        }))
        .into_response()
    }
}

pub type ApiResult<T> = Result<Envelope<T>, AppError>;

/// Everything under `/api`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/redis/stats", get(redis::stats))
        .route("/admin/redis/keys", get(redis::keys))
        .route("/admin/redis/inspect", get(redis::inspect))
        .route("/admin/redis/purge", post(redis::purge))
        .route("/admin/redis/purge/{id}", get(redis::purge_status))
        .route("/admin/redis/purge/{id}/abort", post(redis::purge_abort))
        .route("/admin/redis/ttl", post(redis::ttl))
        .route("/admin/redis/key/ttl", post(redis::key_ttl))
        .route("/admin/redis/key/delete", post(redis::key_delete))
        .route("/admin/analytics/sources", get(sources::list))
        .route("/admin/analytics/cache/stats", get(cache::stats))
        .route("/admin/analytics/cache/health", get(cache::health))
        .route("/admin/analytics/cache/trends", get(cache::trends))
        .route("/admin/analytics/cache/invalidate", post(cache::invalidate))
        .route("/analytics/cache/query", get(cache::cached_query))
        .route("/admin/analytics/cache/warm", post(jobs::warm))
        .route("/admin/analytics/cache/warming/status", get(jobs::status))
        .route("/admin/analytics/cache/warming/settings", get(jobs::get_settings).put(jobs::update_settings))
        .route("/admin/analytics/cache/jobs/{id}", get(jobs::job))
        .route("/admin/analytics/cache/jobs/{id}/pause", post(jobs::pause))
        .route("/admin/analytics/cache/jobs/{id}/resume", post(jobs::resume))
        .route("/admin/analytics/cache/jobs/{id}/cancel", post(jobs::cancel))
        .route("/admin/analytics/cache/schedules", get(jobs::list_schedules).post(jobs::create_schedule))
        .route("/admin/analytics/cache/schedules/{id}", put(jobs::update_schedule).delete(jobs::delete_schedule))
        .route("/admin/analytics/cache/schedules/{id}/run", post(jobs::run_schedule))
        .route("/admin/analytics/cache/limits", get(limits::budgets))
        .route("/admin/analytics/cache/audit", get(audit::list))
        .route("/admin/analytics/cache/audit/export", get(audit::export))
        .route("/admin/analytics/cache/sessions", get(sessions::list))
        .route("/admin/analytics/cache/sessions/{id}", delete(sessions::revoke))
        .fallback(|| async { AppError::not_found("no such API route") })
}
