//! The per-source warm lock `lock:cache:warm:{ds:N}` (SPEC §1–§2): taken with SET NX PX and an
//! owner token, kept alive by a heartbeat on its own timer (not per batch), released only by its
//! owner (compare-and-delete). The command center's warmers skip a source while it exists.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use redis::Script;

use crate::cache::keys::Keys;
use crate::error::AppError;
use crate::redis_conn::{RedisConn, RedisResultExt};

const RENEW: &str =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end";
const RELEASE: &str =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end";
/// Attempts at releasing a lock (150, 300, 450 ms apart) before it is left to its lease.
const RELEASE_TRIES: u32 = 4;

/// Who holds a lock, from its token `<what>@<instance>` (`job:abc@host-12`).
pub fn describe_holder(token: &str) -> String {
    match token.split_once('@') {
        Some((what, instance)) => match what.split_once(':') {
            Some(("job", id)) => format!("job {id} on {instance}"),
            Some(("invalidate", _)) => format!("an invalidation on {instance}"),
            _ => format!("{what} on {instance}"),
        },
        None => format!("another process ({token})"),
    }
}

pub struct WarmLock {
    redis: RedisConn,
    key: String,
    token: String,
    lost: Arc<AtomicBool>,
    heartbeat: tokio::task::JoinHandle<()>,
}

impl WarmLock {
    /// Takes the lock of source `ds` or answers 409 naming who holds it.
    pub async fn acquire(
        redis: &RedisConn,
        keys: &Keys,
        ds: i64,
        token: &str,
        ttl: Duration,
    ) -> Result<WarmLock, AppError> {
        let key = keys.lock(ds);
        let mut conn = redis.conn().await?;
        let taken: Option<String> = redis::cmd("SET")
            .arg(&key)
            .arg(token)
            .arg("NX")
            .arg("PX")
            .arg(ttl.as_millis() as u64)
            .query_async(&mut conn)
            .await
            .ctx("taking the warm lock")?;
        if taken.is_none() {
            let holder: Option<String> =
                redis::cmd("GET").arg(&key).query_async(&mut conn).await.ctx("reading the warm lock")?;
            let who = holder.as_deref().map(describe_holder).unwrap_or_else(|| "another process".into());
            return Err(AppError::conflict(format!("source {ds} is being warmed or invalidated by {who}"))
                .with_details(serde_json::json!({ "datasourceId": ds, "holder": holder })));
        }
        let lost = Arc::new(AtomicBool::new(false));
        let heartbeat = tokio::spawn(heartbeat(redis.clone(), key.clone(), token.to_string(), ttl, lost.clone()));
        Ok(WarmLock { redis: redis.clone(), key, token: token.to_string(), lost, heartbeat })
    }

    pub fn token(&self) -> &str {
        &self.token
    }

    /// True once a renewal found the lock gone or owned by someone else.
    pub fn is_lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }

    /// Deletes the lock if (and only if) it is still ours. A run usually fails because Redis
    /// blinked (a primary failing over, a restart), so the release tries again for about a
    /// second before leaving the lock to expire: otherwise the next warm waits a whole lease.
    pub async fn release(self) -> Result<bool, AppError> {
        self.heartbeat.abort();
        let mut tries = 0u32;
        loop {
            let released = async {
                let mut conn = self.redis.conn().await?;
                let deleted: i64 = Script::new(RELEASE)
                    .key(&self.key)
                    .arg(&self.token)
                    .invoke_async(&mut conn)
                    .await
                    .ctx("releasing the warm lock")?;
                Ok::<_, AppError>(deleted == 1)
            }
            .await;
            tries += 1;
            match released {
                Err(e) if tries < RELEASE_TRIES => {
                    tracing::debug!(lock = %self.key, error = %e.message, "releasing the warm lock failed; trying again");
                    tokio::time::sleep(Duration::from_millis(150 * u64::from(tries))).await;
                }
                done => return done,
            }
        }
    }
}

impl Drop for WarmLock {
    fn drop(&mut self) {
        // Without an explicit release the lock simply expires after its TTL.
        self.heartbeat.abort();
    }
}

async fn heartbeat(redis: RedisConn, key: String, token: String, ttl: Duration, lost: Arc<AtomicBool>) {
    let every = ttl / 3;
    let script = Script::new(RENEW);
    loop {
        tokio::time::sleep(every).await;
        let renewed: Result<i64, _> = async {
            let mut conn = redis.conn().await?;
            script
                .key(&key)
                .arg(&token)
                .arg(ttl.as_millis() as u64)
                .invoke_async(&mut conn)
                .await
                .ctx("renewing the warm lock")
        }
        .await;
        match renewed {
            Ok(1) => {}
            Ok(_) => {
                tracing::warn!(lock = %key, "warm lock lost: it expired or another owner took it");
                lost.store(true, Ordering::SeqCst);
                return;
            }
            // Redis blinked: try again next beat; the lease still has two beats of margin.
            Err(e) => tracing::warn!(lock = %key, error = %e.message, "could not renew the warm lock"),
        }
    }
}

/// The token currently holding source `ds`'s lock, if any.
pub async fn holder(redis: &RedisConn, keys: &Keys, ds: i64) -> Result<Option<String>, AppError> {
    let mut conn = redis.conn().await?;
    redis::cmd("GET").arg(keys.lock(ds)).query_async(&mut conn).await.ctx("reading the warm lock")
}

/// Deletes source `ds`'s lock if `token` still holds it (recovering a lost worker's lock).
pub async fn release_if_owner(redis: &RedisConn, keys: &Keys, ds: i64, token: &str) -> Result<bool, AppError> {
    let mut conn = redis.conn().await?;
    let deleted: i64 = Script::new(RELEASE)
        .key(keys.lock(ds))
        .arg(token)
        .invoke_async(&mut conn)
        .await
        .ctx("releasing a lost lock")?;
    Ok(deleted == 1)
}
