//! Whole-source invalidation and the sweep of shadow leftovers: SCAN and UNLINK a page at a
//! time on the source's node, holding a page of key names (and the walk's fingerprint of each
//! key seen) however large the source; each page is measured for the estimate before it goes.

use super::{MEMORY_SAMPLES, Outcome, SAMPLE};
use crate::cache::scan::{self, Walk, memory::MemorySample};
use crate::error::AppError;
use crate::redis_conn::RedisResultExt;
use crate::state::AppState;

/// Adds the first of `keys` to a reported sample of at most [`SAMPLE`].
pub(super) fn keep_first(sample: &mut Vec<String>, keys: &[String]) {
    sample.extend(keys.iter().take(SAMPLE.saturating_sub(sample.len())).cloned());
}

/// Walks `pattern` on the source's node a page at a time; each page is measured into `memory`,
/// counted, sampled and (unless `dry`) deleted.
pub(super) async fn sweep(
    state: &AppState,
    ds: i64,
    pattern: String,
    dry: bool,
    memory: &mut MemorySample,
    sample: &mut Vec<String>,
) -> Result<u64, AppError> {
    let mut conn = state.redis.conn().await?;
    let mut walk = Walk::new(conn.clone(), pattern).on_slot(&state.keys.master(ds));
    let mut found = 0u64;
    while let Some(page) = walk.next_page().await? {
        memory.add(&mut conn, &page).await?;
        found += page.len() as u64;
        keep_first(sample, &page);
        if !dry {
            scan::unlink(&state.redis, &page).await?;
        }
    }
    Ok(found)
}

/// Every live key of the source, page by page. Readers first lose the way to an entry (metadata,
/// index sets), then the entry itself.
pub(super) async fn invalidate_whole(
    state: &AppState,
    ds: i64,
    dry: bool,
    other_memory: &mut MemorySample,
) -> Result<Outcome, AppError> {
    let keys = &state.keys;
    let mut conn = state.redis.conn().await?;
    let candidates = [
        keys.meta(ds),
        keys.generation(ds),
        keys.index_list(ds),
        keys.dims(ds),
        keys.digests(ds),
        keys.query_totals(ds),
        keys.runs(ds),
    ];
    let exists: Vec<bool> = {
        let mut pipe = redis::pipe();
        for k in &candidates {
            pipe.cmd("EXISTS").arg(k);
        }
        pipe.query_async(&mut conn).await.ctx("listing the source's keys")?
    };
    let other: Vec<String> = candidates.into_iter().zip(exists).filter(|(_, e)| *e).map(|(k, _)| k).collect();
    other_memory.add(&mut conn, &other).await?;
    if !dry && other.contains(&keys.meta(ds)) {
        scan::unlink(&state.redis, &[keys.meta(ds)]).await?;
    }
    let mut done = Outcome::default();
    let [data_pattern, index_pattern] = keys.live_patterns(ds);
    let mut index_memory = MemorySample::new(MEMORY_SAMPLES, usize::MAX);
    let mut walk = Walk::new(conn.clone(), index_pattern).on_slot(&keys.master(ds));
    while let Some(page) = walk.next_page().await? {
        index_memory.add(&mut conn, &page).await?;
        done.indexes_deleted += page.len() as u64;
        keep_first(&mut done.index_sets, &page);
        if !dry {
            scan::unlink(&state.redis, &page).await?;
            unlist_indexes(state, ds, &page).await?;
        }
    }
    let mut data_memory = MemorySample::new(MEMORY_SAMPLES, usize::MAX);
    done.keys_deleted = sweep(state, ds, data_pattern, dry, &mut data_memory, &mut done.data_sample).await?;
    if !dry {
        scan::unlink(&state.redis, &other).await?;
    }
    done.keys_deleted += other.len() as u64;
    keep_first(&mut done.other_sample, &other);
    done.bytes = index_memory.estimate() + data_memory.estimate();
    Ok(done)
}

/// Takes deleted index sets (prefixed) off the source's list of live index sets.
pub(super) async fn unlist_indexes(state: &AppState, ds: i64, sets: &[String]) -> Result<(), AppError> {
    let mut conn = state.redis.bulk().await?;
    let names: Vec<&str> = sets.iter().filter_map(|k| state.keys.strip(k)).collect();
    for chunk in names.chunks(scan::UNLINK_BATCH) {
        let _: () = redis::cmd("SREM")
            .arg(state.keys.index_list(ds))
            .arg(chunk)
            .query_async(&mut conn)
            .await
            .ctx("updating the index list")?;
    }
    Ok(())
}
