//! Warming jobs and schedules as the console and the REST API show them (SPEC §3 field names).

use serde::{Deserialize, Serialize};

use super::input::{DatasourceId, Reason};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    Queued,
    Warming,
    Paused,
    Swapping,
    Completed,
    Failed,
    Cancelled,
}

impl JobStatus {
    pub const ALL: [JobStatus; 7] = [
        JobStatus::Queued,
        JobStatus::Warming,
        JobStatus::Paused,
        JobStatus::Swapping,
        JobStatus::Completed,
        JobStatus::Failed,
        JobStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Warming => "warming",
            JobStatus::Paused => "paused",
            JobStatus::Swapping => "swapping",
            JobStatus::Completed => "completed",
            JobStatus::Failed => "failed",
            JobStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "queued" => JobStatus::Queued,
            "warming" => JobStatus::Warming,
            "paused" => JobStatus::Paused,
            "swapping" => JobStatus::Swapping,
            "completed" => JobStatus::Completed,
            "failed" => JobStatus::Failed,
            "cancelled" => JobStatus::Cancelled,
            _ => return None,
        })
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, JobStatus::Completed | JobStatus::Failed | JobStatus::Cancelled)
    }
}

/// One job; the SPEC's active-job fields, the recent-job ones once it finished, and Hearth's own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    pub job_id: String,
    pub datasource_id: i64,
    pub datasource_name: String,
    pub status: JobStatus,
    /// Where the warm is: preparing, reading, cutover, cleanup, done.
    pub phase: String,
    pub queued_at: String,
    pub started_at: Option<String>,
    pub progress: f64,
    pub rows_processed: u64,
    pub rows_total: u64,
    pub entries_cached: u64,
    pub bytes: u64,
    /// Seconds left, from a smoothed throughput; `None` until there is enough signal.
    pub eta_seconds: Option<u64>,
    pub completed_at: Option<String>,
    /// Milliseconds from start to end.
    pub duration: Option<u64>,
    pub success: Option<bool>,
    pub error: Option<String>,
    /// Why a paused job waits (asked by a user, or the memory guard).
    pub paused_reason: Option<String>,
    pub requested_by: String,
    pub reason: Option<String>,
    /// `manual`, `api` or `schedule:<id>`.
    pub trigger: String,
    pub worker: Option<String>,
    /// Which kind of warm ran and why, once finished ("incremental: 1,204 of 68,160 entries
    /// changed …", "full: no digests of the live generation").
    #[serde(default)]
    pub warm_kind: Option<String>,
    /// Milliseconds the cutover's atomic step took, once finished: an upper bound of how long
    /// Redis answered no one else while the new data became live.
    #[serde(default)]
    pub cutover_ms: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WarmingSummary {
    pub active_count: u64,
    /// Percent of finished jobs in the history that succeeded.
    pub success_rate: f64,
    /// Mean duration of finished successful jobs, ms.
    pub avg_duration: f64,
    pub currently_warming: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WarmingStatus {
    pub active_jobs: Vec<Job>,
    pub recent_jobs: Vec<Job>,
    pub summary: WarmingSummary,
    pub timestamp: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WarmRequest {
    pub datasource_id: Option<DatasourceId>,
    pub force: Option<bool>,
    pub reason: Option<Reason>,
    /// Hearth's addition: rewrite every entry through a shadow copy instead of only what changed
    /// since the live generation (a full warm, "force=full").
    #[serde(default)]
    pub full: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WarmSkip {
    pub datasource_id: i64,
    pub reason: String,
    /// The job already warming this source, when that is why.
    pub job_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WarmResponse {
    /// The job of a single-source request (new, or the one already running).
    pub job_id: Option<String>,
    /// The jobs of a warm-all request.
    pub job_ids: Option<Vec<String>>,
    /// The ids of the sources queued (SPEC §3: the command center returns the ids, not a count).
    pub datasources_queued: Vec<i64>,
    /// Seconds, from the sources' last warm durations (or their row counts).
    pub estimated_duration: Option<u64>,
    pub message: String,
    pub skipped: Vec<WarmSkip>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Schedule {
    pub id: String,
    pub datasource_id: i64,
    /// A cron expression (UTC), or `None` with `every_hours`.
    pub cron: Option<String>,
    pub every_hours: Option<u32>,
    /// Skip a run when the cache is younger than this.
    pub only_if_older_than_minutes: Option<u64>,
    pub enabled: bool,
    pub next_run_at: Option<String>,
    pub last_run_at: Option<String>,
    pub last_result: Option<String>,
    pub description: String,
    pub created_by: String,
    pub updated_at: String,
}

/// Filters of the jobs history, as typed (checked on the server, each refusal naming its field):
/// `source` id, `status` (completed|failed|cancelled), `from`/`to` (ISO 8601, a date or epoch ms),
/// `cursor` (the previous page's `nextCursor`), `limit` (1–200, default 50).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobHistoryQuery {
    pub source: Option<String>,
    pub status: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<String>,
}

/// One page of finished jobs, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobHistoryPage {
    pub jobs: Vec<Job>,
    /// Pass as `cursor` for the next page; `None` at the end.
    pub next_cursor: Option<String>,
}

/// A schedule's timing read back before it is saved: in words, and its next runs (ISO, UTC).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SchedulePreview {
    pub description: String,
    pub next_runs: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleInput {
    pub datasource_id: Option<DatasourceId>,
    pub cron: Option<String>,
    pub every_hours: Option<u32>,
    pub only_if_older_than_minutes: Option<u64>,
    pub enabled: Option<bool>,
}

/// The memory guard's thresholds, shared by every instance; stored values override the
/// HEARTH_MEMORY_* defaults so an admin can raise a ceiling while a warm waits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WarmingSettings {
    /// `None`: Redis's maxmemory (and no guard when that is 0 too).
    pub memory_ceiling_bytes: Option<u64>,
    pub memory_pause_percent: u8,
    pub memory_resume_percent: u8,
    /// Redis's maxmemory (0: none), the ceiling when none is configured.
    pub redis_max_memory: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WarmingSettingsInput {
    /// A number sets the ceiling, 0 clears it (back to the default).
    pub memory_ceiling_bytes: Option<u64>,
    pub memory_pause_percent: Option<u8>,
    pub memory_resume_percent: Option<u8>,
}
