//! Warm schedules, stored in Redis: per source a cron expression (UTC, via `croner`) or "every
//! N hours", optionally only when the cache is older than X. Every instance checks for due
//! schedules; a compare-and-set on the schedule claims each due run, so exactly one instance
//! fires it. The next run is computed from the moment it fires, so runs missed during downtime
//! fire once, not once per missed time. A run is skipped, not stacked, while a job is active.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use croner::Cron;
use redis::Script;
use serde::{Deserialize, Serialize};

use super::service;
use crate::auth::audit::{Act, Done, audited};
use crate::error::AppError;
use crate::model::audit::AuditAction;
use crate::model::input::{DatasourceId, Reason, ScheduleAction};
use crate::model::jobs::{Schedule, ScheduleInput, SchedulePreview, WarmRequest, WarmResponse};
use crate::redis_conn::RedisResultExt;
use crate::state::AppState;

static COMPARE_AND_SET: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then redis.call('HSET', KEYS[1], ARGV[1], ARGV[3]) return 1 else return 0 end",
    )
});

const MAX_EVERY_HOURS: u32 = 24 * 30;
const MAX_OLDER_THAN_MINUTES: u64 = 60 * 24 * 30;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Stored {
    id: String,
    datasource_id: i64,
    cron: Option<String>,
    every_hours: Option<u32>,
    only_if_older_than_minutes: Option<u64>,
    enabled: bool,
    next_run_at: Option<i64>,
    last_run_at: Option<i64>,
    last_result: Option<String>,
    created_by: String,
    updated_at: i64,
}

/// A refused input, naming the form field the console highlights (`details.field`).
fn invalid(field: &str, message: impl Into<String>) -> AppError {
    AppError::validation(message).with_details(serde_json::json!({ "field": field }))
}

fn parse_cron(expr: &str) -> Result<Cron, AppError> {
    if expr.trim().is_empty() {
        return Err(invalid("cron", "Enter a cron expression, e.g. `0 3 * * *` for every day at 03:00 UTC."));
    }
    Cron::from_str(expr.trim()).map_err(|e| {
        invalid(
            "cron",
            format!(
                "`{}` is not a cron expression Hearth understands ({e}). Use five fields: minute hour day-of-month month day-of-week, e.g. `0 3 * * *`.",
                expr.trim()
            ),
        )
    })
}

/// How many upcoming runs a preview lists.
const PREVIEW_RUNS: usize = 3;

/// What a timing means before it is saved: in words, and its next runs after `now_ms`. Changes
/// nothing; a bad timing is refused exactly as saving it would be.
pub fn preview(cron: Option<&str>, every_hours: Option<u32>, now_ms: i64) -> Result<SchedulePreview, AppError> {
    let mut s = Stored {
        id: String::new(),
        datasource_id: 0,
        cron: None,
        every_hours: None,
        only_if_older_than_minutes: None,
        enabled: true,
        next_run_at: None,
        last_run_at: None,
        last_result: None,
        created_by: String::new(),
        updated_at: now_ms,
    };
    set_timing(&mut s, cron, every_hours)?;
    let mut next_runs = Vec::with_capacity(PREVIEW_RUNS);
    let mut at = now_ms;
    for _ in 0..PREVIEW_RUNS {
        at = s.next_after(at)?;
        next_runs.push(crate::time::iso_from_ms(at));
    }
    Ok(SchedulePreview { description: s.view().description, next_runs })
}

impl Stored {
    /// The first run strictly after `now_ms`.
    fn next_after(&self, now_ms: i64) -> Result<i64, AppError> {
        if let Some(expr) = &self.cron {
            let now: DateTime<Utc> = DateTime::from_timestamp_millis(now_ms).unwrap_or_else(Utc::now);
            let next = parse_cron(expr)?
                .find_next_occurrence(&now, false)
                .map_err(|e| invalid("cron", format!("`{expr}` never runs ({e}): pick a date that exists.")))?;
            Ok(next.timestamp_millis())
        } else {
            Ok(now_ms + self.every_hours.unwrap_or(24) as i64 * 3_600_000)
        }
    }

