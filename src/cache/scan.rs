//! SCAN and UNLINK in bounded steps: never KEYS, always COUNT, deletes in batches so Redis is
//! never blocked for long. In a cluster, a source's keys are scanned on the node of its slot.

use redis::Cmd;

use crate::error::AppError;
use crate::redis_conn::{Conn, RedisConn, RedisResultExt, query_on_slot};

/// Keys SCAN looks at per call: enough to cross a large keyspace in few round trips, small
/// enough that one call stays around a millisecond.
pub const SCAN_COUNT: usize = 5000;
pub const UNLINK_BATCH: usize = 500;

/// One SCAN step: the next cursor and the (prefixed) keys it returned.
pub async fn scan_page(
    conn: &mut Conn,
    cursor: u64,
    pattern: &str,
    count: usize,
    type_filter: Option<&str>,
    slot_key: &str,
) -> Result<(u64, Vec<String>), AppError> {
    let mut cmd = Cmd::new();
    cmd.arg("SCAN").arg(cursor).arg("MATCH").arg(pattern).arg("COUNT").arg(count);
    if let Some(t) = type_filter {
        cmd.arg("TYPE").arg(t);
    }
    query_on_slot(conn, &cmd, slot_key).await.ctx("scanning keys")
}

/// Every key matching `pattern` on `slot_key`'s node, up to `limit`.
pub async fn scan_all(redis: &RedisConn, pattern: &str, slot_key: &str, limit: usize) -> Result<Vec<String>, AppError> {
    let mut conn = redis.conn().await?;
    let (mut cursor, mut out) = (0u64, Vec::new());
    loop {
        let (next, keys) = scan_page(&mut conn, cursor, pattern, SCAN_COUNT, None, slot_key).await?;
        out.extend(keys);
        if next == 0 || out.len() >= limit {
            out.truncate(limit);
            return Ok(out);
        }
        cursor = next;
    }
}

/// UNLINKs `keys` in batches; returns how many existed.
pub async fn unlink(redis: &RedisConn, keys: &[String]) -> Result<u64, AppError> {
    let mut conn = redis.bulk().await?;
    let mut removed = 0u64;
    for chunk in keys.chunks(UNLINK_BATCH) {
        let mut pipe = redis::pipe();
        for key in chunk {
            // One key per UNLINK so a cluster routes each to its node.
            pipe.cmd("UNLINK").arg(key);
        }
        let counts: Vec<u64> = pipe.query_async(&mut conn).await.ctx("deleting keys")?;
        removed += counts.iter().sum::<u64>();
    }
    Ok(removed)
}

/// Deletes every key matching `pattern` on `slot_key`'s node, a SCAN page at a time.
pub async fn unlink_matching(redis: &RedisConn, pattern: &str, slot_key: &str) -> Result<u64, AppError> {
    let mut conn = redis.conn().await?;
    let (mut cursor, mut removed) = (0u64, 0u64);
    loop {
        let (next, keys) = scan_page(&mut conn, cursor, pattern, SCAN_COUNT, None, slot_key).await?;
        removed += unlink(redis, &keys).await?;
        if next == 0 {
            return Ok(removed);
        }
        cursor = next;
    }
}

/// Every member of a set, read with SSCAN a thousand at a time (never one SMEMBERS that could
/// stall Redis on a large set).
pub async fn set_members(conn: &mut Conn, key: &str) -> Result<Vec<String>, AppError> {
    let (mut cursor, mut out) = (0u64, Vec::new());
    loop {
        let (next, names): (u64, Vec<String>) = redis::cmd("SSCAN")
            .arg(key)
            .arg(cursor)
            .arg("COUNT")
            .arg(1000)
            .query_async(conn)
            .await
            .ctx("reading a set")?;
        out.extend(names);
        if next == 0 {
            return Ok(out);
        }
        cursor = next;
    }
}
