//! Server functions of the Analytics Cache tab.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

use crate::error::AppError;
use crate::model::cache::{CacheStats, HealthReport, InvalidateRequest, InvalidateResult, SourceDetails, Trends};
use crate::model::input::DatasourceId;
use crate::rpc::codec::Json;

/// Summary and per-source metrics; read permission; changes nothing.
#[server(prefix = "/rpc", endpoint = "cache/stats", input = GetUrl, output = Json)]
pub async fn get_cache_stats() -> Result<CacheStats, AppError> {
    let (state, _who) = crate::auth::server_fn_caller(crate::model::Permission::Read)?;
    crate::cache::stats::cache_stats(&state).await
}

/// Query series of one source; read permission; changes nothing.
#[server(prefix = "/rpc", endpoint = "cache/trends", input = GetUrl, output = Json)]
pub async fn get_trends(datasource_id: DatasourceId, range: String) -> Result<Trends, AppError> {
    let (state, _who) = crate::auth::server_fn_caller(crate::model::Permission::Read)?;
    crate::cache::stats::trends(&state, datasource_id.get(), &range).await
}

/// One source's metrics and its jobs (the details page); read permission; changes nothing.
#[server(prefix = "/rpc", endpoint = "cache/source", input = GetUrl, output = Json)]
pub async fn get_source_details(datasource_id: DatasourceId) -> Result<SourceDetails, AppError> {
    let (state, _who) = crate::auth::server_fn_caller(crate::model::Permission::Read)?;
    crate::cache::stats::source_details(&state, datasource_id.get()).await
}

/// Overall health, issues and recommendations; read permission; changes nothing.
#[server(prefix = "/rpc", endpoint = "cache/health", input = GetUrl, output = Json)]
pub async fn get_health_report() -> Result<HealthReport, AppError> {
    let (state, _who) = crate::auth::server_fn_caller(crate::model::Permission::Read)?;
    crate::cache::stats::health_report(&state).await
}

/// Invalidates a source or a slice, or previews it (`dry_run`); write permission; deletes cache
/// keys; a real run counts against the caller's invalidate budget.
#[server(prefix = "/rpc", endpoint = "cache/invalidate", output = Json)]
pub async fn invalidate_cache(request: InvalidateRequest) -> Result<InvalidateResult, AppError> {
    let (state, who) = crate::auth::server_fn_caller(crate::model::Permission::Write)?;
    crate::cache::invalidate::invalidate_as(&state, &request, &who).await
}
