//! The cutover: one Lua script on the source's `{ds:N}` slot makes a complete shadow copy live.
//! It first checks that the lock is still ours and that every shadow key is present, and changes
//! nothing otherwise (a script failing half-way is not rolled back). Then it renames the shadow
//! data keys over the live ones, deletes live entries and index sets the new run lacks, and writes
//! the metadata. When the entry set is unchanged and the live layout is Hearth's own, index sets
//! (whose members are a function of the entry set) are left as they are.
//! Old values are freed by RENAME/UNLINK: with `lazyfree-lazy-server-del yes` the values a RENAME
//! overwrites are freed in a background thread too; with the default `no`, small strings are
//! freed inline, which is part of the measured blocking time (see BENCHMARKS.md).

use std::time::Instant;

use redis::Script;

use super::keys::Keys;
use super::scan;
use crate::error::{AppError, ErrorCode};
use crate::redis_conn::{RedisResultExt, redis_error};
use crate::state::AppState;

const CUTOVER: &str = r#"
local function each_chunk(list, f)
  for i = 1, #list, 4000 do
    local part = {}
    for j = i, math.min(i + 3999, #list) do part[#part + 1] = list[j] end
    f(part)
  end
end
local function count_present(names, prefix)
  local present = 0
  each_chunk(names, function(part)
    local keys = {}
    for i, n in ipairs(part) do keys[i] = prefix .. n end
    present = present + redis.call('EXISTS', unpack(keys))
  end)
  return present
end
local function unlink_all(names, prefix)
  each_chunk(names, function(part)
    local keys = {}
    for i, n in ipairs(part) do keys[i] = prefix .. n end
    redis.call('UNLINK', unpack(keys))
  end)
end

local lock, meta, live_master, shadow_master = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local live_list, shadow_list, old_indexes, generation = KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local query_totals, runs, dims, old_data = KEYS[9], KEYS[10], KEYS[11], KEYS[12]
local token, prefix, shadow, ttl, run = ARGV[1], ARGV[2], ARGV[3], ARGV[7], ARGV[8]

if redis.call('GET', lock) ~= token then
  return redis.error_reply('HEARTH_LOCK_LOST the warm lock is not held by this run')
end
local entries = redis.call('SMEMBERS', shadow_master)
local indexes = redis.call('SMEMBERS', shadow_list)
if #entries ~= tonumber(ARGV[4]) or #indexes ~= tonumber(ARGV[5]) then
  return redis.error_reply('HEARTH_INCOMPLETE shadow lists hold ' .. #entries .. '/' .. ARGV[4] .. ' entries and ' .. #indexes .. '/' .. ARGV[5] .. ' index sets')
end
local data_present = count_present(entries, shadow)
local index_present = count_present(indexes, shadow)
if data_present ~= #entries or index_present ~= #indexes then
  return redis.error_reply('HEARTH_INCOMPLETE ' .. (#entries - data_present) .. ' shadow entries and ' .. (#indexes - index_present) .. ' shadow index sets are missing')
end

local fast = false
local current = redis.call('GET', generation)
if current and redis.call('EXISTS', live_list) == 1 then
  local raw = redis.call('GET', meta)
  if raw then
    local ok, decoded = pcall(cjson.decode, raw)
    if ok and type(decoded) == 'table' and type(decoded[1]) == 'table' and decoded[1].runId == current
       and redis.call('SCARD', live_master) == #entries
       and redis.call('SINTERCARD', 2, live_master, shadow_master) == #entries then
      fast = true
    end
  end
end

local removed = {}
if not fast then removed = redis.call('SDIFF', old_data, shadow_master) end
for _, n in ipairs(entries) do redis.call('RENAME', shadow .. n, prefix .. n) end
unlink_all(removed, prefix)
local gone = {}
if not fast then
  gone = redis.call('SDIFF', old_indexes, shadow_list)
  for _, n in ipairs(indexes) do redis.call('RENAME', shadow .. n, prefix .. n) end
  unlink_all(gone, prefix)
end
redis.call('RENAME', shadow_list, live_list)
redis.call('PEXPIRE', live_list, ttl)
redis.call('SET', meta, ARGV[6], 'PX', ttl)
redis.call('SET', generation, run, 'PX', ttl)
redis.call('SET', dims, ARGV[9], 'PX', ttl)
redis.call('DEL', query_totals)
redis.call('ZREM', runs, run)
return {#entries, #indexes, fast and 1 or 0, #removed, #gone}
"#;

pub struct CutoverInput<'a> {
    pub ds: i64,
    pub run_id: &'a str,
    pub lock_token: &'a str,
    pub expected_entries: u64,
    pub expected_indexes: u64,
    pub meta_json: String,
    pub dims_json: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct CutoverReport {
    pub entries: u64,
    pub indexes: u64,
    /// Index sets were left in place (entry set unchanged, layout Hearth's own).
    pub fast_path: bool,
    pub removed_entries: u64,
    pub removed_indexes: u64,
    /// Round trip of the script: an upper bound of how long Redis was blocked.
    pub blocking_ms: f64,
}

pub async fn cutover(state: &AppState, input: &CutoverInput<'_>) -> Result<CutoverReport, AppError> {
    let keys = &state.keys;
    let ds = input.ds;
    let mut conn = state.redis.bulk().await?;
    let (generation, list_exists): (Option<String>, bool) = redis::pipe()
        .cmd("GET")
        .arg(keys.generation(ds))
        .cmd("EXISTS")
        .arg(keys.index_list(ds))
        .query_async(&mut conn)
        .await
        .ctx("reading the live layout")?;
    let hearth_layout = generation.is_some() && list_exists;
    let (old_data, old_indexes) = if hearth_layout {
        refresh_index_ttls_if_unchanged(state, input).await?;
        (keys.master(ds), keys.index_list(ds))
    } else {
        scan_foreign_layout(state, ds, input.run_id).await?
    };

    let shadow = keys.shadow_prefix(ds, input.run_id);
    let ttl_ms = state.config.cache_ttl_secs * 1000;
    let started = Instant::now();
    let reply: redis::RedisResult<(u64, u64, u8, u64, u64)> = Script::new(CUTOVER)
        .key(keys.lock(ds))
        .key(keys.meta(ds))
        .key(keys.master(ds))
        .key(format!("{shadow}{}", Keys::master_name(ds)))
        .key(keys.index_list(ds))
        .key(format!("{shadow}{}", Keys::index_list_name(ds)))
        .key(&old_indexes)
        .key(keys.generation(ds))
        .key(keys.query_totals(ds))
        .key(keys.runs(ds))
        .key(keys.dims(ds))
        .key(&old_data)
        .arg(input.lock_token)
        .arg(keys.prefix())
        .arg(&shadow)
        .arg(input.expected_entries)
        .arg(input.expected_indexes)
        .arg(&input.meta_json)
        .arg(ttl_ms)
        .arg(input.run_id)
        .arg(&input.dims_json)
        .invoke_async(&mut conn)
        .await;
    let blocking_ms = started.elapsed().as_secs_f64() * 1000.0;
    match reply {
        Ok((entries, indexes, fast, removed_entries, removed_indexes)) => {
            Ok(CutoverReport { entries, indexes, fast_path: fast == 1, removed_entries, removed_indexes, blocking_ms })
        }
        Err(e) if e.is_timeout() => {
            // The script may still have run: the generation marker says whether it did.
            let mut conn = state.redis.conn().await?;
            let now: Option<String> =
                redis::cmd("GET").arg(keys.generation(ds)).query_async(&mut conn).await.ctx("checking the cutover")?;
            if now.as_deref() == Some(input.run_id) {
                tracing::warn!(source = ds, "the cutover answered late but completed");
                Ok(CutoverReport {
                    entries: input.expected_entries,
                    indexes: input.expected_indexes,
                    blocking_ms,
                    ..Default::default()
                })
            } else {
                Err(redis_error(e, &format!("running the cutover of source {ds}")))
            }
        }
        Err(e) => Err(match e.code() {
            Some("HEARTH_LOCK_LOST") => AppError::conflict(format!(
                "source {ds}: the warm lock was lost before the cutover; nothing was changed"
            )),
            Some("HEARTH_INCOMPLETE") => AppError::new(
                ErrorCode::InternalError,
                format!(
                    "source {ds}: the shadow copy is incomplete ({}); nothing was changed. Keys may have been evicted: check maxmemory-policy",
                    e.detail().unwrap_or("")
                ),
            ),
            _ => redis_error(e, &format!("running the cutover of source {ds}")),
        }),
    }
}

/// When the entry set did not change, the script keeps the live index sets: give them a fresh
/// TTL first. Harmless if the script then takes the other path (it replaces them anyway).
async fn refresh_index_ttls_if_unchanged(state: &AppState, input: &CutoverInput<'_>) -> Result<(), AppError> {
    let keys = &state.keys;
    let ds = input.ds;
    let shadow_master = format!("{}{}", keys.shadow_prefix(ds, input.run_id), Keys::master_name(ds));
    let mut conn = state.redis.bulk().await?;
    let (live, common): (u64, u64) = redis::pipe()
        .cmd("SCARD")
        .arg(keys.master(ds))
        .cmd("SINTERCARD")
        .arg(2)
        .arg(keys.master(ds))
        .arg(&shadow_master)
        .query_async(&mut conn)
        .await
        .ctx("comparing entry sets")?;
    if live != input.expected_entries || common != input.expected_entries {
        return Ok(());
    }
    let ttl_ms = state.config.cache_ttl_secs * 1000;
    let mut cursor = 0u64;
    loop {
        let (next, names): (u64, Vec<String>) = redis::cmd("SSCAN")
            .arg(keys.index_list(ds))
            .arg(cursor)
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut conn)
            .await
            .ctx("listing live index sets")?;
        let mut pipe = redis::pipe();
        for n in &names {
            pipe.cmd("PEXPIRE").arg(keys.key(n)).arg(ttl_ms).ignore();
        }
        let _: () = pipe.query_async(&mut conn).await.ctx("refreshing index TTLs")?;
        if next == 0 {
            return Ok(());
        }
        cursor = next;
    }
}

/// First warm over a layout Hearth did not write (or an empty one): find every live data key and
/// index set of the source (orphans included) so the cutover can remove what the new run lacks.
async fn scan_foreign_layout(state: &AppState, ds: i64, run_id: &str) -> Result<(String, String), AppError> {
    let keys = &state.keys;
    let [data_pattern, index_pattern] = keys.live_patterns(ds);
    let (data_set, index_set) = (keys.scanned_data(ds, run_id), keys.scanned_indexes(ds, run_id));
    let slot = keys.master(ds);
    for (pattern, target) in [(&data_pattern, &data_set), (&index_pattern, &index_set)] {
        let found = scan::scan_all(&state.redis, pattern, &slot, usize::MAX).await?;
        let mut conn = state.redis.bulk().await?;
        let mut pipe = redis::pipe();
        pipe.cmd("DEL").arg(target).ignore();
        for chunk in found.chunks(1000) {
            let names: Vec<&str> = chunk.iter().filter_map(|k| keys.strip(k)).collect();
            if !names.is_empty() {
                pipe.cmd("SADD").arg(target).arg(names).ignore();
            }
        }
        pipe.cmd("PEXPIRE").arg(target).arg(3_600_000).ignore();
        let _: () = pipe.query_async(&mut conn).await.ctx("recording the live layout")?;
    }
    Ok((data_set, index_set))
}

/// After a successful cutover: delete what of the run is left (the shadow index sets when they
/// were kept live, the scratch lists).
pub async fn cleanup_after(state: &AppState, ds: i64, run_id: &str, report: &CutoverReport) -> Result<(), AppError> {
    let keys = &state.keys;
    let mut leftovers = vec![keys.scanned_indexes(ds, run_id), keys.scanned_data(ds, run_id)];
    if report.fast_path {
        let shadow = keys.shadow_prefix(ds, run_id);
        let mut conn = state.redis.bulk().await?;
        let mut cursor = 0u64;
        loop {
            let (next, names): (u64, Vec<String>) = redis::cmd("SSCAN")
                .arg(keys.index_list(ds))
                .arg(cursor)
                .arg("COUNT")
                .arg(1000)
                .query_async(&mut conn)
                .await
                .ctx("listing leftover shadows")?;
            leftovers.extend(names.iter().map(|n| format!("{shadow}{n}")));
            if next == 0 {
                break;
            }
            cursor = next;
        }
    }
    scan::unlink(&state.redis, &leftovers).await?;
    Ok(())
}
