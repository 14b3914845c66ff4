//! Keeps a source's records true after an invalidation: a slice lowers the metadata's entries,
//! coverage and bytes (and the dimension list) to what is left; a whole source leaves a note of
//! when it was last warmed, so the console never calls it "never warmed".

use std::collections::BTreeSet;

use crate::cache::meta::{Dims, Invalidated, Meta};
use crate::error::AppError;
use crate::redis_conn::RedisResultExt;
use crate::state::AppState;

const BATCH: usize = 1000;

/// One entry a slice invalidation removes, by its dimension values.
#[derive(Debug, Clone)]
pub(super) struct Removed {
    pub measure: String,
    pub practice: String,
    pub provider: Option<String>,
    pub frequency: String,
}

/// The JSON bytes the data keys hold (what the warm counted as written), in bounded pipelines.
pub(super) async fn written_bytes(state: &AppState, keys: &[String]) -> Result<u64, AppError> {
    let mut conn = state.redis.conn().await?;
    let mut total = 0;
    for chunk in keys.chunks(BATCH) {
        let mut pipe = redis::pipe();
        for k in chunk {
            pipe.cmd("STRLEN").arg(k);
        }
        let lens: Vec<u64> = pipe.query_async(&mut conn).await.ctx("measuring the slice")?;
        total += lens.iter().sum::<u64>();
    }
    Ok(total)
}

/// For each group of sets, whether any of them still has members.
async fn any_left(state: &AppState, groups: &[Vec<String>]) -> Result<Vec<bool>, AppError> {
    let mut conn = state.redis.conn().await?;
    let flat: Vec<&String> = groups.iter().flatten().collect();
    let mut sizes = Vec::with_capacity(flat.len());
    for chunk in flat.chunks(BATCH) {
        let mut pipe = redis::pipe();
        for k in chunk {
            pipe.cmd("SCARD").arg(*k);
        }
        let part: Vec<u64> = pipe.query_async(&mut conn).await.ctx("reading index sizes")?;
        sizes.extend(part);
    }
    let mut at = 0;
    Ok(groups
        .iter()
        .map(|g| {
            let left = sizes[at..at + g.len()].iter().any(|n| *n > 0);
            at += g.len();
            left
        })
        .collect())
}

/// Values of `touched` no longer present: those whose every index set (from `sets_of`) is empty.
async fn gone<'a>(
    state: &AppState,
    touched: &BTreeSet<&'a str>,
    sets_of: impl Fn(&str) -> Vec<String>,
) -> Result<BTreeSet<&'a str>, AppError> {
    let values: Vec<&str> = touched.iter().copied().collect();
    let groups: Vec<Vec<String>> = values.iter().map(|v| sets_of(v)).collect();
    let left = any_left(state, &groups).await?;
    Ok(values.into_iter().zip(left).filter(|(_, l)| !l).map(|(v, _)| v).collect())
}

