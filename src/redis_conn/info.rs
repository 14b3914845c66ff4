//! `INFO` replies, read and parsed in one place for every reader: the overview card, the memory
//! guard, the warming settings, the cutover's eviction check and the benchmark.

use std::collections::HashMap;
use std::str::FromStr;

use super::{RedisConn, RedisResultExt};
use crate::error::AppError;

/// An `INFO` reply as `field → value`, over all the sections asked for.
#[derive(Debug, Clone, Default)]
pub struct Info(HashMap<String, String>);

/// The one `INFO` parser: `field:value` lines; section headers (`# Memory`) and blank lines skipped.
pub fn parse_info(text: &str) -> Info {
    Info(
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.trim_end().split_once(':'))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

impl Info {
    /// A field's text as Redis wrote it.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.get(field).map(String::as_str)
    }

    /// A numeric field; the type's default (0) when the field is absent or not a number.
    pub fn num<T: FromStr + Default>(&self, field: &str) -> T {
        self.get(field).and_then(|v| v.parse().ok()).unwrap_or_default()
    }

    /// Every field, in no particular order (for the keyspace and commandstats lines).
    pub fn fields(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

impl RedisConn {
    /// `INFO` of the given sections, on the interactive connection.
    pub async fn info(&self, sections: &[&str]) -> Result<Info, AppError> {
        let mut conn = self.conn().await?;
        let reply: redis::Value = redis::cmd("INFO").arg(sections).query_async(&mut conn).await.ctx("reading INFO")?;
        // A cluster answers once per node: the fullest one speaks for all, so the memory guard
        // and the settings see the node closest to its ceiling.
        info_texts(reply)
            .iter()
            .map(|text| parse_info(text))
            .max_by_key(|info| info.num::<u64>("used_memory"))
            .ok_or_else(|| AppError::internal("Redis answered INFO with something that is not INFO text"))
    }
}

impl RedisConn {
    /// `INFO` of the node holding `slot_key`'s slot (on a single server: the server's): what a
    /// warm of that source fills.
    pub async fn info_on_slot(&self, sections: &[&str], slot_key: &str) -> Result<Info, AppError> {
        let mut conn = self.conn().await?;
        let text: String = super::query_on_slot(&mut conn, redis::cmd("INFO").arg(sections), slot_key)
            .await
            .ctx("reading INFO of the source's node")?;
        Ok(parse_info(&text))
    }
}

/// The INFO text of a single server, or of each node of a cluster (a map of node → text).
fn info_texts(reply: redis::Value) -> Vec<String> {
    match reply {
        redis::Value::Map(nodes) => {
            nodes.into_iter().filter_map(|(_, text)| redis::from_redis_value::<String>(text).ok()).collect()
        }
        single => redis::from_redis_value::<String>(single).ok().into_iter().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cluster_answers_per_node_and_each_text_is_kept() {
        use redis::Value;
        let node = |mem: &str| Value::BulkString(format!("# Memory\r\nused_memory:{mem}\r\n").into_bytes());
        let texts = info_texts(Value::Map(vec![
            (Value::SimpleString("127.0.0.1:7000".into()), node("10")),
            (Value::SimpleString("127.0.0.1:7001".into()), node("30")),
        ]));
        assert_eq!(texts.len(), 2);
        assert_eq!(info_texts(node("5")).len(), 1);
        assert!(info_texts(Value::Nil).is_empty());
    }

    #[test]
    fn info_lines_become_fields_and_headers_are_skipped() {
        let info = parse_info(
            "# Server\r\nredis_version:7.0.15\r\nexecutable:/usr/bin/redis-server\r\n\r\n# Memory\r\nused_memory:1048576\r\nmaxmemory_policy:allkeys-lru\r\n",
        );
        assert_eq!(info.get("redis_version"), Some("7.0.15"));
        assert_eq!(info.get("executable"), Some("/usr/bin/redis-server"));
        assert_eq!(info.get("maxmemory_policy"), Some("allkeys-lru"));
        assert_eq!(info.num::<u64>("used_memory"), 1_048_576);
        assert_eq!(info.num::<u64>("maxmemory"), 0);
        assert_eq!(info.num::<u64>("maxmemory_policy"), 0);
        assert_eq!(info.fields().count(), 4);
    }
}
