//! The live layout around a cutover: before it, a fresh TTL for index sets the switch keeps, or
//! the list of every live key of a layout Hearth did not write; after it, the run's leftovers.

use super::CutoverReport;
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
pub(super) async fn scan_foreign_layout(state: &AppState, ds: i64, run_id: &str) -> Result<(String, String), AppError> {
    let keys = &state.keys;
    let [data_pattern, index_pattern] = keys.live_patterns(ds);
    let (data_set, index_set) = (keys.scanned_data(ds, run_id), keys.scanned_indexes(ds, run_id));
    let slot = keys.master(ds);
    let mut conn = state.redis.bulk().await?;
    for (pattern, target) in [(&data_pattern, &data_set), (&index_pattern, &index_set)] {
        let _: () = redis::cmd("DEL").arg(target).query_async(&mut conn).await.ctx("recording the live layout")?;
        // Page by page, so memory stays flat however large the live layout is.
        let mut walk = scan::Walk::new(conn.clone(), pattern.as_str()).on_slot(&slot);
        while let Some(found) = walk.next_page().await? {
            let names: Vec<&str> = found.iter().filter_map(|k| keys.strip(k)).collect();
            if !names.is_empty() {
                let _: () = redis::pipe()
                    .cmd("SADD")
                    .arg(target)
                    .arg(names)
                    .ignore()
                    .cmd("PEXPIRE")
                    .arg(target)
                    .arg(3_600_000)
                    .ignore()
                    .query_async(&mut conn)
                    .await
                    .ctx("recording the live layout")?;
            }
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
