//! Per-user rate limits shared by every instance: one rolling-hour window per user and class in
//! Redis (a ZSET of reservations scored by time), checked and reserved by one Lua script so two
//! instances can never both hand out the last slot. Operations call [`metered`]: the slot is
//! reserved before the change and given back when the change fails or does nothing.

use std::future::Future;
use std::sync::LazyLock;

use redis::Script;

use super::Principal;
use crate::config::RateLimits;
use crate::error::AppError;
use crate::model::limits::{Budget, Budgets, LimitClass, WINDOW_SECS};
use crate::redis_conn::RedisResultExt;
use crate::state::AppState;

const WINDOW_MS: i64 = WINDOW_SECS as i64 * 1000;

/// A sliding-window log rather than GCRA: it enforces "at most N in any rolling hour" exactly
/// (GCRA with a burst of N lets nearly 2N through in the first hour), gives back exactly the
/// reservation it made, and holds at most N members per user and class.
///
/// KEYS[1] the window; ARGV now (ms), window (ms), limit, member (empty: only read). Returns
/// `{granted, used, wait_ms}`: `wait_ms` is, when refused, how long until a slot frees and,
/// when only read, until the oldest entry leaves (-1 when empty). The key expires a window
/// after its newest entry, so nothing stays behind.
static WINDOW: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local key = KEYS[1]
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local used = redis.call('ZCARD', key)
if ARGV[4] == '' then
  local first = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  if first[2] == nil then return {1, used, -1} end
  return {1, used, tonumber(first[2]) + window - now}
end
if used >= limit then
  -- Enough entries must leave that one fewer than the limit remain (the limit may have shrunk).
  local e = redis.call('ZRANGE', key, used - limit, used - limit, 'WITHSCORES')
  return {0, used, tonumber(e[2]) + window - now}
end
redis.call('ZADD', key, now, ARGV[4])
redis.call('PEXPIRE', key, window)
return {1, used + 1, 0}
",
    )
});

/// The configured per-hour limit of `class` (0: not limited).
pub fn limit_of(limits: &RateLimits, class: LimitClass) -> u32 {
    match class {
        LimitClass::Warm => limits.warm,
        LimitClass::Invalidate => limits.invalidate,
        LimitClass::Purge => limits.purge,
        LimitClass::Ttl => limits.ttl,
    }
}

/// One reserved slot; [`Ticket::refund`] gives it back.
#[derive(Debug)]
pub struct Ticket {
    /// `None` for a class that is not limited.
    slot: Option<(String, String)>,
}

impl Ticket {
    /// Gives the slot back. A failure is logged, not raised: the caller is already answering
    /// with the operation's own outcome, and the slot leaves the window within the hour anyway.
    pub async fn refund(self, state: &AppState) {
        let Some((key, member)) = self.slot else { return };
        let result: Result<i64, AppError> = async {
            let mut conn = state.redis.conn().await?;
            redis::cmd("ZREM").arg(&key).arg(&member).query_async(&mut conn).await.ctx("refunding a rate-limit slot")
        }
        .await;
        if let Err(e) = result {
            tracing::warn!(key, error = %e.message, "a rate-limit slot could not be given back");
        }
    }
}

/// Reserves one of `user`'s `class` slots as of `now_ms` (injected so tests can move time), or
/// refuses with 429, `Retry-After` and a sentence saying the limit and the wait. Redis being
/// unreachable is the usual 503: every metered action needs Redis anyway, so failing closed
/// costs nothing and never lets a burst through.
pub async fn take_at(state: &AppState, user: &str, class: LimitClass, now_ms: i64) -> Result<Ticket, AppError> {
    let limit = limit_of(&state.config.rate_limits, class);
    if limit == 0 {
        return Ok(Ticket { slot: None });
    }
    let key = state.keys.rate_window(user, class.as_str());
    let member = format!("{now_ms}-{:016x}", rand::random::<u64>());
    let mut conn = state.redis.conn().await?;
    let (granted, _used, wait_ms): (i64, i64, i64) = WINDOW
        .key(&key)
        .arg(now_ms)
        .arg(WINDOW_MS)
        .arg(limit)
        .arg(&member)
        .invoke_async(&mut conn)
        .await
        .ctx("checking the rate limit")?;
    if granted == 1 {
        return Ok(Ticket { slot: Some((key, member)) });
    }
    let retry_after = (wait_ms.max(1) as u64).div_ceil(1000);
    tracing::info!(user, class = class.as_str(), limit, retry_after, "rate limited");
    crate::metrics::rate_limited(class.as_str());
    Err(AppError::rate_limited(class.refusal(limit, retry_after), retry_after)
        .with_details(serde_json::json!({ "limit": class.as_str(), "perHour": limit, "retryAfterSecs": retry_after })))
}

