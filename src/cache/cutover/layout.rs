//! The live layout around a cutover: before it, a fresh TTL for index sets the switch keeps, or
//! the list of every live key of a layout Hearth did not write; after it, the run's leftovers.

use super::CutoverReport;
use crate::cache::keys::KeyKind;
use crate::cache::scan;
use crate::error::AppError;
use crate::redis_conn::RedisResultExt;
use crate::state::AppState;

/// Gives the live index sets a fresh TTL, for a switch that keeps them.
pub(super) async fn refresh_index_ttls(state: &AppState, ds: i64) -> Result<(), AppError> {
    let keys = &state.keys;
    let mut conn = state.redis.bulk().await?;
    let ttl_ms = state.config.cache_ttl_secs * 1000;
    let names = scan::set_members(&mut conn, &keys.index_list(ds)).await?;
    for chunk in names.chunks(1000) {
        let mut pipe = redis::pipe();
        for n in chunk {
            pipe.cmd("PEXPIRE").arg(keys.key(n)).arg(ttl_ms).ignore();
        }
        let _: () = pipe.query_async(&mut conn).await.ctx("refreshing index TTLs")?;
    }
    Ok(())
}

/// Gives the named live keys (unprefixed) a fresh TTL, pipelined in batches.
pub async fn refresh_ttls<'a>(state: &AppState, names: impl Iterator<Item = &'a String>) -> Result<(), AppError> {
    let keys = &state.keys;
    let mut conn = state.redis.bulk().await?;
    let ttl_ms = state.config.cache_ttl_secs * 1000;
    let names: Vec<&String> = names.collect();
    for chunk in names.chunks(1000) {
        let mut pipe = redis::pipe();
        for n in chunk {
            pipe.cmd("PEXPIRE").arg(keys.key(n)).arg(ttl_ms).ignore();
        }
        let _: () = pipe.query_async(&mut conn).await.ctx("refreshing TTLs")?;
    }
    Ok(())
}

/// First warm over a layout Hearth did not write (or an empty one): find every live data key and
/// index set of the source (orphans included) so the cutover can remove what the new run lacks.
/// One walk over the source's node finds both.
pub(super) async fn scan_foreign_layout(state: &AppState, ds: i64, run_id: &str) -> Result<(String, String), AppError> {
    let keys = &state.keys;
    let (data_set, index_set) = (keys.scanned_data(ds, run_id), keys.scanned_indexes(ds, run_id));
    let mut conn = state.redis.bulk().await?;
    let _: () = redis::cmd("DEL")
        .arg(&data_set)
        .arg(&index_set)
        .query_async(&mut conn)
        .await
        .ctx("recording the live layout")?;
    // Page by page, so memory stays flat however large the live layout is.
    let pattern = keys.kinds_pattern(ds, &[KeyKind::Data, KeyKind::Index]);
    let mut walk = scan::Walk::new(conn.clone(), pattern).on_slot(&keys.master(ds));
    let kinds = keys.source_kinds(ds);
    while let Some(found) = walk.next_page().await? {
        let (mut data, mut indexes) = (Vec::new(), Vec::new());
        for key in &found {
            match (kinds.of(key), keys.strip(key)) {
                (Some(KeyKind::Data), Some(name)) => data.push(name),
                (Some(KeyKind::Index), Some(name)) => indexes.push(name),
                _ => {}
            }
        }
        let mut pipe = redis::pipe();
        for (target, names) in [(&data_set, &data), (&index_set, &indexes)] {
            if !names.is_empty() {
                pipe.cmd("SADD").arg(target).arg(names).ignore().cmd("PEXPIRE").arg(target).arg(3_600_000).ignore();
            }
        }
        if !data.is_empty() || !indexes.is_empty() {
            let _: () = pipe.query_async(&mut conn).await.ctx("recording the live layout")?;
        }
    }
    Ok((data_set, index_set))
}

/// After a successful cutover: delete what of the run is left (the shadow index sets when they
/// were kept live, the scratch lists).
pub async fn cleanup_after(state: &AppState, ds: i64, run_id: &str, report: &CutoverReport) -> Result<(), AppError> {
    let keys = &state.keys;
    let mut leftovers = vec![keys.scanned_indexes(ds, run_id), keys.scanned_data(ds, run_id)];
    if report.fast_path {
        let shadow = keys.shadow(ds, run_id);
        let mut conn = state.redis.bulk().await?;
        let names = scan::set_members(&mut conn, &keys.index_list(ds)).await?;
        leftovers.extend(names.iter().map(|n| shadow.of(n)));
    }
    scan::unlink(&state.redis, &leftovers).await?;
    Ok(())
}
