//! TTL by pattern, inside the prefix and the tab's namespaces, with a purge's rules: a preview
//! (how many keys, their current TTLs) that changes nothing and is what a request without a
//! confirmation gets; then, confirmed and with a reason, EXPIRE (or PERSIST for -1, confirmed on
//! its own) a SCAN page at a time. Hearth's own state and warm locks are left alone.

use std::time::Instant;

use super::browse::PREVIEW_EXAMINE_CAP;
use super::lane::Lane;
use super::patterns::{confirmed, matches_everything, validate_pattern};
use crate::auth::audit::{Act, Done, audited};
use crate::cache::scan::Walk;
use crate::error::AppError;
use crate::model::audit::AuditAction;
use crate::model::redis::{TtlBucket, TtlRequest, TtlResult};
use crate::redis_conn::{RedisResultExt, per_key};
use crate::state::AppState;

const PAGE: u64 = 1000;
/// The typed confirmation of a TTL change over every key the tab may change (`*`).
pub const CONFIRM_ALL: &str = crate::model::redis::CONFIRM_TTL_ALL;

const BUCKETS: [(&str, i64); 5] = [
    ("no expiry", -1),
    ("under 1 hour", 3600),
    ("under 1 day", 86_400),
    ("under 7 days", 604_800),
    ("7 days or more", i64::MAX),
];

fn bucket_of(ttl: i64) -> usize {
    if ttl < 0 { 0 } else { BUCKETS.iter().skip(1).position(|(_, limit)| ttl < *limit).map(|i| i + 1).unwrap_or(4) }
}

/// Whether `req` is a preview, after checking it as a purge is checked: the pattern, the lane,
/// and for a change its confirmation (typed for `*`, its own for -1) and reason.
fn check(state: &AppState, req: &TtlRequest) -> Result<bool, AppError> {
    validate_pattern(&req.pattern)?;
    Lane::of(state).check_change(&req.pattern)?;
    // Without an explicit confirmation a TTL request is a preview.
    if req.preview.unwrap_or(req.confirm.is_none()) {
        return Ok(true);
    }
    if !confirmed(&req.pattern, req.confirm.as_ref(), CONFIRM_ALL) {
        return Err(AppError::validation(if matches_everything(&req.pattern) {
            format!(
                "`{}` changes the TTL of every key the Redis tab may change under the prefix: confirm by sending the text `{CONFIRM_ALL}`",
                req.pattern
            )
        } else {
            "confirm the TTL change (confirm: true) after looking at its preview".to_string()
        }));
    }
    if req.ttl.is_persist() && req.confirm_persist != Some(true) {
        return Err(AppError::validation(
            "ttl -1 removes the expiry of every matching key, which then stays until deleted: confirm it with confirmPersist: true",
        ));
    }
    if req.reason.as_deref().unwrap_or("").trim().is_empty() {
        return Err(AppError::validation("a reason is required to change TTLs"));
    }
    Ok(false)
}

/// [`change`] on behalf of a signed-in caller: a preview is free; a change is checked, then
/// counted against the caller's TTL budget, and given back if it fails.
pub async fn change_as(
    state: &AppState,
    req: &TtlRequest,
    who: &crate::auth::Principal,
) -> Result<TtlResult, AppError> {
    let act = Act::new(AuditAction::RedisTtlUpdated, format!("pattern {}", req.pattern)).reason(req.reason.as_deref());
    let run = async {
        if check(state, req)? {
            return change(state, req, &who.id).await;
        }
        let op = change(state, req, &who.id);
        crate::auth::limits::metered(state, who, crate::model::limits::LimitClass::Ttl, op, |_| true).await
    };
    audited(state, who, act, run, |r| {
        let what = if r.ttl < 0 { "persist".to_string() } else { format!("expire in {} s", r.ttl) };
        Done::detail(if r.preview { format!("preview: {what}") } else { what })
            .count("matched", r.matched)
            .count("updated", r.updated)
    })
    .await
}

/// `POST /api/admin/redis/ttl`: a preview, or EXPIRE/PERSIST on every matching key the tab may
/// change.
pub async fn change(state: &AppState, req: &TtlRequest, who: &str) -> Result<TtlResult, AppError> {
    let preview = check(state, req)?;
    let ttl = req.ttl;
    let started = Instant::now();
    let lane = Lane::of(state);
    let mut conn = state.redis.bulk().await?;
    let mut walk = Walk::new(conn.clone(), state.keys.pattern(&req.pattern))
        .count(PAGE)
        .cap(if preview { PREVIEW_EXAMINE_CAP } else { u64::MAX })
        .across(&state.redis)
        .await?;
    let (mut matched, mut updated, mut protected, mut outside) = (0u64, 0u64, 0u64, 0u64);
    let mut counts = [0u64; 5];
    let mut sample = Vec::new();
    while let Some(page) = walk.next_page().await? {
        let page = lane.sort(page);
        (protected, outside) = (protected + page.protected, outside + page.outside);
        let keys = page.changeable;
        if keys.is_empty() {
            continue;
        }
        let ttls: Vec<i64> = per_key(&mut conn, keys.iter().map(|k| redis::cmd("TTL").arg(k).clone()).collect())
            .await
            .ctx("reading TTLs")?;
        for t in ttls.iter().filter(|t| **t != -2) {
            counts[bucket_of(*t)] += 1;
        }
        matched += keys.len() as u64;
        if !preview {
            let cmds = keys
                .iter()
                .map(|k| {
                    if ttl.is_persist() {
                        redis::cmd("PERSIST").arg(k).clone()
                    } else {
                        redis::cmd("EXPIRE").arg(k).arg(ttl.get()).clone()
                    }
                })
                .collect();
            let done: Vec<i64> = per_key(&mut conn, cmds).await.ctx("changing TTLs")?;
            updated += done.iter().filter(|d| **d == 1).count() as u64;
        }
        sample.extend(keys.into_iter().take(100usize.saturating_sub(sample.len())));
    }
    if !preview {
        tracing::info!(action = "redis_ttl_updated", who, pattern = %req.pattern, ttl = ttl.get(), matched, updated, reason = req.reason.as_deref().unwrap_or(""), "TTL changed by pattern");
    }
    Ok(TtlResult {
        pattern: req.pattern.clone(),
        preview,
        matched,
        updated,
        ttl: ttl.get(),
        skipped_protected: protected,
        skipped_outside: outside,
        examined: if preview { walk.examined() } else { 0 },
        truncated: !walk.is_done(),
        distribution: BUCKETS
            .iter()
            .zip(counts)
            .map(|((label, _), keys)| TtlBucket { label: label.to_string(), keys })
            .collect(),
        keys: sample.iter().map(|k| state.keys.strip(k).unwrap_or(k).to_string()).collect(),
        duration_ms: started.elapsed().as_millis() as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::bucket_of;

    #[test]
    fn ttls_fall_in_their_bucket() {
        assert_eq!(bucket_of(-1), 0);
        assert_eq!(bucket_of(59), 1);
        assert_eq!(bucket_of(3600), 2);
        assert_eq!(bucket_of(86_399), 2);
        assert_eq!(bucket_of(600_000), 3);
        assert_eq!(bucket_of(10_000_000), 4);
    }
}
