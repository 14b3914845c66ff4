//! The diff cutover of an incremental warm: one MULTI/EXEC on the source's slot renames the
//! shadows of changed and new entries over the live keys, deletes removed entries, applies the
//! difference to the live index sets (SADD/SREM, emptied sets deleted), updates the digests and
//! writes the metadata. Its cost scales with the change, not with the source. It checks first, with
//! the control keys WATCHed, that the lock is ours, that the live generation is still the one the
//! warm compared against (an invalidation meanwhile makes it refuse), and that every shadow exists.

use std::collections::HashMap;
use std::time::Instant;

use redis::aio::MultiplexedConnection;

use super::{CutoverReport, completed_despite_timeout, failed, incomplete, lock_lost};
use crate::cache::digest::{FORMAT, FORMAT_FIELD, GENERATION_FIELD};
use crate::error::AppError;
use crate::redis_conn::RedisResultExt;
use crate::state::AppState;

const CHUNK: usize = 1000;
const ATTEMPTS: usize = 5;

/// The difference between the live generation and this run, every name unprefixed.
pub struct DiffInput<'a> {
    pub ds: i64,
    pub run_id: &'a str,
    pub lock_token: &'a str,
    /// The live generation the warm compared against.
    pub base_generation: &'a str,
    /// Changed and new entries (their shadows were written) with their digest values.
    pub written: &'a [(String, String)],
    pub removed: &'a [String],
    /// Index set → members to add / to remove.
    pub adds: &'a HashMap<String, Vec<String>>,
    pub rems: &'a HashMap<String, Vec<String>>,
    /// Index sets the live generation lacks / that the new one no longer has.
    pub new_sets: &'a [String],
    pub gone_sets: &'a [String],
    pub meta_json: String,
    pub dims_json: String,
}

pub async fn run(state: &AppState, input: &DiffInput<'_>) -> Result<CutoverReport, AppError> {
    let mut conn = state.redis.dedicated(&state.keys.master(input.ds)).await?;
    for attempt in 1..=ATTEMPTS {
        match attempt_once(state, input, &mut conn).await? {
            Some(report) => return Ok(report),
            None => tracing::debug!(source = input.ds, attempt, "a watched key changed before EXEC; checking again"),
        }
    }
    Err(AppError::conflict(format!(
        "source {}: its keys kept changing during the cutover; nothing was changed",
        input.ds
    )))
}

