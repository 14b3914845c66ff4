//! `/api/admin/analytics/cache/audit`: the audit trail, one page at a time or as a download.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::params::QueryPairs;
use super::{ApiResult, Envelope};
use crate::auth::Reader;
use crate::auth::audit::export::{self, Format};
use crate::auth::audit::store::{self, Filter};
use crate::auth::audit::{Act, Done, record};
use crate::error::AppError;
use crate::model::audit::{AuditAction, AuditPage, AuditQuery};
use crate::state::AppState;

/// The filters of the query string; an unknown parameter is a 400 (a typo would otherwise
/// silently widen the result).
fn audit_query(q: &QueryPairs, extra: &[&str]) -> Result<AuditQuery, AppError> {
    const NAMES: [&str; 8] = ["user", "action", "source", "outcome", "from", "to", "cursor", "limit"];
    if let Some((k, _)) = q.0.iter().find(|(k, _)| !NAMES.contains(&k.as_str()) && !extra.contains(&k.as_str())) {
        return Err(AppError::validation(format!(
            "unknown parameter `{k}` (filters: user, action, source, outcome, from, to, cursor, limit)"
        )));
    }
    Ok(AuditQuery::from_fn(|name| q.get(name).map(str::to_string)))
}

/// `GET …/cache/audit?user=&action=&source=&outcome=&from=&to=&cursor=&limit=`: one page of
/// entries, newest first, with the cursor of the next; read permission; changes nothing.
pub async fn list(State(state): State<AppState>, _: Reader, q: QueryPairs) -> ApiResult<AuditPage> {
    let filter = Filter::parse(&audit_query(&q, &[])?)?;
    Ok(Envelope(store::list(&state, &filter).await?))
}

/// `GET …/cache/audit/export?format=ndjson|csv&<filters>`: every matching entry as a file,
/// streamed; read permission; the export itself is audited.
pub async fn export(State(state): State<AppState>, Reader(who): Reader, q: QueryPairs) -> Result<Response, AppError> {
    let format = Format::parse(q.get("format"))?;
    let query = audit_query(&q, &["format"])?;
    let filter = Filter::parse(&query)?;
    let described = query
        .filters()
        .into_iter()
        .filter_map(|(k, v)| v.filter(|v| !v.is_empty()).map(|v| format!("{k}={v}")))
        .collect::<Vec<_>>()
        .join(" ");
    let target = if described.is_empty() { "whole trail".to_string() } else { described };
    record(
        &state,
        Some(&who),
        &who.request,
        Act::new(AuditAction::AuditExported, target),
        200,
        Done::detail(format.extension()),
    );
    let name = format!("hearth-audit-{}.{}", chrono::Utc::now().format("%Y%m%dT%H%M%SZ"), format.extension());
    let mut response = Body::from_stream(export::stream(state, filter, format)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(format.content_type()));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}
