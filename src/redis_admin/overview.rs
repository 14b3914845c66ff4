//! The overview card: a parse of `INFO` into [`RedisOverview`], and the readiness probe.

use crate::error::AppError;
use crate::model::redis::{CommandStat, NamespaceCount, RedisOverview, SlowEntry};
use crate::redis_conn::RedisResultExt;
use crate::redis_conn::info::Info;
use crate::state::AppState;

/// Total keys over every database line of `# Keyspace` (`db0:keys=3,expires=1,...`).
fn keyspace_total(info: &Info) -> u64 {
    info.fields()
        .filter(|(k, _)| k.starts_with("db") && k[2..].chars().all(|c| c.is_ascii_digit()))
        .filter_map(|(_, v)| v.split(',').find_map(|p| p.strip_prefix("keys=")).and_then(|n| n.parse::<u64>().ok()))
        .sum()
}

pub fn overview_from_info(info: &Info) -> RedisOverview {
    let hits: u64 = info.num("keyspace_hits");
    let misses: u64 = info.num("keyspace_misses");
    RedisOverview {
        version: info.get("redis_version").unwrap_or_default().to_string(),
        mode: info.get("redis_mode").unwrap_or_default().to_string(),
        role: info.get("role").unwrap_or_default().to_string(),
        uptime_secs: info.num("uptime_in_seconds"),
        used_memory: info.num("used_memory"),
        used_memory_peak: info.num("used_memory_peak"),
        max_memory: info.num("maxmemory"),
        max_memory_policy: info.get("maxmemory_policy").unwrap_or_default().to_string(),
        fragmentation_ratio: info.num("mem_fragmentation_ratio"),
        connected_clients: info.num("connected_clients"),
        ops_per_sec: info.num("instantaneous_ops_per_sec"),
        keyspace_hits: hits,
        keyspace_misses: misses,
        hit_rate: (hits + misses > 0).then(|| hits as f64 * 100.0 / (hits + misses) as f64),
        evicted_keys: info.num("evicted_keys"),
        expired_keys: info.num("expired_keys"),
        total_keys: keyspace_total(info),
        sampled_at: crate::time::now_iso(),
        ..Default::default()
    }
}

/// The most called commands from `INFO commandstats` (`cmdstat_get:calls=3,usec=9,…`).
pub fn top_commands(info: &Info, n: usize) -> Vec<CommandStat> {
    let mut stats: Vec<CommandStat> = info
        .fields()
        .filter_map(|(k, v)| {
            let command = k.strip_prefix("cmdstat_")?.to_string();
            let field = |name: &str| v.split(',').find_map(|p| p.strip_prefix(name));
            Some(CommandStat {
                command,
                calls: field("calls=")?.parse().ok()?,
                usec_per_call: field("usec_per_call=").and_then(|u| u.parse().ok()).unwrap_or(0.0),
            })
        })
        .collect();
    stats.sort_by(|a, b| b.calls.cmp(&a.calls).then_with(|| a.command.cmp(&b.command)));
    stats.truncate(n);
    stats
}

use crate::cache::keys::namespace_of;

const NAMESPACE_SAMPLE: usize = 200;

/// Keys per namespace estimated from RANDOMKEY samples scaled to the key count: O(1) per poll,
/// however large the keyspace.
async fn namespaces(state: &AppState, total: u64) -> Result<(Vec<NamespaceCount>, u64), AppError> {
    if total == 0 || state.redis.is_cluster() {
        return Ok((Vec::new(), 0));
    }
    let mut pipe = redis::pipe();
    for _ in 0..NAMESPACE_SAMPLE.min(total as usize) {
        pipe.cmd("RANDOMKEY");
    }
    let mut conn = state.redis.conn().await?;
    let keys: Vec<Option<String>> = pipe.query_async(&mut conn).await.ctx("sampling keys")?;
    let keys: Vec<String> = keys.into_iter().flatten().collect();
    let mut counts: std::collections::BTreeMap<&str, u64> = std::collections::BTreeMap::new();
    for k in &keys {
        let ns = match state.keys.strip(k) {
            Some(inner) => namespace_of(inner),
            None => "outside prefix",
        };
        *counts.entry(ns).or_default() += 1;
    }
    let n = keys.len().max(1) as u64;
    let mut out: Vec<NamespaceCount> = counts
        .into_iter()
        .map(|(ns, c)| NamespaceCount { namespace: ns.to_string(), estimated_keys: (c * total + n / 2) / n })
        .collect();
    out.sort_by_key(|n| std::cmp::Reverse(n.estimated_keys));
    Ok((out, keys.len() as u64))
}

