//! Purge by pattern, inside the prefix and the tab's namespaces: a preview first (how many, the
//! first 100, estimated memory; over at most `PREVIEW_EXAMINE_CAP` keys), then deletion by UNLINK
//! a SCAN page at a time with progress and abort, and a final summary. Never KEYS, never
//! FLUSHDB/FLUSHALL: "everything" means every key the tab may change under the prefix, and needs
//! the typed confirmation `purge all`. Hearth's own state and warm locks are never purged.

use std::time::Instant;

use super::browse::PREVIEW_EXAMINE_CAP;
use super::lane::Lane;
use super::patterns::{confirmed, matches_everything, validate_pattern};
use crate::auth::audit::{Act, Done, audited};
use crate::cache::scan::Walk;
use crate::cache::scan::memory::MemorySample;
use crate::error::AppError;
use crate::model::audit::AuditAction;
use crate::model::limits::LimitClass;
use crate::model::redis::{PurgeRequest, PurgeResult};
use crate::redis_conn::RedisResultExt;
use crate::state::AppState;

pub const CONFIRM_ALL: &str = crate::model::redis::CONFIRM_PURGE_ALL;
const SAMPLE: usize = 100;
const MEMORY_SAMPLES: usize = 50;
const PAGE: u64 = 1000;

fn check(state: &AppState, req: &PurgeRequest) -> Result<bool, AppError> {
    validate_pattern(&req.pattern)?;
    Lane::of(state).check_change(&req.pattern)?;
    // Without an explicit confirmation a purge request is a preview.
    let preview = req.preview.unwrap_or(req.confirm.is_none());
    if preview {
        return Ok(true);
    }
    if !confirmed(&req.pattern, req.confirm.as_ref(), CONFIRM_ALL) {
        return Err(AppError::validation(if matches_everything(&req.pattern) {
            format!(
                "`{}` deletes every key the Redis tab may change under the prefix: confirm by sending the text `{CONFIRM_ALL}`",
                req.pattern
            )
        } else {
            "confirm the purge (confirm: true) after looking at its preview".to_string()
        }));
    }
    if req.reason.as_deref().unwrap_or("").trim().is_empty() {
        return Err(AppError::validation("a reason is required to purge keys"));
    }
    Ok(false)
}

/// Every matching key (prefixed), a SCAN page at a time; the caller sorts each page by the lane.
async fn walk(state: &AppState, pattern: &str) -> Result<Walk, AppError> {
    Walk::new(state.redis.conn().await?, state.keys.pattern(pattern)).count(PAGE).across(&state.redis).await
}

async fn preview(state: &AppState, pattern: &str) -> Result<PurgeResult, AppError> {
    let started = Instant::now();
    let lane = Lane::of(state);
    let (mut keys, mut protected, mut outside) = (Vec::new(), 0, 0);
    let mut memory = MemorySample::new(MEMORY_SAMPLES, MEMORY_SAMPLES);
    let mut conn = state.redis.conn().await?;
    let mut walk = walk(state, pattern).await?.cap(PREVIEW_EXAMINE_CAP);
    while let Some(page) = walk.next_page().await? {
        let page = lane.sort(page);
        (protected, outside) = (protected + page.protected, outside + page.outside);
        memory.add(&mut conn, &page.changeable).await?;
        keys.extend(page.changeable.into_iter().take(SAMPLE.saturating_sub(keys.len())));
    }
    Ok(PurgeResult {
        success: true,
        pattern: pattern.to_string(),
        preview: true,
        keys_deleted: 0,
        matched: memory.keys(),
        failed: 0,
        skipped_protected: protected,
        skipped_outside: outside,
        examined: walk.examined(),
        truncated: !walk.is_done(),
        estimated_bytes: Some(memory.estimate() as u64),
        keys: keys.iter().map(|k| state.keys.strip(k).unwrap_or(k).to_string()).collect(),
        duration_ms: started.elapsed().as_millis() as u64,
        purge_id: None,
        done: true,
        aborted: false,
    })
}