    fn view(&self) -> Schedule {
        let mut description = match (&self.cron, self.every_hours) {
            (Some(c), _) => parse_cron(c).map(|c| c.describe()).unwrap_or_else(|_| c.clone()),
            (None, Some(h)) => format!("Every {h} hour{}", if h == 1 { "" } else { "s" }),
            (None, None) => String::new(),
        };
        if let Some(m) = self.only_if_older_than_minutes {
            description.push_str(&format!(", only when the cache is older than {m} minutes"));
        }
        Schedule {
            id: self.id.clone(),
            datasource_id: self.datasource_id,
            cron: self.cron.clone(),
            every_hours: self.every_hours,
            only_if_older_than_minutes: self.only_if_older_than_minutes,
            enabled: self.enabled,
            next_run_at: self.next_run_at.filter(|_| self.enabled).map(crate::time::iso_from_ms),
            last_run_at: self.last_run_at.map(crate::time::iso_from_ms),
            last_result: self.last_result.clone(),
            description,
            created_by: self.created_by.clone(),
            updated_at: crate::time::iso_from_ms(self.updated_at),
        }
    }
}

/// Applies `input` to `s` (a new or an existing schedule) and checks the result.
async fn apply(state: &AppState, s: &mut Stored, input: &ScheduleInput) -> Result<(), AppError> {
    if let Some(ds) = input.datasource_id {
        // Still a 404 (the contract), naming the field the console highlights.
        state.catalog.get(ds.get()).await.map_err(|e| match e.code {
            crate::error::ErrorCode::NotFound => e.with_details(serde_json::json!({ "field": "datasourceId" })),
            _ => e,
        })?;
        s.datasource_id = ds.get();
    }
    set_timing(s, input.cron.as_deref(), input.every_hours)?;
    if let Some(m) = input.only_if_older_than_minutes {
        if m > MAX_OLDER_THAN_MINUTES {
            return Err(invalid(
                "onlyIfOlderThanMinutes",
                format!("\"Only if older than\" can be at most {MAX_OLDER_THAN_MINUTES} minutes (30 days)."),
            ));
        }
        s.only_if_older_than_minutes = (m > 0).then_some(m);
    }
    if let Some(e) = input.enabled {
        s.enabled = e;
    }
    s.next_run_at = Some(s.next_after(crate::time::now_ms())?);
    s.updated_at = crate::time::now_ms();
    Ok(())
}

/// Sets the timing (cron or every N hours) when the input gives one, else keeps the stored one.
fn set_timing(s: &mut Stored, cron: Option<&str>, every_hours: Option<u32>) -> Result<(), AppError> {
    match (cron, every_hours) {
        (Some(_), Some(_)) => {
            return Err(invalid("cron", "Give either a cron expression or \"every N hours\", not both."));
        }
        (Some(c), None) => {
            parse_cron(c)?;
            s.cron = Some(c.trim().to_string());
            s.every_hours = None;
        }
        (None, Some(h)) => {
            if h == 0 || h > MAX_EVERY_HOURS {
                return Err(invalid(
                    "everyHours",
                    format!("\"Every N hours\" must be between 1 and {MAX_EVERY_HOURS} (30 days)."),
                ));
            }
            s.every_hours = Some(h);
            s.cron = None;
        }
        (None, None) => {}
    }
    if s.cron.is_none() && s.every_hours.is_none() {
        return Err(invalid("cron", "Say when the schedule runs: a cron expression or every N hours."));
    }
    Ok(())
}

async fn load_all(state: &AppState) -> Result<Vec<(String, Stored)>, AppError> {
    let mut conn = state.redis.conn().await?;
    let raw: HashMap<String, String> =
        redis::cmd("HGETALL").arg(state.keys.schedules()).query_async(&mut conn).await.ctx("reading schedules")?;
    let mut out: Vec<(String, Stored)> =
        raw.into_values().filter_map(|json| serde_json::from_str(&json).ok().map(|s: Stored| (json, s))).collect();
    out.sort_by(|a, b| (a.1.datasource_id, &a.1.id).cmp(&(b.1.datasource_id, &b.1.id)));
    Ok(out)
}

async fn load(state: &AppState, id: &str) -> Result<(String, Stored), AppError> {
    if id.is_empty() || id.len() > 40 || !id.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(AppError::validation(format!("`{id}` is not a schedule id")));
    }
    let mut conn = state.redis.conn().await?;
    let raw: Option<String> = redis::cmd("HGET")
        .arg(state.keys.schedules())
        .arg(id)
        .query_async(&mut conn)
        .await
        .ctx("reading a schedule")?;
    let raw = raw.ok_or_else(|| AppError::not_found(format!("no schedule with id {id}")))?;
    let stored = serde_json::from_str(&raw).map_err(|_| AppError::internal(format!("schedule {id} is unreadable")))?;
    Ok((raw, stored))
}

