//! The Redis tab's shapes: the overview, the key browser, the inspector, purge and TTL changes.

use serde::{Deserialize, Serialize};

use super::input::{Reason, Ttl};

/// The text that confirms a purge of `*` (every key the Redis tab may change under the prefix).
pub const CONFIRM_PURGE_ALL: &str = "purge all";
/// The text that confirms a TTL change of `*`.
pub const CONFIRM_TTL_ALL: &str = "change all";

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
    /// Most called commands (`INFO commandstats`).
    #[serde(default)]
    pub top_commands: Vec<CommandStat>,
    /// Latest slow log entries.
    #[serde(default)]
    pub slowlog: Vec<SlowEntry>,
    /// Keys per namespace, estimated from a random sample of the keyspace.
    #[serde(default)]
    pub namespaces: Vec<NamespaceCount>,
    #[serde(default)]
    pub namespace_sample: u64,
    /// On a Redis Cluster, one row per primary; the figures above are then the cluster's totals
    /// (memory, keys, clients, operations and lookups summed, the worst fragmentation, the
    /// shortest uptime). Empty on a single server.
    #[serde(default)]
    pub nodes: Vec<NodeOverview>,
}

/// One primary of a cluster, as its own `INFO` describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct NodeOverview {
    /// `host:port`, as `CLUSTER SLOTS` names it.
    pub address: String,
    pub version: String,
    pub uptime_secs: u64,
    pub used_memory: u64,
    /// 0 when the node has no limit.
    pub max_memory: u64,
    pub connected_clients: u64,
    pub ops_per_sec: u64,
    pub hit_rate: Option<f64>,
    pub total_keys: u64,
}

impl RedisOverview {
    /// Used memory as a percent of `maxmemory`, when there is a limit.
    pub fn memory_percent(&self) -> Option<f64> {
        (self.max_memory > 0).then(|| self.used_memory as f64 * 100.0 / self.max_memory as f64)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommandStat {
    pub command: String,
    pub calls: u64,
    pub usec_per_call: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SlowEntry {
    pub id: u64,
    pub at: String,
    pub micros: u64,
    /// The command and its first argument, shortened; values are never shown.
    pub command: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NamespaceCount {
    /// `cache:`, `cache:meta:`, `idx:`, `hearth:`, `other` (inside the prefix) or `outside prefix`.
    pub namespace: String,
    pub estimated_keys: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyRow {
    /// Without the configured prefix.
    pub key: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// Seconds; -1 without expiry, -2 when the key vanished meanwhile.
    pub ttl: i64,
    /// Bytes (`MEMORY USAGE`).
    pub size: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyPage {
    pub keys: Vec<KeyRow>,
    /// Continue with this cursor; "0" when the scan is complete.
    pub cursor: String,
    pub pattern: String,
    /// Keys Redis looked at for this page (bounded).
    pub examined: u64,
    pub has_more: bool,
    /// Keys the pattern matched outside the Redis tab's namespaces, left off the page.
    #[serde(default)]
    pub hidden: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum KeyValue {
    String { text: String, json: bool, truncated: bool, total_bytes: u64 },
    Hash { fields: Vec<(String, String)>, cursor: String },
    List { items: Vec<String>, start: u64 },
    Set { members: Vec<String>, cursor: String },
    Zset { members: Vec<(String, f64)>, start: u64 },
    Stream { entries: Vec<StreamEntry>, next: Option<String> },
    Other,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamEntry {
    pub id: String,
    pub fields: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyDetail {
    pub key: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub ttl: i64,
    pub size: Option<u64>,
    pub encoding: String,
    /// Elements (or bytes, for a string).
    pub length: u64,
    pub value: KeyValue,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PurgeRequest {
    pub pattern: String,
    pub preview: Option<bool>,
    /// `true`; for `*` (everything the Redis tab may change under the prefix) the text `purge all`.
    pub confirm: Option<serde_json::Value>,
    pub reason: Option<Reason>,
    /// Start the purge and answer at once with its id (progress at `…/purge/{id}`).
    #[serde(rename = "async")]
    pub run_async: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PurgeResult {
    pub success: bool,
    pub pattern: String,
    pub preview: bool,
    /// Matching keys (preview) or deleted keys (purge).
    pub keys_deleted: u64,
    pub matched: u64,
    pub failed: u64,
    /// Matching keys the Redis tab never changes: Hearth's own state, warm locks, read-only
    /// namespaces.
    pub skipped_protected: u64,
    /// Matching keys outside the Redis tab's namespaces, left alone.
    #[serde(default)]
    pub skipped_outside: u64,
    /// Keys Redis examined for a preview, at most `browse::PREVIEW_EXAMINE_CAP`.
    #[serde(default)]
    pub examined: u64,
    /// The preview stopped at that cap: the counts are a lower bound (the purge goes through all).
    #[serde(default)]
    pub truncated: bool,
    pub estimated_bytes: Option<u64>,
    /// The first matching keys (at most 100), without the prefix.
    pub keys: Vec<String>,
    pub duration_ms: u64,
    /// Set when the purge runs in the background.
    pub purge_id: Option<String>,
    pub done: bool,
    pub aborted: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TtlRequest {
    pub pattern: String,
    /// Seconds, or -1 to persist.
    pub ttl: Ttl,
    /// Without `confirm`, a request is a preview unless it says `preview: false`.
    pub preview: Option<bool>,
    /// As for a purge: `true`; for `*` the text `change all`.
    #[serde(default)]
    pub confirm: Option<serde_json::Value>,
    /// `true` to remove the expiry (`ttl: -1`) of every matching key.
    #[serde(default)]
    pub confirm_persist: Option<bool>,
    pub reason: Option<Reason>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TtlBucket {
    pub label: String,
    pub keys: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TtlResult {
    pub pattern: String,
    pub preview: bool,
    pub matched: u64,
    pub updated: u64,
    pub ttl: i64,
    /// As in [`PurgeResult`].
    #[serde(default)]
    pub skipped_protected: u64,
    #[serde(default)]
    pub skipped_outside: u64,
    #[serde(default)]
    pub examined: u64,
    #[serde(default)]
    pub truncated: bool,
    /// Current TTLs of the matching keys.
    pub distribution: Vec<TtlBucket>,
    pub keys: Vec<String>,
    pub duration_ms: u64,
}
