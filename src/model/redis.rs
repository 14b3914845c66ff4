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
#[serde(rename_all = "camelCase", tag = "kind", try_from = "KeyValueWire")]
pub enum KeyValue {
    String { text: String, json: bool, truncated: bool, total_bytes: u64 },
    Hash { fields: Vec<(String, String)>, cursor: String },
    List { items: Vec<String>, start: u64 },
    Set { members: Vec<String>, cursor: String },
    Zset { members: Vec<(String, f64)>, start: u64 },
    Stream { entries: Vec<StreamEntry>, next: Option<String> },
    Other,
}

/// How a [`KeyValue`] is read: the fields of every kind at once, `kind` saying which apply.
/// The JSON is the tagged enum's; reading it through serde's internally tagged path would first
/// buffer each object in a generic `Content` tree, about 30 kB of code (before optimisation)
/// that the browser would carry for this one type.
#[derive(Deserialize)]
struct KeyValueWire {
    kind: String,
    text: Option<String>,
    json: Option<bool>,
    truncated: Option<bool>,
    total_bytes: Option<u64>,
    fields: Option<Vec<(String, String)>>,
    cursor: Option<String>,
    items: Option<Vec<String>>,
    start: Option<u64>,
    /// A set's members are strings, a sorted set's `[member, score]` pairs.
    members: Option<Vec<serde_json::Value>>,
    entries: Option<Vec<StreamEntry>>,
    next: Option<String>,
}

impl TryFrom<KeyValueWire> for KeyValue {
    type Error = String;

    fn try_from(w: KeyValueWire) -> Result<Self, String> {
        let kind = w.kind;
        let missing = |field: &str| format!("a {kind} value needs `{field}`");
        let members = |w: Option<Vec<serde_json::Value>>| w.ok_or_else(|| missing("members"));
        Ok(match kind.as_str() {
            "string" => KeyValue::String {
                text: w.text.ok_or_else(|| missing("text"))?,
                json: w.json.ok_or_else(|| missing("json"))?,
                truncated: w.truncated.ok_or_else(|| missing("truncated"))?,
                total_bytes: w.total_bytes.ok_or_else(|| missing("total_bytes"))?,
            },
            "hash" => KeyValue::Hash {
                fields: w.fields.ok_or_else(|| missing("fields"))?,
                cursor: w.cursor.ok_or_else(|| missing("cursor"))?,
            },
            "list" => KeyValue::List {
                items: w.items.ok_or_else(|| missing("items"))?,
                start: w.start.ok_or_else(|| missing("start"))?,
            },
            "set" => KeyValue::Set {
                members: members(w.members)?
                    .into_iter()
                    .map(|m| match m {
                        serde_json::Value::String(s) => Ok(s),
                        _ => Err("a set's members are strings".to_string()),
                    })
                    .collect::<Result<_, _>>()?,
                cursor: w.cursor.ok_or_else(|| missing("cursor"))?,
            },
            "zset" => KeyValue::Zset {
                members: members(w.members)?
                    .into_iter()
                    .map(|m| match m {
                        serde_json::Value::Array(pair) => match pair.as_slice() {
                            [serde_json::Value::String(member), score] => {
                                score.as_f64().map(|score| (member.clone(), score)).ok_or(())
                            }
                            _ => Err(()),
                        },
                        _ => Err(()),
                    })
                    .collect::<Result<_, ()>>()
                    .map_err(|()| "a sorted set's members are [member, score] pairs".to_string())?,
                start: w.start.ok_or_else(|| missing("start"))?,
            },
            "stream" => KeyValue::Stream { entries: w.entries.ok_or_else(|| missing("entries"))?, next: w.next },
            "other" => KeyValue::Other,
            other => return Err(format!("unknown value kind `{other}`")),
        })
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_value_reads_back_as_written_and_a_broken_one_is_refused_by_name() {
        let values = [
            KeyValue::String { text: "{\"a\":1}".into(), json: true, truncated: false, total_bytes: 7 },
            KeyValue::Hash { fields: vec![("user".into(), "ada".into())], cursor: "0".into() },
            KeyValue::List { items: vec!["a".into(), "b".into()], start: 100 },
            KeyValue::Set { members: vec!["x".into()], cursor: "17".into() },
            KeyValue::Zset { members: vec![("m".into(), 2.5), ("n".into(), -1.0)], start: 0 },
            KeyValue::Stream {
                entries: vec![StreamEntry { id: "1-0".into(), fields: vec![("f".into(), "v".into())] }],
                next: Some("1-1".into()),
            },
            KeyValue::Stream { entries: vec![], next: None },
            KeyValue::Other,
        ];
        for value in values {
            let json = serde_json::to_string(&value).unwrap();
            assert_eq!(serde_json::from_str::<KeyValue>(&json).unwrap(), value, "{json}");
        }
        // The JSON is the tagged enum's, as the REST API has always written it.
        assert_eq!(
            serde_json::to_value(KeyValue::List { items: vec!["a".into()], start: 3 }).unwrap(),
            serde_json::json!({ "kind": "list", "items": ["a"], "start": 3 })
        );
        let refused = |json: &str| serde_json::from_str::<KeyValue>(json).unwrap_err().to_string();
        assert!(refused(r#"{"kind":"hash","cursor":"0"}"#).contains("a hash value needs `fields`"));
        assert!(refused(r#"{"kind":"zset","members":[["m","x"]],"start":0}"#).contains("[member, score] pairs"));
        assert!(refused(r#"{"kind":"set","members":[1],"cursor":"0"}"#).contains("strings"));
        assert!(refused(r#"{"kind":"blob"}"#).contains("unknown value kind `blob`"));
    }
}
