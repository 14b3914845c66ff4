//! What the warming API and the console ask of the jobs layer: queue warms (one source or all),
//! report the shared status, and pause, resume or cancel a job.

use super::record::{Field, JobControl, JobRecord, NewJob};
use super::store::{self, Enqueued, FinishIf};
use crate::auth::Principal;
use crate::auth::audit::{Act, Done, audited};
use crate::auth::limits;
use crate::error::{AppError, ErrorCode};
use crate::model::audit::AuditAction;
use crate::model::cache::WarmPhase;
use crate::model::input::{JobAction, Reason, RecentJobs};
use crate::model::jobs::{Job, JobStatus, WarmRequest, WarmResponse, WarmSkip, WarmingStatus, WarmingSummary};
use crate::model::limits::LimitClass;
use crate::redis_conn::RedisResultExt;
use crate::source::SourceDef;
use crate::source::catalog::DefEntry;
use crate::state::AppState;

enum Outcome {
    Queued(String, u64),
    Skipped(WarmSkip),
}

async fn queue_one(
    state: &AppState,
    def: &SourceDef,
    force: bool,
    full: bool,
    who: &str,
    reason: Option<&str>,
    trigger: &str,
) -> Result<Outcome, AppError> {
    let meta = crate::cache::meta::last_warm(state, def.id).await?;
    if let Some(job) = store::job_of_source(state, def.id).await? {
        return Ok(Outcome::Skipped(WarmSkip {
            datasource_id: def.id,
            reason: format!("already {} as job {}", job.job.status.as_str(), job.job.job_id),
            job_id: Some(job.job.job_id),
        }));
    }
    if !force
        && let Some(m) = &meta
        && let Some(at) = crate::time::parse_iso_ms(&m.timestamp)
    {
        let age = (crate::time::now_ms() - at).max(0) / 1000;
        if age < state.config.min_rewarm_secs as i64 {
            return Ok(Outcome::Skipped(WarmSkip {
                datasource_id: def.id,
                reason: format!(
                    "it was warmed {} ago; wait {} more, or warm it again anyway",
                    crate::format::duration_secs(age as u64),
                    crate::format::duration_secs(state.config.min_rewarm_secs.saturating_sub(age as u64)),
                ),
                job_id: None,
            }));
        }
    }
    let estimate_ms = match meta.as_ref().and_then(|m| m.duration_ms) {
        Some(ms) => ms,
        // About 250k rows a second on the reference machine, when there is no history yet.
        None => crate::source::count(def).await.map(|rows| rows / 250).unwrap_or(0),
    };
    let new = NewJob { datasource_id: def.id, datasource_name: &def.name, requested_by: who, reason, trigger, full };
    Ok(match store::enqueue(state, &new).await? {
        Enqueued::New(id) => {
            tracing::info!(action = "cache_warm_initiated", who, source = def.id, job = %id, trigger, reason = reason.unwrap_or(""), "warm queued");
            Outcome::Queued(id, estimate_ms)
        }
        Enqueued::Existing(id) => Outcome::Skipped(WarmSkip {
            datasource_id: def.id,
            reason: format!("already queued or warming as job {id}"),
            job_id: Some(id),
        }),
    })
}

/// A source that can be warmed: it exists and is measure-based (a 404 or a 400 otherwise).
async fn warmable(state: &AppState, id: i64) -> Result<SourceDef, AppError> {
    let def = state.catalog.get(id).await?;
    if def.kind != crate::source::SourceKind::MeasureBased {
        return Err(AppError::validation(format!(
            "{} is table-based: only measure-based sources are warmed",
            def.label()
        )));
    }
    Ok(def)
}

/// [`request_warm`] on behalf of a signed-in caller (REST, server functions): checked first,
/// then counted once against the caller's warm budget (warm-all too), not counted when it
/// queued nothing (every source already warming or warmed recently), and audited.
pub async fn request_warm_as(
    state: &AppState,
    req: &WarmRequest,
    who: &Principal,
    trigger: &str,
) -> Result<WarmResponse, AppError> {
    let act = match req.datasource_id {
        Some(id) => Act::on_source(AuditAction::CacheWarmInitiated, id.get()),
        None => Act::new(AuditAction::CacheWarmInitiated, "all sources"),
    };
    let act = act.reason(req.reason.as_deref());
    audited(state, who, act, metered_warm(state, req, who, trigger), warm_done).await
}

/// What a warm request's audit entry says it did.
pub fn warm_done(r: &WarmResponse) -> Done {
    Done::detail(r.message.clone())
        .count("queued", r.datasources_queued.len() as u64)
        .count("skipped", r.skipped.len() as u64)
}

