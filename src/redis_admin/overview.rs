//! The overview card: a parse of `INFO` into [`RedisOverview`], and the readiness probe.

use crate::error::AppError;
use crate::model::redis::{CommandStat, NamespaceCount, NodeOverview, RedisOverview, SlowEntry};
use crate::redis_conn::info::{Info, parse_info};
use crate::redis_conn::{Conn, Node, RedisResultExt, query_on_node};
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

/// Runs `cmd` on `node` of a cluster, or on the single server when there is none.
async fn on<T: redis::FromRedisValue>(conn: &mut Conn, cmd: &redis::Cmd, node: Option<&Node>) -> redis::RedisResult<T> {
    match node {
        Some(node) => query_on_node(conn, cmd, node).await,
        None => cmd.query_async(conn).await,
    }
}

/// Keys per namespace estimated from RANDOMKEY samples scaled to the key count: O(1) per poll,
/// however large the keyspace. `targets` are the server (`None`) or each primary with its key
/// count; each is sampled in proportion to its keys and its sample scaled to them.
async fn namespaces(state: &AppState, targets: &[(Option<Node>, u64)]) -> Result<(Vec<NamespaceCount>, u64), AppError> {
    let total: u64 = targets.iter().map(|(_, keys)| keys).sum();
    let mut counts: std::collections::BTreeMap<&str, f64> = std::collections::BTreeMap::new();
    let mut sampled = 0u64;
    let conn = state.redis.conn().await?;
    for (node, keys) in targets.iter().filter(|(_, keys)| *keys > 0) {
        let share = ((NAMESPACE_SAMPLE as u64 * keys).div_ceil(total) as usize).min(*keys as usize);
        // All in flight at once on the multiplexed connection (a pipeline cannot be sent to a
        // chosen cluster node); 200 at most in all.
        let samples = futures::future::join_all((0..share).map(|_| {
            let mut conn = conn.clone();
            async move { on::<Option<String>>(&mut conn, &redis::cmd("RANDOMKEY"), node.as_ref()).await }
        }))
        .await;
        let found: Vec<String> =
            samples.into_iter().collect::<Result<Vec<_>, _>>().ctx("sampling keys")?.into_iter().flatten().collect();
        if found.is_empty() {
            continue;
        }
        let weight = *keys as f64 / found.len() as f64;
        for k in &found {
            let ns = match state.keys.strip(k) {
                Some(inner) => namespace_of(inner),
                None => "outside prefix",
            };
            *counts.entry(ns).or_default() += weight;
        }
        sampled += found.len() as u64;
    }
    let mut out: Vec<NamespaceCount> = counts
        .into_iter()
        .map(|(ns, c)| NamespaceCount { namespace: ns.to_string(), estimated_keys: c.round() as u64 })
        .collect();
    out.sort_by_key(|n| std::cmp::Reverse(n.estimated_keys));
    Ok((out, sampled))
}

async fn slowlog(state: &AppState, node: Option<&Node>) -> Result<Vec<SlowEntry>, AppError> {
    let mut conn = state.redis.conn().await?;
    let raw: Vec<redis::Value> =
        on(&mut conn, redis::cmd("SLOWLOG").arg("GET").arg(10), node).await.ctx("reading the slow log")?;
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
            if let Some(node) = node {
                command.push_str(&format!(" (on {node})"));
            }
            Some(SlowEntry { id, at: crate::time::iso_from_ms(at * 1000), micros, command })
        })
        .collect())
}

const SECTIONS: [&str; 7] = ["server", "clients", "memory", "stats", "replication", "keyspace", "commandstats"];

/// The live overview: INFO (commandstats asked for explicitly), the slow log and a sample of
/// the keyspace for namespace counts. On a cluster, the same of every primary, with the totals.
pub async fn overview(state: &AppState) -> Result<RedisOverview, AppError> {
    if state.redis.is_cluster() {
        return cluster_overview(state).await;
    }
    let info = state.redis.info(&SECTIONS).await?;
    let mut o = overview_from_info(&info);
    o.top_commands = top_commands(&info, 10);
    o.slowlog = slowlog(state, None).await?;
    let (namespaces, sampled) = namespaces(state, &[(None, o.total_keys)]).await?;
    o.namespaces = namespaces;
    o.namespace_sample = sampled;
    Ok(o)
}

async fn cluster_overview(state: &AppState) -> Result<RedisOverview, AppError> {
    let primaries = state.redis.primaries().await?;
    let mut conn = state.redis.conn().await?;
    let (mut infos, mut slow) = (Vec::with_capacity(primaries.len()), Vec::new());
    for node in &primaries {
        let text: String = on(&mut conn, redis::cmd("INFO").arg(&SECTIONS[..]), Some(node))
            .await
            .ctx(&format!("reading INFO of {node}"))?;
        infos.push(parse_info(&text));
        slow.extend(slowlog(state, Some(node)).await?);
    }
    let mut o = cluster_totals(&primaries, &infos);
    slow.sort_by(|a, b| b.at.cmp(&a.at));
    slow.truncate(10);
    o.slowlog = slow;
    let targets: Vec<(Option<Node>, u64)> =
        primaries.iter().cloned().map(Some).zip(o.nodes.iter().map(|n| n.total_keys)).collect();
    (o.namespaces, o.namespace_sample) = namespaces(state, &targets).await?;
    Ok(o)
}

