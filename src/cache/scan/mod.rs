//! Walking the keyspace, the one way Hearth does it: [`Walk`] pages through SCAN (never KEYS,
//! always COUNT, a cap when asked) and counts each key once; deletes go out in bounded UNLINK
//! batches and [`memory`] estimates sizes. In a cluster, a walk given a
//! slot key runs on the node of that slot (a source's keys all live there), and a walk
//! [`across`](Walk::across) the keyspace goes through every primary in turn, its cursor naming
//! the node it stands on.

pub mod memory;

use std::collections::HashSet;
use std::hash::{Hash, Hasher};

use redis::Cmd;

use crate::error::AppError;
use crate::redis_conn::{Conn, Node, RedisConn, RedisResultExt, query_on_node, query_on_slot};

/// Keys SCAN looks at per call: one call stays around a millisecond of Redis time, during which
/// every other client waits. Measured at 204k keys with a two-`*` MATCH (BENCHMARKS.md): COUNT
/// 5000 held Redis 10 ms a call, 1000 about 2 ms; the whole walk costs the same Redis time either
/// way, in more, shorter steps.
pub const SCAN_COUNT: u64 = 500;
pub const UNLINK_BATCH: usize = 500;

/// Where a walk's SCAN steps go.
enum Route {
    /// Wherever the connection sends a keyless command: the single server.
    Any,
    /// The node serving this key's slot.
    Slot(String),
    /// Every primary of a cluster, one after the other; `at` is the one being walked.
    Nodes { nodes: Vec<Node>, at: usize },
}

/// One SCAN step where `route` says: the next cursor and the (prefixed) keys it returned.
async fn scan_step(
    conn: &mut Conn,
    cursor: u64,
    pattern: &str,
    count: u64,
    type_filter: Option<&str>,
    route: &Route,
) -> Result<(u64, Vec<String>), AppError> {
    let mut cmd = Cmd::new();
    cmd.arg("SCAN").arg(cursor).arg("MATCH").arg(pattern).arg("COUNT").arg(count);
    if let Some(t) = type_filter {
        cmd.arg("TYPE").arg(t);
    }
    match route {
        Route::Any => cmd.query_async(conn).await,
        Route::Slot(slot) => query_on_slot(conn, &cmd, slot).await,
        Route::Nodes { nodes, at } => query_on_node(conn, &cmd, &nodes[*at]).await,
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
    route: Route,
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
            route: Route::Any,
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
        self.route = Route::Slot(slot_key.to_string());
        self
    }

    /// Walk the whole keyspace: on a cluster every primary in turn, in address order (on a single
    /// server: no effect).
    pub async fn across(mut self, redis: &RedisConn) -> Result<Walk, AppError> {
        if redis.is_cluster() {
            let nodes = redis.primaries().await?;
            if nodes.is_empty() {
                return Err(AppError::redis_unavailable("the Redis cluster reports no primary serving slots"));
            }
            self.route = Route::Nodes { nodes, at: 0 };
        }
        Ok(self)
    }

    /// Continue a walk where an earlier request's [`Walk::token`] left it ("" or "0" start from
    /// the beginning). On a cluster the token names its node, `<cursor>@<host>:<port>`.
    pub fn resume(mut self, token: &str) -> Result<Walk, AppError> {
        let token = token.trim();
        if token.is_empty() || token == "0" {
            return Ok(self);
        }
        let bad = || AppError::validation(format!("cursor must be the text a previous page returned, not `{token}`"));
        match &mut self.route {
            Route::Nodes { nodes, at } => {
                let (cursor, node) = token.split_once('@').ok_or_else(bad)?;
                self.cursor = cursor.parse().map_err(|_| bad())?;
                *at = nodes.iter().position(|n| n.to_string() == node).ok_or_else(|| {
                    AppError::validation(format!(
                        "node {node} of this cursor is no longer a primary of the cluster (a failover or resharding happened); start the listing again"
                    ))
                })?;
            }
            _ => self.cursor = token.parse().map_err(|_| bad())?,
        }
        Ok(self)
    }

    /// Stop once Redis has been asked to examine `cap` keys.
    pub fn cap(mut self, cap: u64) -> Walk {
        self.cap = cap;
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
            scan_step(&mut self.conn, self.cursor, &self.pattern, step, self.kind.as_deref(), &self.route).await?;
        self.examined += step;
        self.cursor = next;
        self.finished = next == 0;
        if let Route::Nodes { nodes, at } = &mut self.route
            && self.finished
            && *at + 1 < nodes.len()
        {
            // This primary is done: the next one starts from its beginning.
            *at += 1;
            self.finished = false;
        }
        let mut page = Vec::with_capacity(keys.len());
        for key in keys {
            if !self.seen.insert(fingerprint(&key)) {
                continue;
            }
            page.push(key);
        }
        Ok(Some(page))
    }

    /// Whether the walk has been through the whole keyspace (not merely stopped at its cap).
    pub fn is_done(&self) -> bool {
        self.finished
    }

    /// Where the walk stands, for [`Walk::resume`] in a later request: "0" once it is done.
    pub fn token(&self) -> String {
        match &self.route {
            _ if self.finished => "0".to_string(),
            Route::Nodes { nodes, at } => format!("{}@{}", self.cursor, nodes[*at]),
            _ => self.cursor.to_string(),
        }
    }

    /// Keys Redis was asked to examine so far (the sum of the steps' COUNTs).
    pub fn examined(&self) -> u64 {
        self.examined
    }
}

/// UNLINKs `keys` in batches; returns how many existed. Keys of any slots: on a cluster the
/// client splits each UNLINK by slot and sums the replies.
pub async fn unlink(redis: &RedisConn, keys: &[String]) -> Result<u64, AppError> {
    let mut conn = redis.bulk().await?;
    let mut removed = 0u64;
    for chunk in keys.chunks(UNLINK_BATCH) {
        let n: u64 = redis::cmd("UNLINK").arg(chunk).query_async(&mut conn).await.ctx("deleting keys")?;
        removed += n;
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
