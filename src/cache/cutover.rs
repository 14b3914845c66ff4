//! The cutover: one atomic step on the source's `{ds:N}` slot makes a complete shadow copy live.
//! It checks that the lock is still ours and that every shadow key it will use is present, and
//! changes nothing otherwise. Then it renames the shadow data keys over the live ones, deletes live
//! entries and index sets the new run lacks, and writes the metadata. When the new entry set equals
//! the live one (same digest, on a layout Hearth wrote) the index sets, whose members are a
//! function of the entry set, are left as they are: the cutover then touches only data keys.
//!
//! Two ways to do it, same result:
//! - a MULTI/EXEC transaction (default): the control keys are WATCHed, the shadow is checked with
//!   pipelined EXISTS, and EXEC runs the renames at native speed (3.5 to 7 µs each here, freeing
//!   the old value included). Shadow data keys are not WATCHed one by one (in Redis 7.0 each
//!   WATCH scans the client's watched list, O(n²) for n keys), so the only thing that could
//!   remove one between check and EXEC is an eviction; that is why `auto` uses it only while
//!   Redis is far from `maxmemory`;
//! - one Lua script that checks and switches in a single call: immune to that window, but every
//!   key name becomes a Lua string, about three times the cost per entry.
//!
//! Old values are freed by the RENAME that overwrites them; `lazyfree-lazy-server-del yes` does
//! not change that for strings (one allocation each is always freed inline), so freeing is part of
//! the measured blocking time (BENCHMARKS.md).

use std::sync::LazyLock;
use std::time::Instant;

use redis::Script;
use redis::aio::MultiplexedConnection;

use super::keys::{Keys, Shadow};
use super::scan;
use crate::config::CutoverMethod;
use crate::error::{AppError, ErrorCode};
use crate::redis_conn::{RedisResultExt, redis_error};
use crate::state::AppState;

static CUTOVER: LazyLock<Script> = LazyLock::new(|| Script::new(CUTOVER_LUA));

const CUTOVER_LUA: &str = r#"
local lock, meta, live_master, shadow_master = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local live_list, shadow_list, old_indexes, generation = KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local query_totals, runs, dims, old_data = KEYS[9], KEYS[10], KEYS[11], KEYS[12]
local token, prefix, shadow, ttl, run, digest = ARGV[1], ARGV[2], ARGV[3], ARGV[7], ARGV[8], ARGV[10]

local function prefixed(names, p)
  if p == '' then return names end
  local out = {}
  for i, n in ipairs(names) do out[i] = p .. n end
  return out
