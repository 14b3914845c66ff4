//! Cached reads (SPEC §2) in one round trip and one atomic step: the index algebra (union of the
//! practice sets, union of the provider sets, intersected; or the base set) and the fetch of the
//! entries. A warm source answers authoritatively, even when empty (a hit); a cold one is a miss.
//! Every query is counted for hit rate and latency. Answers of the live generation are kept in
//! memory (`results.rs`), checked against the live generation on every query.
//!
//! On a single server the step is a MULTI/EXEC pipeline: SUNIONSTORE/SINTERSTORE into scratch
//! keys of the source's slot, `SORT … ALPHA GET <prefix>*` to fetch the entries natively, and DEL
//! of the scratch keys in the same transaction, so none is ever seen or left behind. In a cluster
//! SORT may not GET by pattern, so the same algebra runs as a Lua script; it is slower, because
//! every value is copied into and out of Lua strings (a 640 KB answer costs ~1.9 ms of Redis time
//! that way against ~0.35 ms natively).

use std::sync::LazyLock;
use std::time::Instant;

use redis::Script;

use super::results::{ResultCache, Stored, Tag};
use crate::error::{AppError, Cause};
use crate::model::input::DatasourceId;
use crate::redis_conn::RedisResultExt;
use crate::state::AppState;

static QUERY: LazyLock<Script> = LazyLock::new(|| Script::new(QUERY_LUA));

const QUERY_LUA: &str = r#"
local meta = redis.call('GET', KEYS[1])
if not meta or #meta <= 2 then return {0} end
local generation = redis.call('GET', KEYS[3])
local prefix = ARGV[1]
local np, nv = tonumber(ARGV[2]), tonumber(ARGV[3])
local function union(from, count)
  local set = {}
  for i = from, from + count - 1 do
    for _, m in ipairs(redis.call('SMEMBERS', ARGV[i])) do set[m] = true end
  end
  return set
end
local members = {}
if np == 0 and nv == 0 then
  members = redis.call('SMEMBERS', KEYS[2])
