//! `/api/admin/analytics/cache/sessions`: browser sessions created by hand-off.

use axum::extract::State;
use serde::Serialize;

use super::params::PathId;
use super::{ApiResult, Envelope};
use crate::auth::Writer;
use crate::model::auth::SessionSummary;
use crate::state::AppState;

#[derive(Serialize)]
pub struct SessionList {
    sessions: Vec<SessionSummary>,
}

/// `GET …/sessions`: every live browser session; write permission; changes nothing.
pub async fn list(State(state): State<AppState>, Writer(who): Writer) -> ApiResult<SessionList> {
    Ok(Envelope(SessionList { sessions: crate::auth::session::list(&state, who.session.as_deref()).await? }))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Revoked {
    revoked: String,
}

/// `DELETE …/sessions/{id}`: ends one session; write permission; its holder must sign in again.
pub async fn revoke(State(state): State<AppState>, Writer(who): Writer, PathId(id): PathId) -> ApiResult<Revoked> {
    crate::auth::session::revoke_as(&state, &id, &who).await?;
    Ok(Envelope(Revoked { revoked: id }))
}
