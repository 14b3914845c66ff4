//! The cutover as a MULTI/EXEC transaction on a dedicated connection to the slot's server: the
//! control keys are WATCHed, the shadow is checked with pipelined EXISTS, the switch is queued a
//! chunk at a time and EXEC runs it at native speed. A watched key that changes sends it round
//! again, a few times at most.

use std::time::Instant;

use redis::aio::MultiplexedConnection;

use super::{CutoverInput, CutoverReport, Live, completed_despite_timeout, failed, incomplete, lock_lost};
use crate::cache::keys::{Keys, Shadow};
use crate::error::AppError;
use crate::redis_conn::RedisResultExt;
use crate::state::AppState;

const CHUNK: usize = 1000;
const ATTEMPTS: usize = 5;

/// Names of a set, on the dedicated connection.
async fn members(conn: &mut MultiplexedConnection, key: &str) -> Result<Vec<String>, AppError> {
    redis::cmd("SMEMBERS").arg(key).query_async(conn).await.ctx("reading the shadow lists")
}

/// How many of `prefix + name` exist, one pipeline.
async fn count_existing(conn: &mut MultiplexedConnection, shadow: &Shadow, names: &[String]) -> Result<u64, AppError> {
    let mut pipe = redis::pipe();
    for chunk in names.chunks(CHUNK) {
        pipe.cmd("EXISTS").arg(chunk.iter().map(|n| shadow.of(n)).collect::<Vec<_>>());
    }
    let counts: Vec<u64> = pipe.query_async(conn).await.ctx("checking the shadow copy")?;
    Ok(counts.iter().sum())
}

pub(super) async fn run(
    state: &AppState,
    input: &CutoverInput<'_>,
    old_data: &str,
    old_indexes: &str,
) -> Result<CutoverReport, AppError> {
    let mut conn = state.redis.dedicated(&state.keys.master(input.ds)).await?;
    for attempt in 1..=ATTEMPTS {
        match attempt_once(state, input, &mut conn, old_data, old_indexes).await? {
            Some(report) => return Ok(report),
            // The heartbeat renewed the lock, or someone touched a control key: check again.
            None => tracing::debug!(source = input.ds, attempt, "a watched key changed before EXEC; checking again"),
        }
    }
    Err(AppError::conflict(format!(
        "source {}: its keys kept changing during the cutover; nothing was changed",
        input.ds
    )))
}

