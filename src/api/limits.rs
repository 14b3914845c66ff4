//! `/api/admin/analytics/cache/limits`: the caller's own rate-limit budget.

use axum::extract::State;

use super::{ApiResult, Envelope};
use crate::auth::Caller;
use crate::model::limits::Budgets;
use crate::state::AppState;

/// `GET …/cache/limits`: per class, the limit, how many the caller used in the last hour, how
/// many are left and when the next frees; any signed-in caller (their own budget); changes nothing.
pub async fn budgets(State(state): State<AppState>, Caller(who): Caller) -> ApiResult<Budgets> {
    Ok(Envelope(crate::auth::limits::budgets(&state, &who).await?))
}