/// [`purge`] on behalf of a signed-in caller: a preview is free; a purge is checked (pattern,
/// confirmation, reason), then counted against the caller's purge budget, and given back if it
/// fails.
pub async fn purge_as(
    state: &AppState,
    req: &PurgeRequest,
    who: &crate::auth::Principal,
) -> Result<PurgeResult, AppError> {
    let act = Act::new(AuditAction::RedisCachePurged, format!("pattern {}", req.pattern)).reason(req.reason.as_deref());
    // A purge run in the background gets a second entry when it ends: what it deleted, whether
    // it was aborted, or why it stopped.
    let (end_state, end_who, end_act) = (state.clone(), who.clone(), act.clone());
    let when_done: WhenDone = Box::new(move |outcome| {
        let (status, done) = match outcome {
            Ok(r) => {
                let how = if r.aborted { "aborted" } else { "finished" };
                let id = r.purge_id.as_deref().unwrap_or("");
                let done = Done::detail(format!("background purge {id} {how}"))
                    .count("deleted", r.keys_deleted)
                    .count("failed", r.failed)
                    .count("skippedProtected", r.skipped_protected);
                (200, done)
            }
            Err(e) => (e.status(), Done::detail(format!("background purge stopped: {}", e.message))),
        };
        crate::auth::audit::record(&end_state, Some(&end_who), &end_who.request, end_act, status, done);
    });
    let run = async {
        if check(state, req)? {
            return preview(state, &req.pattern).await;
        }
        let purge = purge_then(state, req, &who.id, Some(when_done));
        crate::auth::limits::metered(state, who, LimitClass::Purge, purge, |_| true).await
    };
    audited(state, who, act, run, |r| {
        let detail = match &r.purge_id {
            _ if r.preview => "preview".to_string(),
            Some(id) if !r.done => format!("running in the background as purge {id}"),
            _ => "purged".to_string(),
        };
        Done::detail(detail)
            .count("matched", r.matched)
            .count("deleted", if r.preview { 0 } else { r.keys_deleted })
            .count("skippedProtected", r.skipped_protected)
    })
    .await
}

/// [`abort`] for a signed-in caller, audited.
pub async fn abort_as(state: &AppState, id: &str, who: &crate::auth::Principal) -> Result<PurgeResult, AppError> {
    let act = Act::new(AuditAction::RedisPurgeAborted, format!("purge {id}"));
    audited(state, who, act, abort(state, id, &who.id), |r| {
        Done::detail(format!("pattern {}", r.pattern)).count("deleted", r.keys_deleted)
    })
    .await
}

/// Told how a purge started in the background ended.
type WhenDone = Box<dyn FnOnce(Result<&PurgeResult, &AppError>) + Send>;

/// `POST /api/admin/redis/purge`: a preview, a purge run to the end, or (`async`) a purge
/// started in the background whose progress `status` reports.
pub async fn purge(state: &AppState, req: &PurgeRequest, who: &str) -> Result<PurgeResult, AppError> {
    purge_then(state, req, who, None).await
}

/// [`purge`], calling `when_done` once a background purge has ended.
async fn purge_then(
    state: &AppState,
    req: &PurgeRequest,
    who: &str,
    when_done: Option<WhenDone>,
) -> Result<PurgeResult, AppError> {
    if check(state, req)? {
        return preview(state, &req.pattern).await;
    }
    let id = format!("p{:012x}", rand::random::<u64>() >> 16);
    let key = state.keys.purge(&id);
    let mut conn = state.redis.conn().await?;
    let _: () = redis::pipe()
        .cmd("HSET")
        .arg(&key)
        .arg("pattern")
        .arg(&req.pattern)
        .arg("who")
        .arg(who)
        .arg("deleted")
        .arg(0)
        .arg("done")
        .arg(0)
        .ignore()
        .cmd("EXPIRE")
        .arg(&key)
        .arg(86_400)
        .ignore()
        .query_async(&mut conn)
        .await
        .ctx("starting a purge")?;
    tracing::info!(action = "redis_cache_purged", who, pattern = %req.pattern, reason = req.reason.as_deref().unwrap_or(""), purge = %id, "purge started");
    if req.run_async.unwrap_or(false) {
        let (task_state, pattern) = (state.clone(), req.pattern.clone());
        let task_id = id.clone();
        tokio::spawn(async move {
            let outcome = run(&task_state, &task_id, &pattern).await;
            if let Err(e) = &outcome {
                tracing::warn!(purge = %task_id, error = %e.message, "purge stopped by an error");
            }
            if let Some(tell) = when_done {
                tell(outcome.as_ref());
            }
        });
        return status(state, &id).await;
    }
    run(state, &id, &req.pattern).await
}