async fn slowlog(state: &AppState) -> Result<Vec<SlowEntry>, AppError> {
    let mut conn = state.redis.conn().await?;
    let raw: Vec<redis::Value> =
        redis::cmd("SLOWLOG").arg("GET").arg(10).query_async(&mut conn).await.ctx("reading the slow log")?;
    Ok(raw
        .into_iter()
        .filter_map(|entry| {
            let fields: Vec<redis::Value> = redis::from_redis_value(entry).ok()?;
            let id: u64 = redis::from_redis_value(fields.first()?.clone()).ok()?;
            let at: i64 = redis::from_redis_value(fields.get(1)?.clone()).ok()?;
            let micros: u64 = redis::from_redis_value(fields.get(2)?.clone()).ok()?;
            let args: Vec<String> = redis::from_redis_value(fields.get(3)?.clone()).unwrap_or_default();
            // The command and its first argument (a key, usually); never the values.
            let mut command: String = args.iter().take(2).cloned().collect::<Vec<_>>().join(" ");
            if command.len() > 120 {
                command.truncate(command.char_indices().nth(117).map(|(i, _)| i).unwrap_or(117));
                command.push('…');
            }
            if args.len() > 2 {
                command.push_str(&format!(" … ({} args)", args.len()));
            }
            Some(SlowEntry { id, at: crate::time::iso_from_ms(at * 1000), micros, command })
        })
        .collect())
}

/// The live overview: INFO (commandstats asked for explicitly), the slow log and a sample of
/// the keyspace for namespace counts.
pub async fn overview(state: &AppState) -> Result<RedisOverview, AppError> {
    let info =
        state.redis.info(&["server", "clients", "memory", "stats", "replication", "keyspace", "commandstats"]).await?;
    let mut o = overview_from_info(&info);
    o.top_commands = top_commands(&info, 10);
    o.slowlog = slowlog(state).await?;
    let (namespaces, sampled) = namespaces(state, o.total_keys).await?;
    o.namespaces = namespaces;
    o.namespace_sample = sampled;
    Ok(o)
}

/// Readiness: Redis answers PING.
pub async fn ping(state: &AppState) -> Result<(), AppError> {
    let mut conn = state.redis.conn().await?;
    let _: String = redis::cmd("PING").query_async(&mut conn).await.ctx("pinging")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::redis_conn::info::parse_info;

    const SAMPLE: &str = "# Server\r\nredis_version:7.0.15\r\nredis_mode:standalone\r\nuptime_in_seconds:42\r\n\
        # Memory\r\nused_memory:1048576\r\nmaxmemory:4194304\r\nmem_fragmentation_ratio:1.25\r\n\
        # Stats\r\nkeyspace_hits:30\r\nkeyspace_misses:10\r\ninstantaneous_ops_per_sec:7\r\n\
        # Keyspace\r\ndb0:keys=5,expires=2,avg_ttl=0\r\ndb3:keys=7,expires=0,avg_ttl=0\r\n";

    #[test]
    fn info_fields_become_the_overview() {
        let o = overview_from_info(&parse_info(SAMPLE));
        assert_eq!(o.version, "7.0.15");
        assert_eq!(o.uptime_secs, 42);
        assert_eq!(o.used_memory, 1_048_576);
        assert_eq!(o.memory_percent(), Some(25.0));
        assert_eq!(o.hit_rate, Some(75.0));
        assert_eq!(o.ops_per_sec, 7);
        assert_eq!(o.total_keys, 12);
        assert_eq!(o.fragmentation_ratio, 1.25);
    }

    #[test]
    fn command_stats_are_ranked_by_calls() {
        let info = parse_info(
            "cmdstat_get:calls=30,usec=90,usec_per_call=3.00,rejected_calls=0\r\ncmdstat_set:calls=50,usec=100,usec_per_call=2.00\r\nother:1\r\n",
        );
        let top = top_commands(&info, 5);
        assert_eq!(top.iter().map(|c| c.command.as_str()).collect::<Vec<_>>(), ["set", "get"]);
        assert_eq!(top[1].usec_per_call, 3.0);
    }

    #[test]
    fn hit_rate_is_unknown_before_any_lookup() {
        let o = overview_from_info(&parse_info("keyspace_hits:0\r\nkeyspace_misses:0\r\n"));
        assert_eq!(o.hit_rate, None);
        assert_eq!(o.memory_percent(), None);
    }
}
