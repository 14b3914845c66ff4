//! Whole-source invalidation and the sweep of shadow leftovers: SCAN and UNLINK a page at a
//! time on the source's node, holding a page of key names (and the walk's fingerprint of each
//! key seen) however large the source; each page is measured for the estimate before it goes.
//! Each walk costs Redis the whole keyspace of the node, so the kinds of key share walks: a slice
//! takes one (shadows), a whole source two (index sets and shadows, then entries).

use super::{MEMORY_SAMPLES, Outcome, SAMPLE};
use crate::cache::keys::KeyKind;
use crate::cache::scan::{self, Walk, memory::MemorySample};
use crate::error::AppError;
use crate::redis_conn::RedisResultExt;
use crate::state::AppState;

/// Adds the first of `keys` to a reported sample of at most [`SAMPLE`].
pub(super) fn keep_first(sample: &mut Vec<String>, keys: &[String]) {
    sample.extend(keys.iter().take(SAMPLE.saturating_sub(sample.len())).cloned());
}

/// Walks the source's index sets (when given `indexes` to measure them into) and the shadows of
/// every run, the command center's leftovers among them, in one SCAN over its node a page at a
/// time. Each page is measured, counted, sampled and (unless `dry`) deleted: its index sets
/// first (taken off the source's list), then its shadows.
pub(super) async fn sweep_indexes_and_shadows(
    state: &AppState,
    ds: i64,
    mut indexes: Option<&mut MemorySample>,
    dry: bool,
    done: &mut Outcome,
    shadow_memory: &mut MemorySample,
) -> Result<(), AppError> {
    let keys = &state.keys;
    let wanted: &[KeyKind] = if indexes.is_some() { &[KeyKind::Index, KeyKind::Shadow] } else { &[KeyKind::Shadow] };
    let mut conn = state.redis.conn().await?;
    let mut walk = Walk::new(conn.clone(), keys.kinds_pattern(ds, wanted)).on_slot(&keys.master(ds));
    let kinds = keys.source_kinds(ds);
    while let Some(page) = walk.next_page().await? {
        let (mut index_sets, mut shadows) = (Vec::new(), Vec::new());
        for key in page {
            match kinds.of(&key) {
                Some(KeyKind::Index) if indexes.is_some() => index_sets.push(key),
                Some(KeyKind::Shadow) => shadows.push(key),
                _ => {}
            }
        }
        if let Some(index_memory) = indexes.as_deref_mut()
            && !index_sets.is_empty()
        {
            index_memory.add(&mut conn, &index_sets).await?;
            done.indexes_deleted += index_sets.len() as u64;
            keep_first(&mut done.index_sets, &index_sets);
            if !dry {
                scan::unlink(&state.redis, &index_sets).await?;
                unlist_indexes(state, ds, &index_sets).await?;
            }
        }
        if !shadows.is_empty() {
            shadow_memory.add(&mut conn, &shadows).await?;
            done.keys_deleted += shadows.len() as u64;
            keep_first(&mut done.other_sample, &shadows);
            if !dry {
                scan::unlink(&state.redis, &shadows).await?;
            }
        }
    }
    Ok(())
}

/// Every live key of the source, in two walks over its node: readers first lose the way to an
/// entry (metadata, then index sets), then the entry itself. The first walk also takes the
/// shadows of every run.
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
    let mut index_memory = MemorySample::new(MEMORY_SAMPLES, usize::MAX);
    sweep_indexes_and_shadows(state, ds, Some(&mut index_memory), dry, &mut done, other_memory).await?;
    let mut data_memory = MemorySample::new(MEMORY_SAMPLES, usize::MAX);
    let mut walk = Walk::new(conn.clone(), keys.data_pattern(ds)).on_slot(&keys.master(ds));
    let mut data_keys = 0;
    while let Some(page) = walk.next_page().await? {
        data_memory.add(&mut conn, &page).await?;
        data_keys += page.len() as u64;
        keep_first(&mut done.data_sample, &page);
        if !dry {
            scan::unlink(&state.redis, &page).await?;
        }
    }
    if !dry {
        scan::unlink(&state.redis, &other).await?;
    }
    done.keys_deleted += data_keys + other.len() as u64;
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