/// Deletes page by page, recording progress and stopping at the next page when aborted.
async fn run(state: &AppState, id: &str, pattern: &str) -> Result<PurgeResult, AppError> {
    let started = Instant::now();
    let record = state.keys.purge(id);
    let lane = Lane::of(state);
    let (mut deleted, mut failed, mut aborted, mut sample) = (0u64, 0u64, false, Vec::new());
    let (mut locks, mut outside) = (0u64, 0u64);
    let outcome: Result<(), AppError> = async {
        let mut walk = walk(state, pattern).await?;
        let mut conn = state.redis.bulk().await?;
        while let Some(page) = walk.next_page().await? {
            let abort: Option<String> =
                redis::cmd("HGET").arg(&record).arg("abort").query_async(&mut conn).await.ctx("reading a purge")?;
            if abort.is_some() {
                aborted = true;
                return Ok(());
            }
            let page = lane.sort(page);
            (locks, outside) = (locks + page.protected, outside + page.outside);
            let doomed = page.changeable;
            if !doomed.is_empty() {
                match redis::cmd("UNLINK").arg(&doomed).query_async::<u64>(&mut conn).await {
                    Ok(n) => deleted += n,
                    Err(e) => {
                        tracing::warn!(error = %e, "a purge batch failed");
                        failed += doomed.len() as u64;
                    }
                }
                for k in doomed.into_iter().take(SAMPLE.saturating_sub(sample.len())) {
                    sample.push(k);
                }
            }
            let _: () = redis::cmd("HSET")
                .arg(&record)
                .arg("deleted")
                .arg(deleted)
                .arg("failed")
                .arg(failed)
                .arg("locks")
                .arg(locks)
                .arg("outside")
                .arg(outside)
                .arg("ms")
                .arg(started.elapsed().as_millis() as u64)
                .query_async(&mut conn)
                .await
                .ctx("recording purge progress")?;
        }
        Ok(())
    }
    .await;
    let mut conn = state.redis.conn().await?;
    let _: () = redis::cmd("HSET")
        .arg(&record)
        .arg("done")
        .arg(1)
        .arg("aborted")
        .arg(aborted as u8)
        .arg("error")
        .arg(outcome.as_ref().err().map(|e| e.message.clone()).unwrap_or_default())
        .arg("ms")
        .arg(started.elapsed().as_millis() as u64)
        .query_async(&mut conn)
        .await
        .ctx("finishing a purge")?;
    outcome?;
    tracing::info!(
        action = "redis_cache_purged",
        purge = id,
        deleted,
        failed,
        aborted,
        ms = started.elapsed().as_millis() as u64,
        "purge finished"
    );
    Ok(PurgeResult {
        success: failed == 0 && !aborted,
        pattern: pattern.to_string(),
        preview: false,
        keys_deleted: deleted,
        matched: deleted + failed,
        failed,
        skipped_protected: locks,
        skipped_outside: outside,
        examined: 0,
        truncated: false,
        estimated_bytes: None,
        keys: sample.iter().map(|k| state.keys.strip(k).unwrap_or(k).to_string()).collect(),
        duration_ms: started.elapsed().as_millis() as u64,
        purge_id: Some(id.to_string()),
        done: true,
        aborted,
    })
}

fn check_id(id: &str) -> Result<(), AppError> {
    if id.len() > 1 && id.len() <= 20 && id.starts_with('p') && id[1..].chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(AppError::validation(format!("`{id}` is not a purge id")))
    }
}

/// Progress of a purge, from any instance.
pub async fn status(state: &AppState, id: &str) -> Result<PurgeResult, AppError> {
    check_id(id)?;
    let mut conn = state.redis.conn().await?;
    let m: std::collections::HashMap<String, String> =
        redis::cmd("HGETALL").arg(state.keys.purge(id)).query_async(&mut conn).await.ctx("reading a purge")?;
    if m.is_empty() {
        return Err(AppError::not_found(format!("no purge with id {id}")));
    }
    let n = |k: &str| m.get(k).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    let error = m.get("error").filter(|e| !e.is_empty());
    Ok(PurgeResult {
        success: error.is_none() && n("failed") == 0 && n("aborted") == 0,
        pattern: m.get("pattern").cloned().unwrap_or_default(),
        preview: false,
        keys_deleted: n("deleted"),
        matched: n("deleted") + n("failed"),
        failed: n("failed"),
        skipped_protected: n("locks"),
        skipped_outside: n("outside"),
        examined: 0,
        truncated: false,
        estimated_bytes: None,
        keys: Vec::new(),
        duration_ms: n("ms"),
        purge_id: Some(id.to_string()),
        done: n("done") == 1,
        aborted: n("aborted") == 1,
    })
}

/// Asks a running purge to stop at its next page.
pub async fn abort(state: &AppState, id: &str, who: &str) -> Result<PurgeResult, AppError> {
    let current = status(state, id).await?;
    if !current.done {
        let mut conn = state.redis.conn().await?;
        let _: () = redis::cmd("HSET")
            .arg(state.keys.purge(id))
            .arg("abort")
            .arg(who)
            .query_async(&mut conn)
            .await
            .ctx("aborting a purge")?;
        tracing::info!(purge = id, who, "purge abort requested");
    }
    status(state, id).await
}
