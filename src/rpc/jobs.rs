//! Server functions of the Warming tab.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

use crate::error::AppError;
use crate::model::input::{JobAction, Reason, RecentJobs, ScheduleAction};
use crate::model::jobs::{
    Job, JobHistoryPage, JobHistoryQuery, Schedule, ScheduleInput, SchedulePreview, WarmRequest, WarmResponse,
    WarmingSettings, WarmingSettingsInput, WarmingStatus,
};
use crate::rpc::codec::Json;

/// Active and recent jobs, listing the newest `recent` finished ones (all of the last 50 when
/// absent; the summary covers the last 50 either way); read permission; changes nothing.
#[server(prefix = "/rpc", endpoint = "jobs/status", input = GetUrl, output = Json)]
pub async fn get_warming_status(recent: Option<RecentJobs>) -> Result<WarmingStatus, AppError> {
    let (state, _who) = crate::auth::server_fn_caller(crate::model::Permission::Read)?;
    crate::jobs::service::status_listing(&state, recent.unwrap_or(RecentJobs::ALL)).await
}

/// Queues a warm of one source or all; write permission; starts warms; counts against the
/// caller's warm budget.
#[server(prefix = "/rpc", endpoint = "jobs/warm", output = Json)]
pub async fn start_warm(request: WarmRequest) -> Result<WarmResponse, AppError> {
    let (state, who) = crate::auth::server_fn_caller(crate::model::Permission::Write)?;
    crate::jobs::service::request_warm_as(&state, &request, &who, "manual").await
}

/// Pauses, resumes or cancels a job (`action`; a cancel records its `reason`); write permission;
/// changes the job.
#[server(prefix = "/rpc", endpoint = "jobs/control", output = Json)]
pub async fn control_job(job_id: String, action: JobAction, reason: Option<Reason>) -> Result<Job, AppError> {
    let (state, who) = crate::auth::server_fn_caller(crate::model::Permission::Write)?;
    crate::jobs::service::control_as(&state, &job_id, action, reason.as_ref(), &who).await
}

/// Finished jobs a page at a time, filtered by source, status and time; read permission;
/// changes nothing.
#[server(prefix = "/rpc", endpoint = "jobs/history", input = GetUrl, output = Json)]
pub async fn list_job_history(#[server(default)] query: JobHistoryQuery) -> Result<JobHistoryPage, AppError> {
    let (state, _who) = crate::auth::server_fn_caller(crate::model::Permission::Read)?;
    crate::jobs::history::list(&state, &query).await
}

/// Every schedule; read permission; changes nothing.
#[server(prefix = "/rpc", endpoint = "schedules/list", input = GetUrl, output = Json)]
pub async fn list_schedules() -> Result<Vec<Schedule>, AppError> {
    let (state, _who) = crate::auth::server_fn_caller(crate::model::Permission::Read)?;
    crate::jobs::schedules::list(&state).await
}

/// A timing (`cron` or `every_hours`) in words with its next three runs, before it is saved;
/// read permission; changes nothing.
#[server(prefix = "/rpc", endpoint = "schedules/preview", input = GetUrl, output = Json)]
pub async fn preview_schedule(cron: Option<String>, every_hours: Option<u32>) -> Result<SchedulePreview, AppError> {
    let (_state, _who) = crate::auth::server_fn_caller(crate::model::Permission::Read)?;
    crate::jobs::schedules::preview(cron.as_deref(), every_hours, crate::time::now_ms())
}

/// Creates (no `id`) or updates a schedule; write permission.
#[server(prefix = "/rpc", endpoint = "schedules/save", output = Json)]
pub async fn save_schedule(id: Option<String>, input: ScheduleInput) -> Result<Schedule, AppError> {
    let (state, who) = crate::auth::server_fn_caller(crate::model::Permission::Write)?;
    crate::jobs::schedules::save_as(&state, id.as_deref(), &input, &who).await
}

/// Deletes a schedule (`action` = delete, recording its `reason`) or runs it now (`run`); write
/// permission.
#[server(prefix = "/rpc", endpoint = "schedules/act", output = Json)]
pub async fn act_on_schedule(
    id: String,
    action: ScheduleAction,
    reason: Option<Reason>,
) -> Result<Option<WarmResponse>, AppError> {
    let (state, who) = crate::auth::server_fn_caller(crate::model::Permission::Write)?;
    crate::jobs::schedules::act_as(&state, &id, action, reason.as_ref(), &who).await
}

/// The memory guard's thresholds; read permission; changes nothing.
#[server(prefix = "/rpc", endpoint = "jobs/settings", input = GetUrl, output = Json)]
pub async fn get_warming_settings() -> Result<WarmingSettings, AppError> {
    let (state, _who) = crate::auth::server_fn_caller(crate::model::Permission::Read)?;
    crate::jobs::settings::get(&state).await
}

/// Changes the memory guard for every instance; write permission.
#[server(prefix = "/rpc", endpoint = "jobs/settings/save", output = Json)]
pub async fn save_warming_settings(input: WarmingSettingsInput) -> Result<WarmingSettings, AppError> {
    let (state, who) = crate::auth::server_fn_caller(crate::model::Permission::Write)?;
    crate::jobs::settings::update_as(&state, &input, &who).await
}