/// [`request_warm`] checked and counted against `who`'s warm budget (not audited: the caller
/// records what it was, a warm or a schedule's run).
pub async fn metered_warm(
    state: &AppState,
    req: &WarmRequest,
    who: &Principal,
    trigger: &str,
) -> Result<WarmResponse, AppError> {
    if let Some(id) = req.datasource_id {
        warmable(state, id.get()).await?;
    }
    limits::metered(state, who, LimitClass::Warm, request_warm(state, req, &who.id, trigger), |r| {
        !r.datasources_queued.is_empty()
    })
    .await
}

/// `POST …/cache/warm`: one source (`datasourceId`) or every warmable source. Not metered: the
/// scheduler calls it directly; callers acting for a person use [`request_warm_as`].
pub async fn request_warm(
    state: &AppState,
    req: &WarmRequest,
    who: &str,
    trigger: &str,
) -> Result<WarmResponse, AppError> {
    let force = req.force.unwrap_or(false);
    let full = req.full.unwrap_or(false);
    let reason = req.reason.as_deref().filter(|r| !r.is_empty());
    if let Some(id) = req.datasource_id {
        let def = warmable(state, id.get()).await?;
        return Ok(match queue_one(state, &def, force, full, who, reason, trigger).await? {
            Outcome::Queued(job, ms) => WarmResponse {
                job_id: Some(job.clone()),
                job_ids: None,
                datasources_queued: vec![def.id],
                estimated_duration: Some(ms.div_ceil(1000)),
                message: format!("warming {} as job {job}", def.name),
                skipped: Vec::new(),
            },
            Outcome::Skipped(skip) => WarmResponse {
                job_id: skip.job_id.clone(),
                job_ids: None,
                datasources_queued: Vec::new(),
                estimated_duration: None,
                message: format!("{} not queued: {}", def.name, skip.reason),
                skipped: vec![skip],
            },
        });
    }
    let entries = state.catalog.entries().await?;
    let (mut jobs, mut queued, mut skipped, mut total_ms) = (Vec::new(), Vec::new(), Vec::new(), 0u64);
    for entry in entries.iter() {
        match entry {
            DefEntry::Ok(def) if def.kind == crate::source::SourceKind::MeasureBased => {
                match queue_one(state, def, force, full, who, reason, trigger).await? {
                    Outcome::Queued(job, ms) => {
                        jobs.push(job);
                        queued.push(def.id);
                        total_ms += ms;
                    }
                    Outcome::Skipped(s) => skipped.push(s),
                }
            }
            DefEntry::Ok(def) => {
                skipped.push(WarmSkip { datasource_id: def.id, reason: "table-based: not warmed".into(), job_id: None })
            }
            DefEntry::Failed { header, error } => {
                skipped.push(WarmSkip { datasource_id: header.id, reason: error.message.clone(), job_id: None })
            }
        }
    }
    let parallel = state.config.max_concurrent_warms as u64;
    Ok(WarmResponse {
        job_id: None,
        datasources_queued: queued,
        estimated_duration: (!jobs.is_empty()).then(|| total_ms.div_ceil(1000).div_ceil(parallel)),
        message: format!("queued {} source(s), skipped {}", jobs.len(), skipped.len()),
        job_ids: Some(jobs),
        skipped,
    })
}

/// `GET …/cache/warming/status`: what every instance sees.
pub async fn status(state: &AppState) -> Result<WarmingStatus, AppError> {
    status_listing(state, RecentJobs::ALL).await
}

/// [`status`] listing only the newest `listed` finished jobs, for the console's pages, which
/// poll it every second or two during a warm and page the history on their own; the summary
/// still covers the last 50.
pub async fn status_listing(state: &AppState, listed: RecentJobs) -> Result<WarmingStatus, AppError> {
    let active: Vec<Job> = store::active(state).await?.into_iter().map(|r| r.job).collect();
    let mut recent: Vec<Job> = store::recent(state, RecentJobs::MAX).await?.into_iter().map(|r| r.job).collect();
    let finished = recent.len();
    let ok: Vec<&Job> = recent.iter().filter(|j| j.status == JobStatus::Completed).collect();
    let summary = WarmingSummary {
        active_count: active.len() as u64,
        success_rate: if finished == 0 { 0.0 } else { (ok.len() as f64 * 1000.0 / finished as f64).round() / 10.0 },
        avg_duration: if ok.is_empty() {
            0.0
        } else {
            (ok.iter().filter_map(|j| j.duration).sum::<u64>() as f64 / ok.len() as f64).round()
        },
        currently_warming: active
            .iter()
            .filter(|j| j.status != JobStatus::Queued)
            .map(|j| j.datasource_name.clone())
            .collect(),
    };
    recent.truncate(listed.get());
    Ok(WarmingStatus { active_jobs: active, recent_jobs: recent, summary, timestamp: crate::time::now_iso() })
}

fn check_job_id(id: &str) -> Result<(), AppError> {
    let ok =
        id.len() > 1 && id.len() <= 40 && id.starts_with('j') && id[1..].chars().all(|c| c.is_ascii_alphanumeric());
    if ok { Ok(()) } else { Err(AppError::validation(format!("`{id}` is not a job id"))) }
}

