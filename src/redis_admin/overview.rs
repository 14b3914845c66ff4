//! The overview card: a parse of `INFO` into [`RedisOverview`], and the readiness probe.

use std::collections::HashMap;

use crate::error::AppError;
use crate::model::redis::RedisOverview;
use crate::redis_conn::RedisResultExt;
use crate::state::AppState;

/// `INFO` text as `field → value`, over all sections asked for.
pub fn parse_info(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.trim_end().split_once(':'))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn num<T: std::str::FromStr + Default>(info: &HashMap<String, String>, field: &str) -> T {
    info.get(field).and_then(|v| v.parse().ok()).unwrap_or_default()
}

/// Total keys over every database line of `# Keyspace` (`db0:keys=3,expires=1,...`).
fn keyspace_total(info: &HashMap<String, String>) -> u64 {
    info.iter()
        .filter(|(k, _)| k.starts_with("db") && k[2..].chars().all(|c| c.is_ascii_digit()))
        .filter_map(|(_, v)| v.split(',').find_map(|p| p.strip_prefix("keys=")).and_then(|n| n.parse::<u64>().ok()))
        .sum()
}

pub fn overview_from_info(info: &HashMap<String, String>) -> RedisOverview {
    let hits: u64 = num(info, "keyspace_hits");
    let misses: u64 = num(info, "keyspace_misses");
    RedisOverview {
        version: info.get("redis_version").cloned().unwrap_or_default(),
        mode: info.get("redis_mode").cloned().unwrap_or_default(),
        role: info.get("role").cloned().unwrap_or_default(),
        uptime_secs: num(info, "uptime_in_seconds"),
        used_memory: num(info, "used_memory"),
        used_memory_peak: num(info, "used_memory_peak"),
        max_memory: num(info, "maxmemory"),
        max_memory_policy: info.get("maxmemory_policy").cloned().unwrap_or_default(),
        fragmentation_ratio: num(info, "mem_fragmentation_ratio"),
        connected_clients: num(info, "connected_clients"),
        ops_per_sec: num(info, "instantaneous_ops_per_sec"),
        keyspace_hits: hits,
        keyspace_misses: misses,
        hit_rate: (hits + misses > 0).then(|| hits as f64 * 100.0 / (hits + misses) as f64),
        evicted_keys: num(info, "evicted_keys"),
        expired_keys: num(info, "expired_keys"),
        total_keys: keyspace_total(info),
        sampled_at: crate::time::now_iso(),
    }
}

pub async fn info(state: &AppState, sections: &[&str]) -> Result<HashMap<String, String>, AppError> {
    let mut conn = state.redis.conn().await?;
    let text: String = redis::cmd("INFO").arg(sections).query_async(&mut conn).await.ctx("reading INFO")?;
    Ok(parse_info(&text))
}

/// The live overview: one `INFO` round trip.
pub async fn overview(state: &AppState) -> Result<RedisOverview, AppError> {
    let info = info(state, &["server", "clients", "memory", "stats", "replication", "keyspace"]).await?;
    Ok(overview_from_info(&info))
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
    fn hit_rate_is_unknown_before_any_lookup() {
        let o = overview_from_info(&parse_info("keyspace_hits:0\r\nkeyspace_misses:0\r\n"));
        assert_eq!(o.hit_rate, None);
        assert_eq!(o.memory_percent(), None);
    }
}
