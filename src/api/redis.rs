//! `/api/admin/redis/*`: the general Redis tool over REST.

use axum::extract::State;

use super::{ApiResult, Envelope};
use crate::auth::Principal;
use crate::model::Permission;
use crate::model::redis::RedisOverview;
use crate::redis_admin::overview;
use crate::state::AppState;

/// `GET /api/admin/redis/stats`: the INFO overview; read permission; changes nothing.
pub async fn stats(State(state): State<AppState>, who: Principal) -> ApiResult<RedisOverview> {
    who.require(Permission::Read)?;
    Ok(Envelope(overview::overview(&state).await?))
}
