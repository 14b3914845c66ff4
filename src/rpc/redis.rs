//! Server functions of the Redis tab.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

use crate::error::AppError;
use crate::model::input::{Reason, Ttl};
use crate::model::redis::{KeyDetail, KeyPage, PurgeRequest, PurgeResult, RedisOverview, TtlRequest, TtlResult};
use crate::rpc::codec::Json;

/// The INFO overview card; read permission; changes nothing.
#[server(prefix = "/rpc", endpoint = "redis/overview", input = GetUrl, output = Json)]
pub async fn get_redis_overview() -> Result<RedisOverview, AppError> {
    let (state, _who) = crate::auth::server_fn_caller(crate::model::Permission::Read)?;
    crate::redis_admin::overview::overview(&state).await
}

/// One page of the key browser; read permission; changes nothing.
#[server(prefix = "/rpc", endpoint = "redis/keys", input = GetUrl, output = Json)]
pub async fn browse_keys(
    pattern: String,
    cursor: String,
    limit: usize,
    kind: Option<String>,
) -> Result<KeyPage, AppError> {
    let (state, _who) = crate::auth::server_fn_caller(crate::model::Permission::Read)?;
    crate::redis_admin::browse::browse(&state, &pattern, &cursor, limit, kind.as_deref().filter(|k| !k.is_empty()))
        .await
}

/// One exact key, type-aware and paged; read permission; the inspection is recorded.
#[server(prefix = "/rpc", endpoint = "redis/inspect", input = GetUrl, output = Json)]
pub async fn inspect_key(key: String, start: String, count: u64) -> Result<KeyDetail, AppError> {
    let (state, who) = crate::auth::server_fn_caller(crate::model::Permission::Read)?;
    crate::redis_admin::inspect::inspect_as(&state, &key, &start, count, &who).await
}

/// Sets (ttl ≥ 1) or removes (-1) one key's expiry; write permission.
#[server(prefix = "/rpc", endpoint = "redis/key/ttl", output = Json)]
pub async fn set_key_ttl(key: String, ttl: Ttl) -> Result<i64, AppError> {
    let (state, who) = crate::auth::server_fn_caller(crate::model::Permission::Write)?;
    crate::redis_admin::inspect::set_key_ttl_as(&state, &key, ttl, &who).await
}

/// Deletes one exact key, recording the reason; write permission.
#[server(prefix = "/rpc", endpoint = "redis/key/delete", output = Json)]
pub async fn delete_key(key: String, reason: Option<Reason>) -> Result<(), AppError> {
    let (state, who) = crate::auth::server_fn_caller(crate::model::Permission::Write)?;
    crate::redis_admin::inspect::delete_key_as(&state, &key, reason.as_deref(), &who).await
}

/// Previews or starts a purge by pattern; write permission; deletes keys unless previewing.
#[server(prefix = "/rpc", endpoint = "redis/purge", output = Json)]
pub async fn purge_keys(request: PurgeRequest) -> Result<PurgeResult, AppError> {
    let (state, who) = crate::auth::server_fn_caller(crate::model::Permission::Write)?;
    crate::redis_admin::purge::purge_as(&state, &request, &who).await
}

/// Progress of a purge; read permission; changes nothing.
#[server(prefix = "/rpc", endpoint = "redis/purge/status", input = GetUrl, output = Json)]
pub async fn purge_status(id: String) -> Result<PurgeResult, AppError> {
    let (state, _who) = crate::auth::server_fn_caller(crate::model::Permission::Read)?;
    crate::redis_admin::purge::status(&state, &id).await
}

/// Stops a running purge at its next page; write permission.
#[server(prefix = "/rpc", endpoint = "redis/purge/abort", output = Json)]
pub async fn abort_purge(id: String) -> Result<PurgeResult, AppError> {
    let (state, who) = crate::auth::server_fn_caller(crate::model::Permission::Write)?;
    crate::redis_admin::purge::abort_as(&state, &id, &who).await
}

/// Previews or applies a TTL change by pattern; write permission.
#[server(prefix = "/rpc", endpoint = "redis/ttl", output = Json)]
pub async fn change_ttl(request: TtlRequest) -> Result<TtlResult, AppError> {
    let (state, who) = crate::auth::server_fn_caller(crate::model::Permission::Write)?;
    crate::redis_admin::ttl::change_as(&state, &request, &who).await
}
