//! TTL by pattern, inside the prefix: a preview (how many keys, their current TTLs) that changes
//! nothing, then EXPIRE (or PERSIST for -1) a SCAN page at a time. Warm locks and purge records are left alone.

use std::time::Instant;

use super::browse::single_server;
use super::patterns::validate_pattern;
use crate::auth::audit::{Act, Done, audited};
use crate::cache::scan::Walk;
use crate::error::AppError;
use crate::model::audit::AuditAction;
use crate::model::redis::{TtlBucket, TtlRequest, TtlResult};
use crate::redis_conn::RedisResultExt;
use crate::state::AppState;

const PAGE: u64 = 1000;

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

/// [`change`] on behalf of a signed-in caller: a preview is free; a change is checked, then
/// counted against the caller's TTL budget, and given back if it fails.
pub async fn change_as(
    state: &AppState,
    req: &TtlRequest,
    who: &crate::auth::Principal,
) -> Result<TtlResult, AppError> {
    let act = Act::new(AuditAction::RedisTtlUpdated, format!("pattern {}", req.pattern)).reason(req.reason.as_deref());
    let run = async {
        if req.preview.unwrap_or(false) {
            return change(state, req, &who.id).await;
        }
        single_server(state)?;
        validate_pattern(&req.pattern)?;
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

/// `POST /api/admin/redis/ttl`: a preview, or EXPIRE/PERSIST on every matching key.
pub async fn change(state: &AppState, req: &TtlRequest, who: &str) -> Result<TtlResult, AppError> {
    single_server(state)?;
    validate_pattern(&req.pattern)?;
    let ttl = req.ttl;
    let preview = req.preview.unwrap_or(false);
    let started = Instant::now();
    let mut conn = state.redis.bulk().await?;
    let mut walk = Walk::new(conn.clone(), state.keys.pattern(&req.pattern)).count(PAGE).skip_protected(&state.keys);
    let (mut matched, mut updated) = (0u64, 0u64);
    let mut counts = [0u64; 5];
    let mut sample = Vec::new();
    while let Some(keys) = walk.next_page().await? {
        if keys.is_empty() {
            continue;
        }
        let mut pipe = redis::pipe();
        for k in &keys {
            pipe.cmd("TTL").arg(k);
        }
        let ttls: Vec<i64> = pipe.query_async(&mut conn).await.ctx("reading TTLs")?;
        for t in ttls.iter().filter(|t| **t != -2) {
            counts[bucket_of(*t)] += 1;
        }
        matched += keys.len() as u64;
        if !preview {
            let mut pipe = redis::pipe();
            for k in &keys {
                if ttl.is_persist() {
                    pipe.cmd("PERSIST").arg(k)
                } else {
                    pipe.cmd("EXPIRE").arg(k).arg(ttl.get())
                };
            }
            let done: Vec<i64> = pipe.query_async(&mut conn).await.ctx("changing TTLs")?;
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