end
local function count_existing(keys)
  local present = 0
  for i = 1, #keys, 4000 do
    present = present + redis.call('EXISTS', unpack(keys, i, math.min(i + 3999, #keys)))
  end
  return present
end
local function unlink_all(keys)
  for i = 1, #keys, 4000 do redis.call('UNLINK', unpack(keys, i, math.min(i + 3999, #keys))) end
end

-- Every check comes before the first write.
if redis.call('GET', lock) ~= token then
  return redis.error_reply('HEARTH_LOCK_LOST the warm lock is not held by this run')
end
local entries = redis.call('SMEMBERS', shadow_master)
local n_indexes = redis.call('SCARD', shadow_list)
if #entries ~= tonumber(ARGV[4]) or n_indexes ~= tonumber(ARGV[5]) then
  return redis.error_reply('HEARTH_INCOMPLETE shadow lists hold ' .. #entries .. '/' .. ARGV[4] .. ' entries and ' .. n_indexes .. '/' .. ARGV[5] .. ' index sets')
end
local shadow_entries = prefixed(entries, shadow)
local missing = #entries - count_existing(shadow_entries)
if missing > 0 then
  return redis.error_reply('HEARTH_INCOMPLETE ' .. missing .. ' shadow entries are missing')
end
local fast = false
local current = redis.call('GET', generation)
if current and redis.call('EXISTS', live_list) == 1 and redis.call('SCARD', live_master) == #entries then
  local raw = redis.call('GET', meta)
  local ok, decoded = pcall(cjson.decode, raw or '')
  if ok and type(decoded) == 'table' and type(decoded[1]) == 'table'
     and decoded[1].runId == current and decoded[1].entriesDigest == digest then
    fast = true
  end
end
local indexes, shadow_indexes, removed, gone = {}, {}, {}, {}
if not fast then
  indexes = redis.call('SMEMBERS', shadow_list)
  shadow_indexes = prefixed(indexes, shadow)
  missing = #indexes - count_existing(shadow_indexes)
  if missing > 0 then
    return redis.error_reply('HEARTH_INCOMPLETE ' .. missing .. ' shadow index sets are missing')
  end
  removed = prefixed(redis.call('SDIFF', old_data, shadow_master), prefix)
  gone = prefixed(redis.call('SDIFF', old_indexes, shadow_list), prefix)
end

-- The switch.
local live_entries = prefixed(entries, prefix)
for i = 1, #entries do redis.call('RENAME', shadow_entries[i], live_entries[i]) end
unlink_all(removed)
if not fast then
  local live_indexes = prefixed(indexes, prefix)
  for i = 1, #indexes do redis.call('RENAME', shadow_indexes[i], live_indexes[i]) end
  unlink_all(gone)
end
redis.call('RENAME', shadow_list, live_list)
redis.call('PEXPIRE', live_list, ttl)
redis.call('SET', meta, ARGV[6], 'PX', ttl)
redis.call('SET', generation, run, 'PX', ttl)
redis.call('SET', dims, ARGV[9], 'PX', ttl)
redis.call('DEL', query_totals)
redis.call('ZREM', runs, run)
return {#entries, n_indexes, fast and 1 or 0, #removed, #gone}
"#;

pub struct CutoverInput<'a> {
    pub ds: i64,
    pub run_id: &'a str,
    pub lock_token: &'a str,
    pub expected_entries: u64,
    pub expected_indexes: u64,
    pub meta_json: String,
    pub dims_json: String,
    /// Order-independent digest of the entry names (also in the metadata as `entriesDigest`).
    pub entries_digest: &'a str,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct CutoverReport {
    /// `transaction` or `script`.
    pub method: &'static str,
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

    let script = match state.config.cutover {
        CutoverMethod::Script => true,
        CutoverMethod::Transaction => false,
        CutoverMethod::Auto => eviction_possible(state, ds).await?,
    };
    if script {
        by_script(state, input, &old_data, &old_indexes).await
    } else {
        by_transaction(state, input, &old_data, &old_indexes).await
    }
}

/// True when Redis may evict keys soon: an evicting policy and memory within 10 % of maxmemory.
async fn eviction_possible(state: &AppState, ds: i64) -> Result<bool, AppError> {
    let mut conn = state.redis.conn().await?;
    let mut cmd = redis::cmd("INFO");
    cmd.arg("memory");
    let text: String =
        crate::redis_conn::query_on_slot(&mut conn, &cmd, &state.keys.master(ds)).await.ctx("reading memory")?;
    let info = crate::redis_admin::overview::parse_info(&text);
    let num = |k: &str| info.get(k).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    let policy = info.get("maxmemory_policy").map(String::as_str).unwrap_or("noeviction");
    let (used, max) = (num("used_memory"), num("maxmemory"));
    Ok(policy != "noeviction" && max > 0 && used.saturating_mul(10) >= max.saturating_mul(9))
}

fn lock_lost(ds: i64) -> AppError {
    AppError::conflict(format!("source {ds}: the warm lock was lost before the cutover; nothing was changed"))
}

fn incomplete(ds: i64, what: &str) -> AppError {
    AppError::new(
        ErrorCode::InternalError,
        format!(
            "source {ds}: the shadow copy is incomplete ({what}); nothing was changed. Keys may have been evicted: check maxmemory-policy"
        ),
    )
}

async fn by_script(
    state: &AppState,
    input: &CutoverInput<'_>,
    old_data: &str,
    old_indexes: &str,
) -> Result<CutoverReport, AppError> {
    let keys = &state.keys;
    let ds = input.ds;
    let mut conn = state.redis.bulk().await?;
    let shadow = keys.shadow(ds, input.run_id);
    let ttl_ms = state.config.cache_ttl_secs * 1000;
    let started = Instant::now();
    let reply: redis::RedisResult<(u64, u64, u8, u64, u64)> = CUTOVER
        .key(keys.lock(ds))
        .key(keys.meta(ds))
        .key(keys.master(ds))
        .key(shadow.of(&Keys::master_name(ds)))
        .key(keys.index_list(ds))
        .key(shadow.of(&Keys::index_list_name(ds)))
        .key(old_indexes)
        .key(keys.generation(ds))
        .key(keys.query_totals(ds))
        .key(keys.runs(ds))
        .key(keys.dims(ds))
        .key(old_data)
        .arg(input.lock_token)
        .arg(keys.prefix())
        .arg(shadow.prefix())
        .arg(input.expected_entries)
        .arg(input.expected_indexes)
        .arg(&input.meta_json)
        .arg(ttl_ms)
        .arg(input.run_id)
        .arg(&input.dims_json)
        .arg(input.entries_digest)
        .invoke_async(&mut conn)
        .await;
    let blocking_ms = started.elapsed().as_secs_f64() * 1000.0;
    match reply {
        Ok((entries, indexes, fast, removed_entries, removed_indexes)) => Ok(CutoverReport {
            method: "script",
            entries,
            indexes,
            fast_path: fast == 1,
            removed_entries,
            removed_indexes,
            blocking_ms,
        }),
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
            Some("HEARTH_LOCK_LOST") => lock_lost(ds),
            Some("HEARTH_INCOMPLETE") => incomplete(ds, e.detail().unwrap_or("")),
            _ => redis_error(e, &format!("running the cutover of source {ds}")),
        }),
    }
}

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

async fn by_transaction(
    state: &AppState,
    input: &CutoverInput<'_>,
    old_data: &str,
    old_indexes: &str,
) -> Result<CutoverReport, AppError> {
    let mut conn = state.redis.dedicated(&state.keys.master(input.ds)).await?;
    for attempt in 1..=ATTEMPTS {
        match transaction(state, input, &mut conn, old_data, old_indexes).await? {
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
async fn transaction(
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
        old_data.to_string(),
        old_indexes.to_string(),
    ];
    let (lock, n_entries, n_indexes, generation, list_exists, meta, live_count): Control = redis::pipe()
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
    let entries = members(conn, &shadow_master).await?;
    let missing = n_entries - count_existing(conn, &shadow, &entries).await?;
    if missing > 0 {
        return Err(incomplete(ds, &format!("{missing} shadow entries are missing")));
    }
    let meta = super::meta::Meta::parse(meta.as_deref());
    let fast = generation.is_some()
        && list_exists
        && live_count == n_entries
        && meta.is_some_and(|m| m.run_id == generation && m.entries_digest.as_deref() == Some(input.entries_digest));
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
    for chunk in entries.chunks(CHUNK).chain(indexes.chunks(CHUNK)) {
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
    queue.cmd("SET").arg(&meta_key).arg(&input.meta_json).arg("PX").arg(ttl_ms).ignore();
    queue.cmd("SET").arg(&generation_key).arg(input.run_id).arg("PX").arg(ttl_ms).ignore();
    queue.cmd("SET").arg(keys.dims(ds)).arg(&input.dims_json).arg("PX").arg(ttl_ms).ignore();
    queue.cmd("DEL").arg(keys.query_totals(ds)).ignore();
    queue.cmd("ZREM").arg(keys.runs(ds)).arg(input.run_id).ignore();
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
            let mut check = state.redis.conn().await?;
            let now: Option<String> =
                redis::cmd("GET").arg(&generation_key).query_async(&mut check).await.ctx("checking the cutover")?;
            if now.as_deref() == Some(input.run_id) {
                tracing::warn!(source = ds, "the cutover answered late but completed");
                Ok(Some(report))
            } else {
                Err(redis_error(e, &format!("running the cutover of source {ds}")))
            }
        }
        Err(e) => Err(redis_error(e, &format!("running the cutover of source {ds}"))),
    }
}

type Control = (Option<String>, u64, u64, Option<String>, bool, Option<String>, u64);

/// When the entry set did not change, the script keeps the live index sets: give them a fresh
/// TTL first. Harmless if the script then takes the other path (it replaces them anyway).
async fn refresh_index_ttls_if_unchanged(state: &AppState, input: &CutoverInput<'_>) -> Result<(), AppError> {
    let keys = &state.keys;
    let ds = input.ds;
    let mut conn = state.redis.bulk().await?;
    let (generation, meta, live): (Option<String>, Option<String>, u64) = redis::pipe()
        .cmd("GET")
        .arg(keys.generation(ds))
        .cmd("GET")
        .arg(keys.meta(ds))
        .cmd("SCARD")
        .arg(keys.master(ds))
        .query_async(&mut conn)
        .await
        .ctx("comparing entry sets")?;
    let meta = super::meta::Meta::parse(meta.as_deref());
    let same = meta
        .as_ref()
        .is_some_and(|m| m.run_id == generation && m.entries_digest.as_deref() == Some(input.entries_digest));
    if !same || live != input.expected_entries {
        return Ok(());
    }
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

/// First warm over a layout Hearth did not write (or an empty one): find every live data key and
/// index set of the source (orphans included) so the cutover can remove what the new run lacks.
async fn scan_foreign_layout(state: &AppState, ds: i64, run_id: &str) -> Result<(String, String), AppError> {
    let keys = &state.keys;
    let [data_pattern, index_pattern] = keys.live_patterns(ds);
    let (data_set, index_set) = (keys.scanned_data(ds, run_id), keys.scanned_indexes(ds, run_id));
    let slot = keys.master(ds);
    let mut conn = state.redis.bulk().await?;
    for (pattern, target) in [(&data_pattern, &data_set), (&index_pattern, &index_set)] {
        let _: () = redis::cmd("DEL").arg(target).query_async(&mut conn).await.ctx("recording the live layout")?;
        // Page by page, so memory stays flat however large the live layout is.
        let mut cursor = 0u64;
        loop {
            let (next, found) = scan::scan_page(&mut conn, cursor, pattern, scan::SCAN_COUNT, None, &slot).await?;
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
            if next == 0 {
                break;
            }
            cursor = next;
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
