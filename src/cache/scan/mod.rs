//! Walking the keyspace, the one way Hearth does it: [`Walk`] pages through SCAN (never KEYS,
//! always COUNT, a cap when asked) and counts each key once; deletes go out in bounded UNLINK
//! batches and [`memory`] estimates sizes. In a cluster, a walk given a
//! slot key runs on the node of that slot (a source's keys all live there).

pub mod memory;

use std::collections::HashSet;
use std::hash::{Hash, Hasher};

use redis::Cmd;

use crate::error::AppError;
use crate::redis_conn::{Conn, RedisConn, RedisResultExt, query_on_slot};

/// Keys SCAN looks at per call: one call stays around a millisecond of Redis time, during which
/// every other client waits. Measured at 204k keys with a two-`*` MATCH (BENCHMARKS.md): COUNT
/// 5000 held Redis 10 ms a call, 1000 about 2 ms; the whole walk costs the same Redis time either
/// way, in more, shorter steps.
pub const SCAN_COUNT: u64 = 500;
pub const UNLINK_BATCH: usize = 500;

/// One SCAN step, on `slot_key`'s node when one is given: the next cursor and the (prefixed)
/// keys it returned.
async fn scan_step(
    conn: &mut Conn,
    cursor: u64,
    pattern: &str,
    count: u64,
    type_filter: Option<&str>,
    slot_key: Option<&str>,
) -> Result<(u64, Vec<String>), AppError> {
    let mut cmd = Cmd::new();
    cmd.arg("SCAN").arg(cursor).arg("MATCH").arg(pattern).arg("COUNT").arg(count);
    if let Some(t) = type_filter {
        cmd.arg("TYPE").arg(t);
    }
    match slot_key {
        Some(slot) => query_on_slot(conn, &cmd, slot).await,
        None => cmd.query_async(conn).await,
    }
    .ctx("scanning keys")
}

/// A 128-bit fingerprint of a key name: a walk remembers the keys it has returned by this, not
/// by name, and two different keys sharing one is not a case to plan for (unlike with 64 bits,
/// where a walk over millions of keys could skip one).
fn fingerprint(key: &str) -> u128 {
    let half = |salt: u8| {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        salt.hash(&mut h);
        key.hash(&mut h);
        h.finish()
    };
    (u128::from(half(0)) << 64) | u128::from(half(1))
}

/// One walk over the keys matching a (prefixed) pattern, a SCAN page at a time.
///
/// - A key SCAN returns twice (it may, while Redis rehashes) is returned once.
/// - With [`Walk::cap`], the walk stops after asking Redis to examine that many keys;
///   [`Walk::cursor`] then continues it in a later request.
pub struct Walk {
    conn: Conn,
    pattern: String,
    count: u64,
    kind: Option<String>,
    slot: Option<String>,
    cap: u64,
    cursor: u64,
    finished: bool,
    examined: u64,
    seen: HashSet<u128>,
}

impl Walk {
    /// A walk from the start of the keyspace, [`SCAN_COUNT`] keys a step, without a cap.
    pub fn new(conn: Conn, pattern: impl Into<String>) -> Walk {
        Walk {
            conn,
            pattern: pattern.into(),
            count: SCAN_COUNT,
            kind: None,
            slot: None,
            cap: u64::MAX,
            cursor: 0,
            finished: false,
            examined: 0,
            seen: HashSet::new(),
        }
    }

    /// Keys Redis examines per step (SCAN COUNT).
    pub fn count(mut self, count: u64) -> Walk {
        self.set_count(count);
        self
    }

    /// Only keys of this Redis type (SCAN TYPE).
    pub fn kind(mut self, kind: Option<&str>) -> Walk {
        self.kind = kind.map(str::to_string);
        self
    }

    /// In a cluster, walk the node serving `slot_key`'s slot (on a single server: no effect).
    pub fn on_slot(mut self, slot_key: &str) -> Walk {
        self.slot = Some(slot_key.to_string());
        self
    }

    /// Stop once Redis has been asked to examine `cap` keys.
    pub fn cap(mut self, cap: u64) -> Walk {
        self.cap = cap;
        self
    }

    /// Continue a walk an earlier request left at `cursor` (0 starts from the beginning).
    pub fn from_cursor(mut self, cursor: u64) -> Walk {
        self.cursor = cursor;
        self
    }

    /// Changes the step for the next pages (a browser widens it while matches are sparse).
    pub fn set_count(&mut self, count: u64) {
        self.count = count.max(1);
    }

    /// The next page of keys not returned before (possibly empty), or `None` once the scan is
    /// complete or the cap is reached.
    pub async fn next_page(&mut self) -> Result<Option<Vec<String>>, AppError> {
        if self.finished || self.examined >= self.cap {
            return Ok(None);
        }
        let step = self.count.min(self.cap - self.examined);
        let (next, keys) =
            scan_step(&mut self.conn, self.cursor, &self.pattern, step, self.kind.as_deref(), self.slot.as_deref())
                .await?;
        self.examined += step;
        self.cursor = next;
        self.finished = next == 0;
        let mut page = Vec::with_capacity(keys.len());
        for key in keys {
            if !self.seen.insert(fingerprint(&key)) {
                continue;
            }
            page.push(key);
        }
        Ok(Some(page))
    }

    /// Where the walk stands: 0 once the scan is complete.
    pub fn cursor(&self) -> u64 {
        if self.finished { 0 } else { self.cursor }
    }

    /// Keys Redis was asked to examine so far (the sum of the steps' COUNTs).
    pub fn examined(&self) -> u64 {
        self.examined
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
    let mut walk = Walk::new(redis.conn().await?, pattern).on_slot(slot_key);
    let mut removed = 0u64;
    while let Some(page) = walk.next_page().await? {
        removed += unlink(redis, &page).await?;
    }
    Ok(removed)
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

#[cfg(test)]
mod tests {
    use super::fingerprint;

    #[test]
    fn fingerprints_tell_keys_apart_and_repeat_for_the_same_key() {
        assert_eq!(fingerprint("cache:{ds:1}:m:a"), fingerprint("cache:{ds:1}:m:a"));
        assert_ne!(fingerprint("cache:{ds:1}:m:a"), fingerprint("cache:{ds:1}:m:b"));
        assert_ne!(fingerprint("") >> 64, fingerprint("") & u128::from(u64::MAX), "the halves differ");
    }
}
