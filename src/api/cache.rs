//! `/api/admin/analytics/cache/*` and the cached read `/api/analytics/cache/query`.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::value::RawValue;

use super::params::{JsonBody, QueryPairs};
use super::{ApiResult, Envelope};
use crate::auth::{Reader, Writer};
use crate::cache::{invalidate, query, stats};
use crate::error::AppError;
use crate::model::cache::{CacheStats, HealthReport, InvalidateRequest, InvalidateResult, SourceDetails, Trends};
use crate::state::AppState;

/// `GET …/cache/stats`: summary and per-source metrics; read permission; changes nothing.
pub async fn stats(State(state): State<AppState>, _: Reader) -> ApiResult<CacheStats> {
    Ok(Envelope(stats::cache_stats(&state).await?))
}

/// `GET …/cache/health`: overall health, issues, recommendations; read permission; changes nothing.
pub async fn health(State(state): State<AppState>, _: Reader) -> ApiResult<HealthReport> {
    Ok(Envelope(stats::health_report(&state).await?))
}

/// `GET …/cache/trends?datasourceId=&range=1h|24h|7d`: query series; read permission; changes nothing.
pub async fn trends(State(state): State<AppState>, _: Reader, q: QueryPairs) -> ApiResult<Trends> {
    let ds = q.source_id()?;
    Ok(Envelope(stats::trends(&state, ds, q.get("range").unwrap_or("1h")).await?))
}

/// `GET …/cache/source?datasourceId=`: one source's metrics and its jobs; read permission;
/// changes nothing.
pub async fn source(State(state): State<AppState>, _: Reader, q: QueryPairs) -> ApiResult<SourceDetails> {
    Ok(Envelope(stats::source_details(&state, q.source_id()?).await?))
}

/// `POST …/cache/invalidate`: a source or a slice, or a dry run of it; write permission;
/// deletes cache keys (never with a dry run); a real run counts against the caller's
/// invalidate budget.
pub async fn invalidate(
    State(state): State<AppState>,
    Writer(who): Writer,
    JsonBody(req): JsonBody<InvalidateRequest>,
) -> ApiResult<InvalidateResult> {
    Ok(Envelope(invalidate::invalidate_as(&state, &req, &who).await?))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct QueryReply<'a> {
    hit: bool,
    entries: usize,
    query_time_ms: f64,
    rows: &'a RawValue,
}

/// `GET /api/analytics/cache/query?datasourceId=&measure=&frequency=&practice=&provider=`:
/// cached rows (practice and provider repeat or are comma-separated; `*` is the NULL provider);
/// read permission; changes nothing but the query counters.
pub async fn cached_query(State(state): State<AppState>, _: Reader, q: QueryPairs) -> Result<Response, AppError> {
    let request = query::CacheQuery {
        datasource_id: q.source_id()?,
        measure: q.required("measure")?.to_string(),
        frequency: q.required("frequency")?.to_string(),
        practices: q.all("practice"),
        providers: q.all("provider"),
    };
    let answer = query::query(&state, &request).await?;
    let rows =
        RawValue::from_string(answer.rows_json).map_err(|_| AppError::internal("a cached entry is not valid JSON"))?;
    Ok(Envelope(QueryReply {
        hit: answer.hit,
        entries: answer.entries,
        query_time_ms: answer.micros as f64 / 1000.0,
        rows: &rows,
    })
    .into_response())
}