async fn save(state: &AppState, s: &Stored) -> Result<(), AppError> {
    let mut conn = state.redis.conn().await?;
    let json = serde_json::to_string(s).map_err(|e| AppError::internal(e.to_string()))?;
    let _: () = redis::cmd("HSET")
        .arg(state.keys.schedules())
        .arg(&s.id)
        .arg(json)
        .query_async(&mut conn)
        .await
        .ctx("saving a schedule")?;
    Ok(())
}

/// Replaces `old` by `new` only if nobody changed it meanwhile.
async fn compare_and_set(state: &AppState, id: &str, old: &str, new: &Stored) -> Result<bool, AppError> {
    let json = serde_json::to_string(new).map_err(|e| AppError::internal(e.to_string()))?;
    let mut conn = state.redis.conn().await?;
    let set: u8 = COMPARE_AND_SET
        .key(state.keys.schedules())
        .arg(id)
        .arg(old)
        .arg(json)
        .invoke_async(&mut conn)
        .await
        .ctx("claiming a schedule")?;
    Ok(set == 1)
}

pub async fn list(state: &AppState) -> Result<Vec<Schedule>, AppError> {
    Ok(load_all(state).await?.iter().map(|(_, s)| s.view()).collect())
}

pub async fn create(state: &AppState, input: &ScheduleInput, who: &str) -> Result<Schedule, AppError> {
    if input.datasource_id.is_none() {
        return Err(invalid("datasourceId", "Pick the data source this schedule warms."));
    }
    let mut s = Stored {
        id: format!("s{:012x}", rand::random::<u64>() >> 16),
        datasource_id: 0,
        cron: None,
        every_hours: None,
        only_if_older_than_minutes: None,
        enabled: true,
        next_run_at: None,
        last_run_at: None,
        last_result: None,
        created_by: who.to_string(),
        updated_at: 0,
    };
    apply(state, &mut s, input).await?;
    save(state, &s).await?;
    tracing::info!(action = "cache_schedule_created", who, schedule = %s.id, source = s.datasource_id, "schedule created");
    Ok(s.view())
}

pub async fn update(state: &AppState, id: &str, input: &ScheduleInput, who: &str) -> Result<Schedule, AppError> {
    let (_, mut s) = load(state, id).await?;
    apply(state, &mut s, input).await?;
    save(state, &s).await?;
    tracing::info!(action = "cache_schedule_updated", who, schedule = id, "schedule updated");
    Ok(s.view())
}

/// Deletes a schedule; the reason, when given, is logged.
pub async fn delete(state: &AppState, id: &str, who: &str, reason: Option<&Reason>) -> Result<(), AppError> {
    load(state, id).await?;
    let mut conn = state.redis.conn().await?;
    let _: () = redis::cmd("HDEL")
        .arg(state.keys.schedules())
        .arg(id)
        .query_async(&mut conn)
        .await
        .ctx("deleting a schedule")?;
    let reason = reason.map(Reason::as_str).unwrap_or("");
    tracing::info!(action = "cache_schedule_deleted", who, schedule = id, reason, "schedule deleted");
    Ok(())
}

/// Queues the schedule's warm now (a recent warm does not stop it; an active one does).
/// Counted against the caller's warm budget like any warm they start.
pub async fn run_now(state: &AppState, id: &str, who: &crate::auth::Principal) -> Result<WarmResponse, AppError> {
    let (_, s) = load(state, id).await?;
    let req = WarmRequest {
        datasource_id: DatasourceId::try_from(s.datasource_id).ok(),
        force: Some(true),
        reason: Reason::from_text(&format!("schedule {id} run now")),
        full: None,
    };
    let reply = service::metered_warm(state, &req, who, &format!("schedule:{id}")).await?;
    // "Last run" tells the truth after a Run now too (the scheduler's own runs record it in `tick`).
    let (_, mut latest) = load(state, id).await?;
    latest.last_run_at = Some(crate::time::now_ms());
    latest.last_result = Some(match &reply.job_id {
        Some(job) => format!("queued job {job} (run now)"),
        None => format!("skipped: {}", reply.message),
    });
    save(state, &latest).await?;
    Ok(reply)
}

