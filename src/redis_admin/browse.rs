//! The key browser: SCAN with MATCH, COUNT and an optional TYPE, inside the prefix and the tab's
//! namespaces only, with a hard cap on keys examined per request and a cursor to continue (never
//! "page N" rescans). On a cluster the walk goes through every primary in turn and the cursor
//! names the node it stands on.

use super::lane::Lane;
use super::patterns::validate_pattern;
use crate::cache::scan::Walk;
use crate::error::AppError;
use crate::model::redis::{KeyPage, KeyRow};
use crate::redis_conn::{RedisResultExt, per_key};
use crate::state::AppState;

/// Keys Redis looks at per request, at most: one request stays a few milliseconds of Redis work.
pub const EXAMINE_CAP: u64 = 20_000;
/// Keys a preview of a purge or TTL change (by pattern) looks at, at most; the change itself goes
/// through the whole keyspace a page at a time. Previews are free of rate limits, so this bounds
/// what one request can cost: at SCAN COUNT 1000, 500 SCAN calls (about 2 ms of Redis time each
/// at 200k keys, measured), a second or two in all. It is far above the keyspace Hearth's tests run
/// beside (300k keys of noise), so an ordinary preview counts everything.
pub const PREVIEW_EXAMINE_CAP: u64 = 500_000;
const STEP: u64 = 1000;
pub const TYPES: [&str; 6] = ["string", "hash", "list", "set", "zset", "stream"];

/// TYPE, TTL and size of `keys` (prefixed), in one round ([`per_key`]: a pipeline on a single
/// server, each command to its key's node on a cluster). `MEMORY USAGE` with its default
/// sample: `SAMPLES 0` would walk every element of a large hash or set.
pub async fn describe(state: &AppState, keys: &[String]) -> Result<Vec<KeyRow>, AppError> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let mut cmds = Vec::with_capacity(keys.len() * 3);
    for k in keys {
        cmds.push(redis::cmd("TYPE").arg(k).clone());
        cmds.push(redis::cmd("TTL").arg(k).clone());
        cmds.push(redis::cmd("MEMORY").arg("USAGE").arg(k).clone());
    }
    let mut conn = state.redis.conn().await?;
    let flat: Vec<redis::Value> = per_key(&mut conn, cmds).await.ctx("describing keys")?;
    let mut rows = Vec::with_capacity(keys.len());
    for (key, triple) in keys.iter().zip(flat.chunks(3)) {
        let kind: String = redis::from_redis_value(triple[0].clone()).unwrap_or_else(|_| "none".into());
        let ttl: i64 = redis::from_redis_value(triple[1].clone()).unwrap_or(-2);
        let size: Option<u64> = redis::from_redis_value(triple[2].clone()).unwrap_or(None);
        rows.push(KeyRow { key: state.keys.strip(key).unwrap_or(key).to_string(), kind, ttl, size });
    }
    Ok(rows)
}

pub async fn browse(
    state: &AppState,
    pattern: &str,
    cursor: &str,
    limit: usize,
    kind: Option<&str>,
) -> Result<KeyPage, AppError> {
    validate_pattern(pattern)?;
    let lane = Lane::of(state);
    lane.check_browse(pattern)?;
    if !(1..=500).contains(&limit) {
        return Err(AppError::validation("limit must be between 1 and 500"));
    }
    if let Some(k) = kind
        && !TYPES.contains(&k)
    {
        return Err(AppError::validation(format!("type must be one of {}", TYPES.join(", "))));
    }
    let mut walk = Walk::new(state.redis.conn().await?, state.keys.pattern(pattern))
        .across(&state.redis)
        .await?
        .resume(cursor)?
        .kind(kind)
        .cap(EXAMINE_CAP);
    let (mut found, mut hidden) = (Vec::new(), 0);
    // Start with COUNT = the page size, so a dense pattern yields about one page; widen the
    // step while matches are sparse.
    let mut step = (limit as u64).max(10);
    while found.len() < limit {
        walk.set_count(step);
        let Some(keys) = walk.next_page().await? else { break };
        if (keys.len() as u64) < step / 4 {
            step = (step * 2).min(STEP);
        }
        // SCAN can return a little more than asked; the cursor has moved past them, so all are
        // shown (a key it repeats, once).
        let (shown, outside) = lane.listable(keys);
        found.extend(shown);
        hidden += outside;
    }
    let keys = describe(state, &found).await?;
    Ok(KeyPage {
        keys,
        cursor: walk.token(),
        pattern: pattern.to_string(),
        examined: walk.examined(),
        has_more: !walk.is_done(),
        hidden,
    })
}