/// One optimistic attempt; `Ok(None)` when a watched key changed and EXEC did nothing. On an
/// error the dedicated connection (and its WATCH/MULTI state) is simply dropped.
async fn attempt_once(
    state: &AppState,
    input: &CutoverInput<'_>,
    conn: &mut MultiplexedConnection,
    old_data: &str,
    old_indexes: &str,
) -> Result<Option<CutoverReport>, AppError> {
    let keys = &state.keys;
    let ds = input.ds;
    let shadow = keys.shadow(ds, input.run_id);
    let shadow_master = shadow.of(&Keys::master_name(ds));
    let shadow_list = shadow.of(&Keys::index_list_name(ds));
    let shadow_digests = shadow.of(&Keys::digests_name(ds));
    let (live_master, live_list, meta_key, generation_key) =
        (keys.master(ds), keys.index_list(ds), keys.meta(ds), keys.generation(ds));
    let watched = [
        keys.lock(ds),
        meta_key.clone(),
        generation_key.clone(),
        live_master.clone(),
        live_list.clone(),
        shadow_master.clone(),
        shadow_list.clone(),
        shadow_digests.clone(),
        old_data.to_string(),
        old_indexes.to_string(),
    ];
    let (lock, n_entries, n_indexes, generation, index_list_exists, meta, live_count): Control = redis::pipe()
        .cmd("WATCH")
        .arg(&watched)
        .ignore()
        .cmd("GET")
        .arg(keys.lock(ds))
        .cmd("SCARD")
        .arg(&shadow_master)
        .cmd("SCARD")
        .arg(&shadow_list)
        .cmd("GET")
        .arg(&generation_key)
        .cmd("EXISTS")
        .arg(&live_list)
        .cmd("GET")
        .arg(&meta_key)
        .cmd("SCARD")
        .arg(&live_master)
        .query_async(conn)
        .await
        .ctx("reading the cutover's control keys")?;
    if lock.as_deref() != Some(input.lock_token) {
        return Err(lock_lost(ds));
    }
    if n_entries != input.expected_entries || n_indexes != input.expected_indexes {
        let what = format!(
            "lists hold {n_entries}/{} entries and {n_indexes}/{} index sets",
            input.expected_entries, input.expected_indexes
        );
        return Err(incomplete(ds, &what));
    }
    let has_digests: bool =
        redis::cmd("EXISTS").arg(&shadow_digests).query_async(conn).await.ctx("checking the shadow copy")?;
    if !has_digests {
        return Err(incomplete(ds, "the shadow digests are missing"));
    }
    let live = Live { generation, index_list_exists, meta, entries: live_count };
    if input.in_place && !live.is_cold() {
        return Err(AppError::conflict(format!(
            "source {ds}: it went live during its first warm (another warmer?); nothing was switched, warm it again"
        )));
    }
    let entries = members(conn, &shadow_master).await?;
    let home = if input.in_place { keys.live() } else { shadow.clone() };
    let missing = n_entries - count_existing(conn, &home, &entries).await?;
    if missing > 0 {
        return Err(incomplete(ds, &format!("{missing} entries of the run are missing")));
    }
    let fast = live.keeps_index_sets(input);
    let (indexes, removed, gone) = if fast {
        (Vec::new(), Vec::new(), Vec::new())
    } else {
        let indexes = members(conn, &shadow_list).await?;
        let missing = n_indexes - count_existing(conn, &shadow, &indexes).await?;
        if missing > 0 {
            return Err(incomplete(ds, &format!("{missing} shadow index sets are missing")));
        }
        let (removed, gone): (Vec<String>, Vec<String>) = redis::pipe()
            .cmd("SDIFF")
            .arg(old_data)
            .arg(&shadow_master)
            .cmd("SDIFF")
            .arg(old_indexes)
            .arg(&shadow_list)
            .query_async(conn)
            .await
            .ctx("comparing with the live layout")?;
        (indexes, removed, gone)
    };

    // Queue a chunk at a time; nothing runs before EXEC.
    let ttl_ms = state.config.cache_ttl_secs * 1000;
    let _: () = redis::cmd("MULTI").query_async(conn).await.ctx("starting the cutover")?;
    let renamed = if input.in_place { &[][..] } else { &entries[..] };
    for chunk in renamed.chunks(CHUNK).chain(indexes.chunks(CHUNK)) {
        let mut queue = redis::pipe();
        for name in chunk {
            queue.cmd("RENAME").arg(shadow.of(name)).arg(keys.key(name)).ignore();
        }
        let _: () = queue.query_async(conn).await.ctx("queueing the cutover")?;
    }
    let mut queue = redis::pipe();
    for chunk in removed.chunks(CHUNK).chain(gone.chunks(CHUNK)) {
        queue.cmd("UNLINK").arg(chunk.iter().map(|n| keys.key(n)).collect::<Vec<_>>()).ignore();
    }
    queue.cmd("RENAME").arg(&shadow_list).arg(&live_list).ignore();
    queue.cmd("PEXPIRE").arg(&live_list).arg(ttl_ms).ignore();
    queue.cmd("RENAME").arg(&shadow_digests).arg(keys.digests(ds)).ignore();
    queue.cmd("PEXPIRE").arg(keys.digests(ds)).arg(ttl_ms).ignore();
    queue.cmd("SET").arg(&meta_key).arg(&input.meta_json).arg("PX").arg(ttl_ms).ignore();
    queue.cmd("SET").arg(&generation_key).arg(input.run_id).arg("PX").arg(ttl_ms).ignore();
    queue.cmd("SET").arg(keys.dims(ds)).arg(&input.dims_json).arg("PX").arg(ttl_ms).ignore();
    queue.cmd("DEL").arg(keys.query_totals(ds)).ignore();
    queue.cmd("ZREM").arg(keys.runs(ds)).arg(input.run_id).ignore();
    if input.in_place {
        // The entries are live now: nothing may ever discard them as the run's.
        queue.cmd("DEL").arg(shadow.of(&Keys::in_place_name(ds))).ignore();
    }
    let _: () = queue.query_async(conn).await.ctx("queueing the cutover")?;

    let started = Instant::now();
    let result: redis::RedisResult<redis::Value> = redis::cmd("EXEC").query_async(conn).await;
    let blocking_ms = started.elapsed().as_secs_f64() * 1000.0;
    let report = CutoverReport {
        method: "transaction",
        entries: n_entries,
        indexes: n_indexes,
        fast_path: fast,
        removed_entries: removed.len() as u64,
        removed_indexes: gone.len() as u64,
        blocking_ms,
    };
    match result {
        Ok(redis::Value::Nil) => Ok(None),
        Ok(redis::Value::Array(replies)) => match replies.iter().find(|r| matches!(r, redis::Value::ServerError(_))) {
            None => Ok(Some(report)),
            Some(bad) => {
                // Only an eviction between the check and EXEC can cause this.
                tracing::error!(source = ds, reply = ?bad, "a cutover command failed inside EXEC; re-warm or invalidate this source");
                Err(AppError::internal(format!(
                    "source {ds}: a shadow key vanished during the cutover ({bad:?}); re-warm the source"
                )))
            }
        },
        Ok(other) => Err(AppError::internal(format!("source {ds}: unexpected EXEC reply {other:?}"))),
        Err(e) if e.is_timeout() => {
            completed_despite_timeout(state, input.ds, input.run_id, e).await?;
            Ok(Some(report))
        }
        Err(e) => Err(failed(ds, e)),
    }
}

type Control = (Option<String>, u64, u64, Option<String>, bool, Option<String>, u64);
