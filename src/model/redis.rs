//! The Redis tab's shapes: the overview parsed from INFO.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct RedisOverview {
    pub version: String,
    pub mode: String,
    pub role: String,
    pub uptime_secs: u64,
    pub used_memory: u64,
    pub used_memory_peak: u64,
    /// 0 when Redis has no limit.
    pub max_memory: u64,
    pub max_memory_policy: String,
    pub fragmentation_ratio: f64,
    pub connected_clients: u64,
    pub ops_per_sec: u64,
    pub keyspace_hits: u64,
    pub keyspace_misses: u64,
    /// Percent of key lookups that found a key; `None` before the first lookup.
    pub hit_rate: Option<f64>,
    pub evicted_keys: u64,
    pub expired_keys: u64,
    pub total_keys: u64,
    pub sampled_at: String,
}

impl RedisOverview {
    /// Used memory as a percent of `maxmemory`, when there is a limit.
    pub fn memory_percent(&self) -> Option<f64> {
        (self.max_memory > 0).then(|| self.used_memory as f64 * 100.0 / self.max_memory as f64)
    }
}
