//! `/api/admin/analytics/sources`: the data sources Hearth knows.

use axum::extract::State;
use serde::Serialize;

use super::{ApiResult, Envelope};
use crate::auth::Reader;
use crate::model::source::SourceInfo;
use crate::state::AppState;

#[derive(Serialize)]
pub struct SourceList {
    sources: Vec<SourceInfo>,
}

/// `GET /api/admin/analytics/sources`: every source with kind, period column, row count and
/// whether it can be warmed; read permission; changes nothing.
pub async fn list(State(state): State<AppState>, _: Reader) -> ApiResult<SourceList> {
    Ok(Envelope(SourceList { sources: state.catalog.list().await? }))
}