/// The cluster's overview from each primary's INFO: sums, the worst fragmentation, the
/// shortest uptime, commands merged by name, and one row per node.
fn cluster_totals(primaries: &[Node], infos: &[Info]) -> RedisOverview {
    let each: Vec<RedisOverview> = infos.iter().map(overview_from_info).collect();
    let sum = |f: fn(&RedisOverview) -> u64| each.iter().map(f).sum::<u64>();
    let (hits, misses) = (sum(|o| o.keyspace_hits), sum(|o| o.keyspace_misses));
    let mut commands: std::collections::BTreeMap<String, (u64, f64)> = std::collections::BTreeMap::new();
    for info in infos {
        for c in top_commands(info, usize::MAX) {
            let entry = commands.entry(c.command).or_default();
            entry.0 += c.calls;
            entry.1 += c.usec_per_call * c.calls as f64;
        }
    }
    let mut top_commands: Vec<CommandStat> = commands
        .into_iter()
        .map(|(command, (calls, usec))| CommandStat {
            command,
            calls,
            usec_per_call: if calls > 0 { usec / calls as f64 } else { 0.0 },
        })
        .collect();
    top_commands.sort_by(|a, b| b.calls.cmp(&a.calls).then_with(|| a.command.cmp(&b.command)));
    top_commands.truncate(10);
    let first = each.first().cloned().unwrap_or_default();
    RedisOverview {
        version: first.version,
        mode: "cluster".to_string(),
        role: format!("{} primaries", primaries.len()),
        uptime_secs: each.iter().map(|o| o.uptime_secs).min().unwrap_or(0),
        used_memory: sum(|o| o.used_memory),
        used_memory_peak: sum(|o| o.used_memory_peak),
        // One node without a limit leaves the cluster without one.
        max_memory: if each.iter().any(|o| o.max_memory == 0) { 0 } else { sum(|o| o.max_memory) },
        max_memory_policy: first.max_memory_policy,
        fragmentation_ratio: each.iter().map(|o| o.fragmentation_ratio).fold(0.0, f64::max),
        connected_clients: sum(|o| o.connected_clients),
        ops_per_sec: sum(|o| o.ops_per_sec),
        keyspace_hits: hits,
        keyspace_misses: misses,
        hit_rate: (hits + misses > 0).then(|| hits as f64 * 100.0 / (hits + misses) as f64),
        evicted_keys: sum(|o| o.evicted_keys),
        expired_keys: sum(|o| o.expired_keys),
        total_keys: sum(|o| o.total_keys),
        sampled_at: crate::time::now_iso(),
        top_commands,
        nodes: primaries
            .iter()
            .zip(&each)
            .map(|(node, o)| NodeOverview {
                address: node.to_string(),
                version: o.version.clone(),
                uptime_secs: o.uptime_secs,
                used_memory: o.used_memory,
                max_memory: o.max_memory,
                connected_clients: o.connected_clients,
                ops_per_sec: o.ops_per_sec,
                hit_rate: o.hit_rate,
                total_keys: o.total_keys,
            })
            .collect(),
        ..Default::default()
    }
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
    fn a_cluster_overview_sums_its_primaries_and_lists_each() {
        let node = |port| Node { host: "127.0.0.1".into(), port };
        let a = parse_info(
            "redis_version:7.0.15\r\nuptime_in_seconds:50\r\nused_memory:100\r\nmaxmemory:1000\r\nkeyspace_hits:3\r\nkeyspace_misses:1\r\ndb0:keys=5,expires=0\r\nmem_fragmentation_ratio:1.5\r\ncmdstat_get:calls=10,usec_per_call=1.00\r\n",
        );
        let b = parse_info(
            "redis_version:7.0.15\r\nuptime_in_seconds:20\r\nused_memory:300\r\nmaxmemory:1000\r\nkeyspace_hits:1\r\nkeyspace_misses:3\r\ndb0:keys=7,expires=0\r\nmem_fragmentation_ratio:1.1\r\ncmdstat_get:calls=30,usec_per_call=3.00\r\n",
        );
        let o = cluster_totals(&[node(7000), node(7001)], &[a.clone(), b]);
        assert_eq!((o.used_memory, o.max_memory, o.total_keys, o.uptime_secs), (400, 2000, 12, 20));
        assert_eq!(o.hit_rate, Some(50.0));
        assert_eq!(o.fragmentation_ratio, 1.5);
        assert_eq!((o.top_commands[0].calls, o.top_commands[0].usec_per_call), (40, 2.5));
        assert_eq!(
            o.nodes.iter().map(|n| (n.address.as_str(), n.total_keys)).collect::<Vec<_>>(),
            [("127.0.0.1:7000", 5), ("127.0.0.1:7001", 7)]
        );
        let unlimited = parse_info("used_memory:1\r\nmaxmemory:0\r\n");
        assert_eq!(
            cluster_totals(&[node(7000), node(7001)], &[a, unlimited]).max_memory,
            0,
            "one node without a limit"
        );
    }

    #[test]
    fn hit_rate_is_unknown_before_any_lookup() {
        let o = overview_from_info(&parse_info("keyspace_hits:0\r\nkeyspace_misses:0\r\n"));
        assert_eq!(o.hit_rate, None);
        assert_eq!(o.memory_percent(), None);
    }
}