/// After a slice's keys are gone (under the source's lock): entries, coverage, bytes and index
/// count of the metadata follow, keeping its TTL. The entry digest goes: it described the
/// warm's entry set, which this one no longer is.
pub(super) async fn after_slice(state: &AppState, ds: i64, removed: &[Removed], bytes: u64) -> Result<(), AppError> {
    let keys = &state.keys;
    let mut conn = state.redis.conn().await?;
    let (raw_meta, raw_dims, entries, index_list): (Option<String>, Option<String>, u64, u64) = redis::pipe()
        .cmd("GET")
        .arg(keys.meta(ds))
        .cmd("GET")
        .arg(keys.dims(ds))
        .cmd("SCARD")
        .arg(keys.master(ds))
        .cmd("SCARD")
        .arg(keys.index_list(ds))
        .query_async(&mut conn)
        .await
        .ctx("reading the source's records")?;
    let (Some(mut meta), Some(mut dims)) = (Meta::parse(raw_meta.as_deref()), Dims::parse(raw_dims.as_deref())) else {
        return Ok(());
    };
    let measures: BTreeSet<&str> = removed.iter().map(|r| r.measure.as_str()).collect();
    let practices: BTreeSet<&str> = removed.iter().map(|r| r.practice.as_str()).collect();
    let providers: BTreeSet<&str> = removed.iter().filter_map(|r| r.provider.as_deref()).collect();
    let frequencies: BTreeSet<&str> = removed.iter().map(|r| r.frequency.as_str()).collect();
    let (all_m, all_f) = (&dims.measures, &dims.frequencies);
    let gone_m = gone(state, &measures, |m| all_f.iter().map(|f| keys.base(ds, m, f)).collect()).await?;
    let gone_f = gone(state, &frequencies, |f| all_m.iter().map(|m| keys.base(ds, m, f)).collect()).await?;
    let gone_p = gone(state, &practices, |p| {
        all_m.iter().flat_map(|m| all_f.iter().map(move |f| keys.practice(ds, m, p, f))).collect()
    })
    .await?;
    let gone_prov = gone(state, &providers, |prov| {
        all_m.iter().flat_map(|m| all_f.iter().map(move |f| keys.provider(ds, m, f, Some(prov)))).collect()
    })
    .await?;
    meta.total_entries = entries;
    meta.unique_measures = meta.unique_measures.saturating_sub(gone_m.len() as u64);
    meta.unique_practices = meta.unique_practices.saturating_sub(gone_p.len() as u64);
    meta.unique_providers = meta.unique_providers.saturating_sub(gone_prov.len() as u64);
    meta.unique_frequencies.retain(|f| !gone_f.contains(f.as_str()));
    meta.bytes = meta.bytes.map(|b| b.saturating_sub(bytes));
    if index_list > 0 {
        meta.index_count = index_list;
    }
    meta.entries_digest = None;
    dims.measures.retain(|m| !gone_m.contains(m.as_str()));
    dims.practices.retain(|p| !gone_p.contains(p.as_str()));
    dims.frequencies.retain(|f| !gone_f.contains(f.as_str()));
    let _: () = redis::pipe()
        .cmd("SET")
        .arg(keys.meta(ds))
        .arg(meta.to_stored()?)
        .arg("XX")
        .arg("KEEPTTL")
        .ignore()
        .cmd("SET")
        .arg(keys.dims(ds))
        .arg(dims.to_stored()?)
        .arg("XX")
        .arg("KEEPTTL")
        .ignore()
        .query_async(&mut conn)
        .await
        .ctx("updating the source's metadata")?;
    Ok(())
}

/// Before a whole source goes: notes when it was last warmed (from its metadata, or the note a
/// previous invalidation left), so a cold source still says so. Nothing for a never-warmed one.
pub(super) async fn before_whole(state: &AppState, ds: i64) -> Result<(), AppError> {
    let keys = &state.keys;
    let mut conn = state.redis.conn().await?;
    let (raw_meta, raw_note): (Option<String>, Option<String>) = redis::pipe()
        .cmd("GET")
        .arg(keys.meta(ds))
        .cmd("GET")
        .arg(keys.invalidated(ds))
        .query_async(&mut conn)
        .await
        .ctx("reading the source's records")?;
    let last_warmed = Meta::parse(raw_meta.as_deref())
        .map(|m| m.timestamp)
        .or_else(|| Invalidated::parse(raw_note.as_deref()).and_then(|n| n.last_warmed));
    if last_warmed.is_none() {
        return Ok(());
    }
    let note = Invalidated { at: crate::time::now_iso(), last_warmed };
    let _: () = redis::cmd("SET")
        .arg(keys.invalidated(ds))
        .arg(note.to_stored()?)
        .arg("EX")
        .arg(state.config.cache_ttl_secs)
        .query_async(&mut conn)
        .await
        .ctx("noting the invalidation")?;
    Ok(())
}