async fn existing(state: &AppState, id: &str) -> Result<JobRecord, AppError> {
    check_job_id(id)?;
    store::get(state, id).await?.ok_or_else(|| AppError::not_found(format!("no job with id {id}")))
}

pub async fn job(state: &AppState, id: &str) -> Result<Job, AppError> {
    Ok(existing(state, id).await?.job)
}

async fn set_control(state: &AppState, id: &str, value: Option<JobControl>) -> Result<(), AppError> {
    let mut conn = state.redis.conn().await?;
    let key = state.keys.job(id);
    let field = Field::Control.name();
    let _: () = match value {
        Some(v) => redis::cmd("HSET").arg(&key).arg(field).arg(v.as_str()).query_async(&mut conn).await,
        None => redis::cmd("HDEL").arg(&key).arg(field).query_async(&mut conn).await,
    }
    .ctx("controlling a job")?;
    Ok(())
}

fn finished(job: &Job) -> AppError {
    AppError::new(ErrorCode::Conflict, format!("job {} already {}", job.job_id, job.status.as_str()))
}

/// Pauses, resumes or cancels job `id` for a signed-in caller (a cancel with the dialog's
/// reason), audited.
pub async fn control_as(
    state: &AppState,
    id: &str,
    action: JobAction,
    reason: Option<&Reason>,
    who: &Principal,
) -> Result<Job, AppError> {
    let (audit_action, op) = match action {
        JobAction::Pause => (AuditAction::CacheJobPaused, "pause"),
        JobAction::Resume => (AuditAction::CacheJobResumed, "resume"),
        JobAction::Cancel => (AuditAction::CacheJobCancelled, "cancel"),
    };
    let act = Act::new(audit_action, format!("job {id}")).reason(reason.map(Reason::as_str));
    let run = async {
        match action {
            JobAction::Pause => pause(state, id, &who.id).await,
            JobAction::Resume => resume(state, id, &who.id).await,
            JobAction::Cancel => cancel(state, id, &who.id, reason).await,
        }
    };
    audited(state, who, act, run, |job| {
        Done::detail(format!("{op} requested; job is {}", job.status.as_str())).source(job.datasource_id)
    })
    .await
}

/// Pauses a running warm at its next batch boundary; its lock stays alive.
pub async fn pause(state: &AppState, id: &str, who: &str) -> Result<Job, AppError> {
    let record = existing(state, id).await?;
    match record.job.status {
        s if s.is_terminal() => return Err(finished(&record.job)),
        JobStatus::Queued => return Err(AppError::conflict(format!("job {id} has not started; cancel it instead"))),
        JobStatus::Swapping => {
            return Err(AppError::conflict(format!("job {id} is cutting over and cannot pause now")));
        }
        _ => {}
    }
    set_control(state, id, Some(JobControl::Pause)).await?;
    tracing::info!(action = "cache_warm_paused", who, job = id, "pause requested");
    job(state, id).await
}

pub async fn resume(state: &AppState, id: &str, who: &str) -> Result<Job, AppError> {
    let record = existing(state, id).await?;
    if record.job.status.is_terminal() {
        return Err(finished(&record.job));
    }
    if record.control != Some(JobControl::Pause) {
        return Err(match record.job.paused_reason {
            Some(r) => AppError::conflict(format!("job {id} was not paused by an administrator ({r})")),
            None => AppError::conflict(format!("job {id} is not paused")),
        });
    }
    set_control(state, id, None).await?;
    tracing::info!(action = "cache_warm_resumed", who, job = id, "resume requested");
    job(state, id).await
}

/// Cancels a job: a queued one is removed at once; a running one stops at its next batch,
/// discarding its shadows, and the live cache stays as it was. The reason, when given, is logged.
pub async fn cancel(state: &AppState, id: &str, who: &str, reason: Option<&Reason>) -> Result<Job, AppError> {
    let record = existing(state, id).await?;
    let job = &record.job;
    if job.status.is_terminal() {
        return Err(finished(job));
    }
    let fields = vec![
        (Field::Error, format!("cancelled by {who} before it started")),
        (Field::Phase, WarmPhase::Done.as_str().to_string()),
    ];
    let removed = store::finish(state, id, job.datasource_id, JobStatus::Cancelled, &fields, FinishIf::Queued).await?;
    if removed {
        let mut conn = state.redis.conn().await?;
        let _: () = redis::cmd("LREM")
            .arg(state.keys.job_queue())
            .arg(0)
            .arg(id)
            .query_async(&mut conn)
            .await
            .ctx("dequeuing a job")?;
    } else {
        set_control(state, id, Some(JobControl::Cancel)).await?;
    }
    let reason = reason.map(Reason::as_str).unwrap_or("");
    tracing::info!(action = "cache_warm_cancelled", who, job = id, queued = removed, reason, "cancel requested");
    self::job(state, id).await
}