async fn attempt_once(
    state: &AppState,
    input: &DiffInput<'_>,
    conn: &mut MultiplexedConnection,
) -> Result<Option<CutoverReport>, AppError> {
    let keys = &state.keys;
    let ds = input.ds;
    let shadow = keys.shadow(ds, input.run_id);
    let (digests, index_list) = (keys.digests(ds), keys.index_list(ds));
    let watched =
        [keys.lock(ds), keys.meta(ds), keys.generation(ds), digests.clone(), index_list.clone(), keys.master(ds)];
    let (lock, generation, digest_gen): (Option<String>, Option<String>, Option<String>) = redis::pipe()
        .cmd("WATCH")
        .arg(&watched)
        .ignore()
        .cmd("GET")
        .arg(keys.lock(ds))
        .cmd("GET")
        .arg(keys.generation(ds))
        .cmd("HGET")
        .arg(&digests)
        .arg(GENERATION_FIELD)
        .query_async(conn)
        .await
        .ctx("reading the cutover's control keys")?;
    if lock.as_deref() != Some(input.lock_token) {
        return Err(lock_lost(ds));
    }
    if generation.as_deref() != Some(input.base_generation) || digest_gen.as_deref() != Some(input.base_generation) {
        return Err(AppError::conflict(format!(
            "source {ds}: the live generation changed during the warm (invalidated?); nothing was changed, warm it again"
        )));
    }
    if !input.written.is_empty() {
        let mut pipe = redis::pipe();
        for chunk in input.written.chunks(CHUNK) {
            pipe.cmd("EXISTS").arg(chunk.iter().map(|(n, _)| shadow.of(n)).collect::<Vec<_>>());
        }
        let counts: Vec<u64> = pipe.query_async(conn).await.ctx("checking the shadow copy")?;
        let missing = input.written.len() as u64 - counts.iter().sum::<u64>();
        if missing > 0 {
            return Err(incomplete(ds, &format!("{missing} shadow entries are missing")));
        }
    }

    let ttl_ms = state.config.cache_ttl_secs * 1000;
    let _: () = redis::cmd("MULTI").query_async(conn).await.ctx("starting the cutover")?;
    for chunk in input.written.chunks(CHUNK) {
        let mut queue = redis::pipe();
        for (name, _) in chunk {
            queue.cmd("RENAME").arg(shadow.of(name)).arg(keys.key(name)).ignore();
        }
        let _: () = queue.query_async(conn).await.ctx("queueing the cutover")?;
    }
    let mut queue = redis::pipe();
    let mut queued = 0;
    for chunk in input.removed.chunks(CHUNK).chain(input.gone_sets.chunks(CHUNK)) {
        queue.cmd("UNLINK").arg(chunk.iter().map(|n| keys.key(n)).collect::<Vec<_>>()).ignore();
    }
    for (set, members) in input.adds {
        queue.cmd("SADD").arg(keys.key(set)).arg(members).ignore();
        queue.cmd("PEXPIRE").arg(keys.key(set)).arg(ttl_ms).ignore();
        queued += 1;
        if queued % CHUNK == 0 {
            let _: () =
                std::mem::replace(&mut queue, redis::pipe()).query_async(conn).await.ctx("queueing the cutover")?;
        }
    }
    let gone: std::collections::HashSet<&String> = input.gone_sets.iter().collect();
    for (set, members) in input.rems {
        if gone.contains(set) {
            continue;
        }
        queue.cmd("SREM").arg(keys.key(set)).arg(members).ignore();
        queued += 1;
        if queued % CHUNK == 0 {
            let _: () =
                std::mem::replace(&mut queue, redis::pipe()).query_async(conn).await.ctx("queueing the cutover")?;
        }
    }
    for chunk in input.new_sets.chunks(CHUNK) {
        queue.cmd("SADD").arg(&index_list).arg(chunk).ignore();
    }
    for chunk in input.gone_sets.chunks(CHUNK) {
        queue.cmd("SREM").arg(&index_list).arg(chunk).ignore();
    }
    queue.cmd("PEXPIRE").arg(&index_list).arg(ttl_ms).ignore();
    for chunk in input.written.chunks(CHUNK) {
        queue.cmd("HSET").arg(&digests).arg(chunk).ignore();
    }
    for chunk in input.removed.chunks(CHUNK) {
        queue.cmd("HDEL").arg(&digests).arg(chunk).ignore();
    }
    queue.cmd("HSET").arg(&digests).arg(GENERATION_FIELD).arg(input.run_id).arg(FORMAT_FIELD).arg(FORMAT).ignore();
    queue.cmd("PEXPIRE").arg(&digests).arg(ttl_ms).ignore();
    queue.cmd("SET").arg(keys.meta(ds)).arg(&input.meta_json).arg("PX").arg(ttl_ms).ignore();
    queue.cmd("SET").arg(keys.generation(ds)).arg(input.run_id).arg("PX").arg(ttl_ms).ignore();
    queue.cmd("SET").arg(keys.dims(ds)).arg(&input.dims_json).arg("PX").arg(ttl_ms).ignore();
    queue.cmd("DEL").arg(keys.query_totals(ds)).ignore();
    queue.cmd("ZREM").arg(keys.runs(ds)).arg(input.run_id).ignore();
    let _: () = queue.query_async(conn).await.ctx("queueing the cutover")?;

    let started = Instant::now();
    let result: redis::RedisResult<redis::Value> = redis::cmd("EXEC").query_async(conn).await;
    let blocking_ms = started.elapsed().as_secs_f64() * 1000.0;
    let report = CutoverReport {
        method: "diff",
        entries: input.written.len() as u64,
        indexes: (input.adds.len() + input.rems.len()) as u64,
        fast_path: false,
        removed_entries: input.removed.len() as u64,
        removed_indexes: input.gone_sets.len() as u64,
        blocking_ms,
    };
    match result {
        Ok(redis::Value::Nil) => Ok(None),
        Ok(redis::Value::Array(replies)) => match replies.iter().find(|r| matches!(r, redis::Value::ServerError(_))) {
            None => Ok(Some(report)),
            Some(bad) => {
                tracing::error!(source = ds, reply = ?bad, "a diff cutover command failed inside EXEC; re-warm or invalidate this source");
                Err(AppError::internal(format!(
                    "source {ds}: a shadow key vanished during the cutover ({bad:?}); re-warm the source"
                )))
            }
        },
        Ok(other) => Err(AppError::internal(format!("source {ds}: unexpected EXEC reply {other:?}"))),
        Err(e) if e.is_timeout() => {
            completed_despite_timeout(state, ds, input.run_id, e).await?;
            Ok(Some(report))
        }
        Err(e) => Err(failed(ds, e)),
    }
}
