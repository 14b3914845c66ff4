//! Cached reads (SPEC §2) in one round trip: a Lua script does the index algebra (union of the
//! practice sets, union of the provider sets, intersected, or the base set) and fetches the
//! entries, leaving no temporary keys. A warm source answers authoritatively, even when empty
//! (a hit); a cold one is a miss. Every query is counted for hit rate and latency.

use std::time::Instant;

use redis::Script;

use crate::error::AppError;
use crate::redis_conn::RedisResultExt;
use crate::state::AppState;

const QUERY: &str = r#"
local meta = redis.call('GET', KEYS[1])
if not meta or meta == '[]' then return {0} end
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
local out = {1}
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
        if self.datasource_id <= 0 {
            return Err(AppError::validation("datasourceId must be a positive integer"));
        }
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
}

/// Runs the query and records it (hit or miss, latency) for the source's statistics.
pub async fn query(state: &AppState, q: &CacheQuery) -> Result<CacheAnswer, AppError> {
    q.validate()?;
    let started = Instant::now();
    let answer = run(state, q).await;
    let micros = started.elapsed().as_micros() as u64;
    match answer {
        Ok((hit, values)) => {
            state.query_stats.record(q.datasource_id, hit, micros);
            Ok(CacheAnswer { hit, entries: values.len(), rows_json: splice(&values), micros })
        }
        Err(e) => Err(e),
    }
}

async fn run(state: &AppState, q: &CacheQuery) -> Result<(bool, Vec<String>), AppError> {
    let keys = &state.keys;
    let ds = q.datasource_id;
    let script = Script::new(QUERY);
    let mut script = script.prepare_invoke();
    script.key(keys.meta(ds)).key(keys.base(ds, &q.measure, &q.frequency));
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
    let values = it
        .filter_map(|v| match v {
            redis::Value::BulkString(b) => String::from_utf8(b).ok(),
            _ => None,
        })
        .collect();
    Ok((hit, values))
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
