//! Server functions of the Analytics Cache tab.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

use crate::error::AppError;
use crate::model::cache::{CacheStats, InvalidateRequest, InvalidateResult, Trends};
use crate::model::input::DatasourceId;

/// Summary and per-source metrics; read permission; changes nothing.
#[server(prefix = "/rpc", endpoint = "cache/stats", input = GetUrl)]
pub async fn get_cache_stats() -> Result<CacheStats, AppError> {
    let (state, _who) = crate::auth::server_fn_caller(crate::model::Permission::Read)?;
    crate::cache::stats::cache_stats(&state).await
}

/// Query series of one source; read permission; changes nothing.
#[server(prefix = "/rpc", endpoint = "cache/trends", input = GetUrl)]
pub async fn get_trends(datasource_id: DatasourceId, range: String) -> Result<Trends, AppError> {
    let (state, _who) = crate::auth::server_fn_caller(crate::model::Permission::Read)?;
    crate::cache::stats::trends(&state, datasource_id.get(), &range).await
}

/// Invalidates a source or a slice, or previews it (`dry_run`); write permission; deletes cache
/// keys; a real run counts against the caller's invalidate budget.
#[server(prefix = "/rpc", endpoint = "cache/invalidate")]
pub async fn invalidate_cache(request: InvalidateRequest) -> Result<InvalidateResult, AppError> {
    let (state, who) = crate::auth::server_fn_caller(crate::model::Permission::Write)?;
    crate::cache::invalidate::invalidate_as(&state, &request, &who).await
}
