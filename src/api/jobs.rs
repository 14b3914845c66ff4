//! Warming over REST: queue warms, the shared status, job control and schedules.

use axum::extract::State;

use super::params::{JsonBody, PathId, QueryPairs, ReasonBody};
use super::{ApiResult, Envelope};
use crate::auth::{Reader, Writer};
use crate::jobs::{history, schedules, service, settings};
use crate::model::input::JobAction;
use crate::model::jobs::{
    Job, JobHistoryPage, JobHistoryQuery, Schedule, ScheduleInput, WarmRequest, WarmResponse, WarmingSettings,
    WarmingSettingsInput, WarmingStatus,
};
use crate::state::AppState;

/// `POST …/cache/warm` `{datasourceId?, force?, reason?}`: queue one source or all; write
/// permission; starts warms (a source already warming answers with its running job); counts
/// against the caller's warm budget (429 when spent).
pub async fn warm(
    State(state): State<AppState>,
    Writer(who): Writer,
    JsonBody(req): JsonBody<WarmRequest>,
) -> ApiResult<WarmResponse> {
    Ok(Envelope(service::request_warm_as(&state, &req, &who, "api").await?))
}

/// `GET …/cache/warming/status`: active and recent jobs with a summary; read permission.
pub async fn status(State(state): State<AppState>, _: Reader) -> ApiResult<WarmingStatus> {
    Ok(Envelope(service::status(&state).await?))
}

/// `GET …/cache/jobs?source=&status=&from=&to=&cursor=&limit=`: finished jobs a page at a time,
/// newest first, with the cursor of the next; read permission; changes nothing.
pub async fn history(State(state): State<AppState>, _: Reader, q: QueryPairs) -> ApiResult<JobHistoryPage> {
    const NAMES: [&str; 6] = ["source", "status", "from", "to", "cursor", "limit"];
    if let Some((k, _)) = q.0.iter().find(|(k, _)| !NAMES.contains(&k.as_str())) {
        return Err(crate::error::AppError::validation(format!(
            "unknown parameter `{k}` (filters: source, status, from, to, cursor, limit)"
        )));
    }
    let query = JobHistoryQuery {
        source: q.get("source").map(str::to_string),
        status: q.get("status").map(str::to_string),
        from: q.get("from").map(str::to_string),
        to: q.get("to").map(str::to_string),
        cursor: q.get("cursor").map(str::to_string),
        limit: q.get("limit").map(str::to_string),
    };
    Ok(Envelope(history::list(&state, &query).await?))
}

/// `GET …/cache/jobs/{id}`: one job; read permission; changes nothing.
pub async fn job(State(state): State<AppState>, _: Reader, PathId(id): PathId) -> ApiResult<Job> {
    Ok(Envelope(service::job(&state, &id).await?))
}

/// `POST …/cache/jobs/{id}/pause`: pause at the next batch; write permission.
pub async fn pause(State(state): State<AppState>, Writer(who): Writer, PathId(id): PathId) -> ApiResult<Job> {
    Ok(Envelope(service::control_as(&state, &id, JobAction::Pause, None, &who).await?))
}

/// `POST …/cache/jobs/{id}/resume`: resume a paused warm; write permission.
pub async fn resume(State(state): State<AppState>, Writer(who): Writer, PathId(id): PathId) -> ApiResult<Job> {
    Ok(Envelope(service::control_as(&state, &id, JobAction::Resume, None, &who).await?))
}

/// `POST …/cache/jobs/{id}/cancel` with an optional `{"reason"}`: dequeue or stop a warm (live
/// cache untouched); write permission.
pub async fn cancel(
    State(state): State<AppState>,
    Writer(who): Writer,
    PathId(id): PathId,
    ReasonBody(reason): ReasonBody,
) -> ApiResult<Job> {
    Ok(Envelope(service::control_as(&state, &id, JobAction::Cancel, reason.as_ref(), &who).await?))
}

/// `GET …/cache/schedules`: every schedule with next and last run; read permission.
pub async fn list_schedules(State(state): State<AppState>, _: Reader) -> ApiResult<Vec<Schedule>> {
    Ok(Envelope(schedules::list(&state).await?))
}

/// `POST …/cache/schedules` `{datasourceId, cron | everyHours, onlyIfOlderThanMinutes?, enabled?}`;
/// write permission; creates a schedule.
pub async fn create_schedule(
    State(state): State<AppState>,
    Writer(who): Writer,
    JsonBody(input): JsonBody<ScheduleInput>,
) -> ApiResult<Schedule> {
    Ok(Envelope(schedules::save_as(&state, None, &input, &who).await?))
}

/// `PUT …/cache/schedules/{id}`: change timing or enable/disable; write permission.
pub async fn update_schedule(
    State(state): State<AppState>,
    Writer(who): Writer,
    PathId(id): PathId,
    JsonBody(input): JsonBody<ScheduleInput>,
) -> ApiResult<Schedule> {
    Ok(Envelope(schedules::save_as(&state, Some(&id), &input, &who).await?))
}

/// `DELETE …/cache/schedules/{id}` with an optional `{"reason"}`; write permission; removes the
/// schedule.
pub async fn delete_schedule(
    State(state): State<AppState>,
    Writer(who): Writer,
    PathId(id): PathId,
    ReasonBody(reason): ReasonBody,
) -> ApiResult<serde_json::Value> {
    schedules::delete_as(&state, &id, reason.as_ref(), &who).await?;
    Ok(Envelope(serde_json::json!({ "deleted": id })))
}

/// `POST …/cache/schedules/{id}/run`: queue the schedule's warm now; write permission; counts
/// as one of the caller's warms.
pub async fn run_schedule(
    State(state): State<AppState>,
    Writer(who): Writer,
    PathId(id): PathId,
) -> ApiResult<WarmResponse> {
    Ok(Envelope(schedules::run_as(&state, &id, &who).await?))
}

/// `GET …/cache/warming/settings`: the memory guard's thresholds; read permission.
pub async fn get_settings(State(state): State<AppState>, _: Reader) -> ApiResult<WarmingSettings> {
    Ok(Envelope(settings::get(&state).await?))
}

/// `PUT …/cache/warming/settings`: change the memory guard for every instance; write permission.
pub async fn update_settings(
    State(state): State<AppState>,
    Writer(who): Writer,
    JsonBody(input): JsonBody<WarmingSettingsInput>,
) -> ApiResult<WarmingSettings> {
    Ok(Envelope(settings::update_as(&state, &input, &who).await?))
}
