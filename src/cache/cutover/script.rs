//! The cutover as one Lua script: checks and switch in a single call, so no eviction can slip
//! between them; every key name becomes a Lua string, about three times the cost per entry of
//! the transaction.

use std::sync::LazyLock;
use std::time::Instant;

use redis::Script;

use super::{CutoverInput, CutoverReport, completed_despite_timeout, failed, incomplete, lock_lost};
use crate::cache::keys::Keys;
use crate::error::AppError;
use crate::state::AppState;

static CUTOVER: LazyLock<Script> = LazyLock::new(|| Script::new(CUTOVER_LUA));

const CUTOVER_LUA: &str = r#"
local lock, meta, live_master, shadow_master = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local live_list, shadow_list, old_indexes, generation = KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local query_totals, runs, dims, old_data = KEYS[9], KEYS[10], KEYS[11], KEYS[12]
local digests, shadow_digests = KEYS[13], KEYS[14]
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
if redis.call('EXISTS', shadow_digests) == 0 then
  return redis.error_reply('HEARTH_INCOMPLETE the shadow digests are missing')
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
redis.call('RENAME', shadow_digests, digests)
redis.call('PEXPIRE', digests, ttl)
redis.call('SET', meta, ARGV[6], 'PX', ttl)
redis.call('SET', generation, run, 'PX', ttl)
redis.call('SET', dims, ARGV[9], 'PX', ttl)
redis.call('DEL', query_totals)
redis.call('ZREM', runs, run)
return {#entries, n_indexes, fast and 1 or 0, #removed, #gone}
"#;

pub(super) async fn run(
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
        .key(keys.digests(ds))
        .key(shadow.of(&Keys::digests_name(ds)))
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
            completed_despite_timeout(state, input.ds, input.run_id, e).await?;
            // The script's own counts were lost with its reply.
            Ok(CutoverReport {
                method: "script",
                entries: input.expected_entries,
                indexes: input.expected_indexes,
                blocking_ms,
                ..Default::default()
            })
        }
        Err(e) => Err(match e.code() {
            Some("HEARTH_LOCK_LOST") => lock_lost(ds),
            Some("HEARTH_INCOMPLETE") => incomplete(ds, e.detail().unwrap_or("")),
            _ => failed(ds, e),
        }),
    }
}