else
  local practices = np > 0 and union(4, np) or nil
  local providers = nv > 0 and union(4 + np, nv) or nil
  local first = practices or providers
  for m in pairs(first) do
    if (not practices or practices[m]) and (not providers or providers[m]) then members[#members + 1] = m end
  end
end
table.sort(members)
local out = {1, meta, generation}
for i = 1, #members, 4000 do
  local keys = {}
  for j = i, math.min(i + 3999, #members) do keys[#keys + 1] = prefix .. members[j] end
  for _, v in ipairs(redis.call('MGET', unpack(keys))) do
    if v then out[#out + 1] = v end
  end
end
return out
"#;

/// `measure` and `frequency` are required; practices and providers are optional lists (union).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CacheQuery {
    pub datasource_id: i64,
    pub measure: String,
    pub frequency: String,
    pub practices: Vec<String>,
    /// `*` selects the NULL provider.
    pub providers: Vec<String>,
}

impl CacheQuery {
    pub fn validate(&self) -> Result<(), AppError> {
        DatasourceId::try_from(self.datasource_id).map_err(AppError::validation)?;
        if self.measure.is_empty() || self.frequency.is_empty() {
            return Err(AppError::validation("measure and frequency are required"));
        }
        if self.practices.len() + self.providers.len() > 2000 {
            return Err(AppError::validation("at most 2000 practices and providers per query"));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct CacheAnswer {
    pub hit: bool,
    /// Entries matched (each a JSON array of rows).
    pub entries: usize,
    /// The matching rows as one JSON array, spliced from the entries without re-parsing.
    pub rows_json: String,
    pub micros: u64,
    /// The generation (run id) the answer was read from, when Hearth wrote the live data.
    pub generation: Option<String>,
}

/// What one atomic read returns: hit, entry values, and the tag of the generation read.
type Read = (bool, Vec<String>, Option<Tag>);

/// Runs the query and records it (hit or miss, latency) for the source's statistics.
pub async fn query(state: &AppState, q: &CacheQuery) -> Result<CacheAnswer, AppError> {
    q.validate()?;
    let started = Instant::now();
    let mut answer = answer(state, q).await?;
    answer.micros = started.elapsed().as_micros() as u64;
    state.query_stats.record(q.datasource_id, answer.hit, answer.micros);
    Ok(answer)
}

/// From the result cache when it holds the answer of the live generation, else from Redis.
async fn answer(state: &AppState, q: &CacheQuery) -> Result<CacheAnswer, AppError> {
    let cache = &state.query_results;
    let key = cache.enabled().then(|| ResultCache::key(q));
    if let Some(key) = &key
        && let Some(tag) = live_tag(state, q.datasource_id).await?
        && let Some(stored) = cache.get(key, &tag)
    {
        return Ok(CacheAnswer {
            hit: true,
            entries: stored.entries,
            rows_json: stored.rows_json.to_string(),
            micros: 0,
            generation: Some(tag.generation),
        });
    }
    let (hit, values, tag) = run(state, q).await?;
    let rows_json = splice(&values);
    // Stamped with the tag read in the same atomic step as the data: never another generation's.
    if let (Some(key), Some(tag), true) = (key, &tag, hit) {
        cache.put(key, tag.clone(), Stored { entries: values.len(), rows_json: rows_json.as_str().into() });
    }
    Ok(CacheAnswer { hit, entries: values.len(), rows_json, micros: 0, generation: tag.map(|t| t.generation) })
}

/// The tag of the live generation: one pipelined round trip.
async fn live_tag(state: &AppState, ds: i64) -> Result<Option<Tag>, AppError> {
    let mut conn = state.redis.conn().await?;
    let (generation, meta): (Option<String>, Option<String>) = redis::pipe()
        .cmd("GET")
        .arg(state.keys.generation(ds))
        .cmd("GET")
        .arg(state.keys.meta(ds))
        .query_async(&mut conn)
        .await
        .ctx("reading the live generation")?;
    Ok(Tag::of(generation, meta.as_deref()))
}

async fn run(state: &AppState, q: &CacheQuery) -> Result<Read, AppError> {
    if state.redis.is_cluster() || state.query_by_script.load(std::sync::atomic::Ordering::Relaxed) {
        return by_script(state, q).await;
    }
    match by_transaction(state, q).await {
        // An ACL user without access to every key may not SORT … GET by pattern: use the script.
        Err(e) if e.cause == Some(Cause::RedisNoPermission) => {
            tracing::warn!("SORT … GET is not permitted for Hearth's Redis user; cached queries use the Lua script");
            state.query_by_script.store(true, std::sync::atomic::Ordering::Relaxed);
            by_script(state, q).await
        }
        other => other,
    }
}

/// Scratch key of one query, in the source's slot.
fn scratch(state: &AppState, ds: i64, which: &str, nonce: u64) -> String {
    state.keys.query_scratch(ds, nonce, which)
}

async fn by_transaction(state: &AppState, q: &CacheQuery) -> Result<Read, AppError> {
    let keys = &state.keys;
    let ds = q.datasource_id;
    let nonce: u64 = rand::random();
    let practice_sets: Vec<String> =
        q.practices.iter().map(|p| keys.practice(ds, &q.measure, p, &q.frequency)).collect();
    let provider_sets: Vec<String> = q
        .providers
        .iter()
        .map(|v| keys.provider(ds, &q.measure, &q.frequency, (v != "*").then_some(v.as_str())))
        .collect();
    let mut pipe = redis::pipe();
    pipe.atomic();
    pipe.cmd("GET").arg(keys.meta(ds));
    pipe.cmd("GET").arg(keys.generation(ds));
    let mut scratch_keys = Vec::new();
    let mut union = |sets: &[String], which: &str, pipe: &mut redis::Pipeline| -> String {
        if sets.len() == 1 {
            return sets[0].clone();
        }
        let key = scratch(state, ds, which, nonce);
        pipe.cmd("SUNIONSTORE").arg(&key).arg(sets).ignore();
        scratch_keys.push(key.clone());
        key
    };
    let source = match (practice_sets.is_empty(), provider_sets.is_empty()) {
        (true, true) => keys.base(ds, &q.measure, &q.frequency),
        (false, true) => union(&practice_sets, "p", &mut pipe),
        (true, false) => union(&provider_sets, "v", &mut pipe),
        (false, false) => {
            let (p, v) = (union(&practice_sets, "p", &mut pipe), union(&provider_sets, "v", &mut pipe));
            let both = scratch(state, ds, "pv", nonce);
            pipe.cmd("SINTERSTORE").arg(&both).arg(&p).arg(&v).ignore();
            scratch_keys.push(both.clone());
            both
        }
    };
    pipe.cmd("SORT").arg(&source).arg("ALPHA").arg("GET").arg(format!("{}*", keys.prefix()));
    if !scratch_keys.is_empty() {
        pipe.cmd("DEL").arg(&scratch_keys).ignore();
    }
    let mut conn = state.redis.conn().await?;
    let (meta, generation, values): (Option<String>, Option<String>, Vec<Option<String>>) =
        pipe.query_async(&mut conn).await.ctx("querying the cache")?;
    if meta.as_ref().is_none_or(|m| m.len() <= 2) {
        return Ok((false, Vec::new(), None));
    }
    Ok((true, values.into_iter().flatten().collect(), Tag::of(generation, meta.as_deref())))
}

async fn by_script(state: &AppState, q: &CacheQuery) -> Result<Read, AppError> {
    let keys = &state.keys;
    let ds = q.datasource_id;
    let mut script = QUERY.prepare_invoke();
    script.key(keys.meta(ds)).key(keys.base(ds, &q.measure, &q.frequency)).key(keys.generation(ds));
    script.arg(keys.prefix()).arg(q.practices.len()).arg(q.providers.len());
    for p in &q.practices {
        script.arg(keys.practice(ds, &q.measure, p, &q.frequency));
    }
    for v in &q.providers {
        let provider = (v != "*").then_some(v.as_str());
        script.arg(keys.provider(ds, &q.measure, &q.frequency, provider));
    }
    let mut conn = state.redis.conn().await?;
    let reply: Vec<redis::Value> = script.invoke_async(&mut conn).await.ctx("querying the cache")?;
    let mut it = reply.into_iter();
    let hit = matches!(it.next(), Some(redis::Value::Int(1)));
    let text = |v: Option<redis::Value>| match v {
        Some(redis::Value::BulkString(b)) => String::from_utf8(b).ok(),
        _ => None,
    };
    if !hit {
        return Ok((false, Vec::new(), None));
    }
    let (meta, generation) = (text(it.next()), text(it.next()));
    let values = it.filter_map(|v| text(Some(v))).collect();
    Ok((true, values, Tag::of(generation, meta.as_deref())))
}

/// `[a,b]` and `[c]` become `[a,b,c]`; empty arrays vanish.
fn splice(values: &[String]) -> String {
    let mut out = String::with_capacity(values.iter().map(|v| v.len()).sum::<usize>() + 2);
    out.push('[');
    for v in values {
        let inner = v.trim().strip_prefix('[').and_then(|s| s.strip_suffix(']')).unwrap_or("").trim();
        if inner.is_empty() {
            continue;
        }
        if out.len() > 1 {
            out.push(',');
        }
        out.push_str(inner);
    }
    out.push(']');
    out
}

#[cfg(test)]
mod tests {
    use super::splice;

    #[test]
    fn entries_are_spliced_into_one_array() {
        let v = vec!["[{\"a\":1},{\"a\":2}]".to_string(), "[]".to_string(), "[{\"a\":3}]".to_string()];
        assert_eq!(splice(&v), "[{\"a\":1},{\"a\":2},{\"a\":3}]");
        assert_eq!(splice(&[]), "[]");
    }
}