/// [`take_at`] now, for the calling principal.
pub async fn take(state: &AppState, who: &Principal, class: LimitClass) -> Result<Ticket, AppError> {
    take_at(state, &who.id, class, crate::time::now_ms()).await
}

/// Runs `op` on `who`'s `class` budget: a slot is reserved first (429 when none is left), and
/// given back when `op` fails (a conflict, a vanished key, Redis) or `spent` says it changed
/// nothing (a warm that queued no source). Callers validate their input before calling this, so
/// a malformed request is answered 400 and never costs a slot.
pub async fn metered<T, F>(
    state: &AppState,
    who: &Principal,
    class: LimitClass,
    op: F,
    spent: impl FnOnce(&T) -> bool,
) -> Result<T, AppError>
where
    F: Future<Output = Result<T, AppError>>,
{
    let ticket = take(state, who, class).await?;
    let out = op.await;
    if !matches!(&out, Ok(v) if spent(v)) {
        ticket.refund(state).await;
    }
    out
}

/// `user`'s budget in every class as of `now_ms`; changes nothing.
pub async fn budgets_at(state: &AppState, user: &str, now_ms: i64) -> Result<Budgets, AppError> {
    let mut limits = Vec::with_capacity(LimitClass::ALL.len());
    for class in LimitClass::ALL {
        let limit = limit_of(&state.config.rate_limits, class);
        if limit == 0 {
            limits.push(Budget { class, limit: None, used: 0, remaining: None, next_in_secs: None });
            continue;
        }
        let mut conn = state.redis.conn().await?;
        let (_, used, wait_ms): (i64, i64, i64) = WINDOW
            .key(state.keys.rate_window(user, class.as_str()))
            .arg(now_ms)
            .arg(WINDOW_MS)
            .arg(limit)
            .arg("")
            .invoke_async(&mut conn)
            .await
            .ctx("reading the rate limits")?;
        let used = used.max(0) as u32;
        limits.push(Budget {
            class,
            limit: Some(limit),
            used,
            remaining: Some(limit.saturating_sub(used)),
            next_in_secs: (wait_ms >= 0).then(|| (wait_ms.max(1) as u64).div_ceil(1000)),
        });
    }
    Ok(Budgets { user: user.to_string(), window_secs: WINDOW_SECS, limits })
}

/// The calling principal's budgets now.
pub async fn budgets(state: &AppState, who: &Principal) -> Result<Budgets, AppError> {
    budgets_at(state, &who.id, crate::time::now_ms()).await
}

#[cfg(test)]
mod tests {
    /// Every REST handler and server function that changes something goes through the metered
    /// operation (`*_as`), so no path skips the budget; the unmetered ones are for the scheduler
    /// and tests.
    #[test]
    fn rest_and_server_functions_call_only_the_metered_operations() {
        let unmetered = [
            "request_warm(",
            "invalidate::invalidate(",
            "purge::purge(",
            "ttl::change(",
            "inspect::set_key_ttl(",
            "inspect::delete_key(",
        ];
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut found = Vec::new();
        for dir in ["api", "rpc"] {
            for entry in std::fs::read_dir(src.join(dir)).unwrap().flatten() {
                let text = std::fs::read_to_string(entry.path()).unwrap();
                for call in unmetered.iter().filter(|c| text.contains(*c)) {
                    found.push(format!("src/{dir}/{}: {call}", entry.file_name().to_string_lossy()));
                }
            }
        }
        assert!(found.is_empty(), "unmetered operations called from a handler:\n{}", found.join("\n"));
    }
}
