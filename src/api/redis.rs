//! `/api/admin/redis/*`: the general Redis tool over REST, inside the configured prefix.

use axum::extract::State;
use serde::Deserialize;

use super::params::{JsonBody, PathId, QueryPairs};
use super::{ApiResult, Envelope};
use crate::auth::{Reader, Writer};
use crate::model::input::Ttl;
use crate::model::redis::{KeyDetail, KeyPage, PurgeRequest, PurgeResult, RedisOverview, TtlRequest, TtlResult};
use crate::redis_admin::{browse, inspect, overview, purge, ttl};
use crate::state::AppState;

/// `GET /api/admin/redis/stats`: the INFO overview; read permission; changes nothing.
pub async fn stats(State(state): State<AppState>, _: Reader) -> ApiResult<RedisOverview> {
    Ok(Envelope(overview::overview(&state).await?))
}

fn limit(q: &QueryPairs) -> Result<usize, crate::error::AppError> {
    match q.get("limit") {
        None | Some("") => Ok(50),
        Some(v) => {
            v.parse().map_err(|_| crate::error::AppError::validation(format!("limit must be a number, not `{v}`")))
        }
    }
}

/// `GET /api/admin/redis/keys?pattern=&cursor=&limit=&type=`: one page of keys; read permission.
pub async fn keys(State(state): State<AppState>, _: Reader, q: QueryPairs) -> ApiResult<KeyPage> {
    let pattern = q.get("pattern").unwrap_or("*");
    let kind = q.get("type").filter(|t| !t.is_empty());
    Ok(Envelope(browse::browse(&state, pattern, q.get("cursor").unwrap_or("0"), limit(&q)?, kind).await?))
}

/// `GET /api/admin/redis/inspect?key=&start=&count=`: one exact key; read permission; recorded.
pub async fn inspect(State(state): State<AppState>, Reader(who): Reader, q: QueryPairs) -> ApiResult<KeyDetail> {
    let count = match q.get("count") {
        None | Some("") => 100,
        Some(v) => {
            v.parse().map_err(|_| crate::error::AppError::validation(format!("count must be a number, not `{v}`")))?
        }
    };
    Ok(Envelope(inspect::inspect_as(&state, q.required("key")?, q.get("start").unwrap_or(""), count, &who).await?))
}

/// `POST /api/admin/redis/purge`: preview, or delete by pattern with a reason; write permission.
pub async fn purge(
    State(state): State<AppState>,
    Writer(who): Writer,
    JsonBody(req): JsonBody<PurgeRequest>,
) -> ApiResult<PurgeResult> {
    Ok(Envelope(purge::purge_as(&state, &req, &who).await?))
}

/// `GET /api/admin/redis/purge/{id}`: progress of a background purge; read permission.
pub async fn purge_status(State(state): State<AppState>, _: Reader, PathId(id): PathId) -> ApiResult<PurgeResult> {
    Ok(Envelope(purge::status(&state, &id).await?))
}

/// `POST /api/admin/redis/purge/{id}/abort`: stop a purge at its next page; write permission.
pub async fn purge_abort(
    State(state): State<AppState>,
    Writer(who): Writer,
    PathId(id): PathId,
) -> ApiResult<PurgeResult> {
    Ok(Envelope(purge::abort_as(&state, &id, &who).await?))
}

/// `POST /api/admin/redis/ttl`: preview, or set/persist TTLs by pattern; write permission.
pub async fn ttl(
    State(state): State<AppState>,
    Writer(who): Writer,
    JsonBody(req): JsonBody<TtlRequest>,
) -> ApiResult<TtlResult> {
    Ok(Envelope(ttl::change_as(&state, &req, &who).await?))
}

#[derive(Deserialize)]
pub struct KeyTtl {
    key: String,
    ttl: Ttl,
}

/// `POST /api/admin/redis/key/ttl` `{key, ttl}`: one exact key (-1 persists); write permission.
pub async fn key_ttl(
    State(state): State<AppState>,
    Writer(who): Writer,
    JsonBody(req): JsonBody<KeyTtl>,
) -> ApiResult<serde_json::Value> {
    let now = inspect::set_key_ttl_as(&state, &req.key, req.ttl, &who).await?;
    Ok(Envelope(serde_json::json!({ "key": req.key, "ttl": now })))
}

#[derive(Deserialize)]
pub struct KeyDelete {
    key: String,
    reason: Option<String>,
}

/// `POST /api/admin/redis/key/delete` `{key, reason?}`: this exact key; write permission.
pub async fn key_delete(
    State(state): State<AppState>,
    Writer(who): Writer,
    JsonBody(req): JsonBody<KeyDelete>,
) -> ApiResult<serde_json::Value> {
    inspect::delete_key_as(&state, &req.key, req.reason.as_deref(), &who).await?;
    Ok(Envelope(serde_json::json!({ "key": req.key, "deleted": true })))
}