/// Creates (no `id`) or changes a schedule for a signed-in caller, audited.
pub async fn save_as(
    state: &AppState,
    id: Option<&str>,
    input: &ScheduleInput,
    who: &crate::auth::Principal,
) -> Result<Schedule, AppError> {
    let act = match id {
        Some(id) => Act::new(AuditAction::CacheScheduleUpdated, format!("schedule {id}")),
        None => Act::new(AuditAction::CacheScheduleCreated, "new schedule"),
    };
    let act = act.source(input.datasource_id.map(|d| d.get()));
    let run = async {
        match id {
            Some(id) => update(state, id, input, &who.id).await,
            None => create(state, input, &who.id).await,
        }
    };
    audited(state, who, act, run, |s| {
        Done::detail(format!("schedule {}: {}{}", s.id, s.description, if s.enabled { "" } else { " (disabled)" }))
            .source(s.datasource_id)
    })
    .await
}

/// Deletes a schedule (with the dialog's reason) or runs it now, for a signed-in caller.
pub async fn act_as(
    state: &AppState,
    id: &str,
    action: ScheduleAction,
    reason: Option<&Reason>,
    who: &crate::auth::Principal,
) -> Result<Option<WarmResponse>, AppError> {
    match action {
        ScheduleAction::Delete => delete_as(state, id, reason, who).await.map(|()| None),
        ScheduleAction::Run => run_as(state, id, who).await.map(Some),
    }
}

/// [`delete`] for a signed-in caller, audited with the dialog's reason.
pub async fn delete_as(
    state: &AppState,
    id: &str,
    reason: Option<&Reason>,
    who: &crate::auth::Principal,
) -> Result<(), AppError> {
    let act = Act::new(AuditAction::CacheScheduleDeleted, format!("schedule {id}")).reason(reason.map(Reason::as_str));
    audited(state, who, act, delete(state, id, &who.id, reason), |()| Done::detail("deleted")).await
}

/// [`run_now`] for a signed-in caller: counts against their warm budget, audited.
pub async fn run_as(state: &AppState, id: &str, who: &crate::auth::Principal) -> Result<WarmResponse, AppError> {
    let act = Act::new(AuditAction::CacheScheduleRun, format!("schedule {id}"));
    audited(state, who, act, run_now(state, id, who), service::warm_done).await
}

/// Fires every due schedule once; returns how many this instance fired.
pub async fn tick(state: &AppState, now_ms: i64) -> Result<u64, AppError> {
    let mut fired = 0;
    for (raw, s) in load_all(state).await? {
        let due = s.enabled && s.next_run_at.is_some_and(|t| t <= now_ms);
        if !due {
            continue;
        }
        let mut claimed = s.clone();
        claimed.next_run_at = Some(s.next_after(now_ms)?);
        claimed.last_run_at = Some(now_ms);
        claimed.last_result = Some("starting".into());
        if !compare_and_set(state, &s.id, &raw, &claimed).await? {
            continue; // another instance fired it
        }
        fired += 1;
        let result = fire(state, &claimed).await;
        let (_, mut latest) = load(state, &s.id).await?;
        latest.last_result = Some(match result {
            Ok(r) => r,
            Err(e) => format!("failed: {}", e.message),
        });
        save(state, &latest).await?;
    }
    Ok(fired)
}

async fn fire(state: &AppState, s: &Stored) -> Result<String, AppError> {
    if let Some(job) = super::store::job_of_source(state, s.datasource_id).await? {
        return Ok(format!("skipped: job {} is still {}", job.job.job_id, job.job.status.as_str()));
    }
    if let Some(min) = s.only_if_older_than_minutes {
        let warmed = crate::cache::meta::last_warm(state, s.datasource_id)
            .await?
            .and_then(|m| crate::time::parse_iso_ms(&m.timestamp));
        if let Some(at) = warmed {
            let age = (crate::time::now_ms() - at).max(0) / 60_000;
            if age < min as i64 {
                return Ok(format!("skipped: the cache is {age} minutes old (runs when older than {min})"));
            }
        }
    }
    let req = WarmRequest {
        datasource_id: DatasourceId::try_from(s.datasource_id).ok(),
        force: Some(true),
        reason: Reason::from_text(&format!("schedule {}", s.id)),
        full: None,
    };
    let reply = service::request_warm(state, &req, "scheduler", &format!("schedule:{}", s.id)).await?;
    Ok(match (reply.datasources_queued.len(), reply.job_id) {
        (1, Some(job)) => format!("queued job {job}"),
        _ => format!("skipped: {}", reply.message),
    })
}
