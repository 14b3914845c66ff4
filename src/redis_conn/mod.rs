//! The Redis handle of a Hearth process: one multiplexed connection for interactive commands and
//! one with a long, deliberate timeout for warm pipelines and cutovers, on a single server or a
//! cluster. Connecting is lazy, so Hearth starts (and says so) while Redis is down.

pub mod info;

use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, RedisFuture, Value};
use tokio::sync::OnceCell;

use crate::config::RedisConfig;
use crate::error::{AppError, Cause, ErrorCode};

/// A connection that is either a single server's or a cluster's; cheap to clone.
#[derive(Clone)]
pub enum Conn {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Conn::Single(c) => c.req_packed_command(cmd),
            Conn::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Conn::Single(c) => c.req_packed_commands(pipeline, offset, count),
            Conn::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Single(c) => c.get_db(),
            Conn::Cluster(c) => c.get_db(),
        }
    }
}

// One Target lives per process behind an Arc, so the variants' size difference costs nothing.
#[allow(clippy::large_enum_variant)]
enum Target {
    Single {
        client: redis::Client,
        interactive: ConnectionManager,
        bulk: ConnectionManager,
    },
    Cluster {
        seed: redis::ConnectionInfo,
        client: redis::cluster::ClusterClient,
        bulk_client: redis::cluster::ClusterClient,
        conns: OnceCell<(ClusterConnection, ClusterConnection)>,
    },
}

#[derive(Clone)]
pub struct RedisConn {
    target: Arc<Target>,
    pub timeout: Duration,
    pub bulk_timeout: Duration,
}

impl RedisConn {
    pub fn new(config: &RedisConfig) -> Result<Self, AppError> {
        let bad_url =
            |e: redis::RedisError| AppError::internal(format!("HEARTH_REDIS_URL is not a usable Redis URL: {e}"));
        let target = if config.cluster {
            let build = |timeout: Duration| {
                redis::cluster::ClusterClient::builder(config.urls.clone())
                    .connection_timeout(Duration::from_secs(2))
                    .response_timeout(timeout)
                    .retries(2)
                    .build()
                    .map_err(bad_url)
            };
            Target::Cluster {
                seed: redis::IntoConnectionInfo::into_connection_info(config.urls[0].as_str()).map_err(bad_url)?,
                client: build(config.timeout)?,
                bulk_client: build(config.bulk_timeout)?,
                conns: OnceCell::new(),
            }
        } else {
            let client = redis::Client::open(config.urls[0].as_str()).map_err(bad_url)?;
            let manager = |timeout: Duration| {
                let cfg = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(Duration::from_secs(2)))
                    .set_response_timeout(Some(timeout))
                    .set_number_of_retries(1)
                    .set_max_delay(Duration::from_secs(1));
                ConnectionManager::new_lazy_with_config(client.clone(), cfg).map_err(bad_url)
            };
            Target::Single { interactive: manager(config.timeout)?, bulk: manager(config.bulk_timeout)?, client }
        };
        Ok(RedisConn { target: Arc::new(target), timeout: config.timeout, bulk_timeout: config.bulk_timeout })
    }

    /// The connection for interactive commands (short timeout).
    pub async fn conn(&self) -> Result<Conn, AppError> {
        self.pick(false).await
    }

    /// The connection for large pipelines and scripts (long timeout).
    pub async fn bulk(&self) -> Result<Conn, AppError> {
        self.pick(true).await
    }

    /// A new connection of its own (for WATCH/MULTI/EXEC, whose state is per connection) to the
    /// server holding `slot_key`: the single server, or in a cluster the primary of that slot.
    pub async fn dedicated(&self, slot_key: &str) -> Result<redis::aio::MultiplexedConnection, AppError> {
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(self.bulk_timeout));
        let client = match &*self.target {
            Target::Single { client, .. } => client.clone(),
            Target::Cluster { seed, .. } => {
                let mut conn = self.conn().await?;
                let slot: u16 = redis::cmd("CLUSTER")
                    .arg("KEYSLOT")
                    .arg(slot_key)
                    .query_async(&mut conn)
                    .await
                    .ctx("locating the slot")?;
                let (host, port) = slot_ranges(&mut conn)
                    .await?
                    .into_iter()
                    .find(|(start, end, _)| (*start..=*end).contains(&slot))
                    .map(|(_, _, node)| (node.host, node.port))
                    .ok_or_else(|| AppError::redis_unavailable(format!("no cluster node serves slot {slot}")))?;
                let info = seed.clone().set_addr(redis::ConnectionAddr::Tcp(host, port));
                redis::Client::open(info).map_err(|e| redis_error(e, "connecting to the slot's node"))?
            }
        };
        client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map_err(|e| redis_error(e, "opening a dedicated connection"))
    }

    pub fn is_cluster(&self) -> bool {
        matches!(*self.target, Target::Cluster { .. })
    }

    /// The cluster's primaries, sorted by address; empty on a single server.
    pub async fn primaries(&self) -> Result<Vec<Node>, AppError> {
        if !self.is_cluster() {
            return Ok(Vec::new());
        }
        let mut nodes: Vec<Node> =
            slot_ranges(&mut self.conn().await?).await?.into_iter().map(|(_, _, node)| node).collect();
        nodes.sort();
        nodes.dedup();
        Ok(nodes)
    }

    async fn pick(&self, bulk: bool) -> Result<Conn, AppError> {
        match &*self.target {
            Target::Single { interactive, bulk: b, .. } => {
                Ok(Conn::Single(if bulk { b.clone() } else { interactive.clone() }))
            }
            Target::Cluster { client, bulk_client, conns, .. } => {
                let (i, b) = conns
                    .get_or_try_init(|| async {
                        let i = client.get_async_connection().await?;
                        let b = bulk_client.get_async_connection().await?;
                        Ok::<_, redis::RedisError>((i, b))
                    })
                    .await
                    .map_err(|e| redis_error(e, "connecting to the Redis cluster"))?;
                Ok(Conn::Cluster(if bulk { b.clone() } else { i.clone() }))
            }
        }
    }
}

/// A cluster primary, by the address `CLUSTER SLOTS` gives it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Node {
    pub host: String,
    pub port: u16,
}

impl std::fmt::Display for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

/// Every slot range of the cluster with its primary: `CLUSTER SLOTS`.
async fn slot_ranges(conn: &mut Conn) -> Result<Vec<(u16, u16, Node)>, AppError> {
    let slots: Vec<Vec<Value>> =
        redis::cmd("CLUSTER").arg("SLOTS").query_async(conn).await.ctx("reading the cluster's slots")?;
    Ok(slots.into_iter().filter_map(slot_range).collect())
}

/// One `CLUSTER SLOTS` range: `[start, end, [host, port, id, …], replicas…]`.
fn slot_range(range: Vec<Value>) -> Option<(u16, u16, Node)> {
    let mut it = range.into_iter();
    let start: u16 = redis::from_redis_value(it.next()?).ok()?;
    let end: u16 = redis::from_redis_value(it.next()?).ok()?;
    let mut node = redis::from_redis_value::<Vec<Value>>(it.next()?).ok()?.into_iter();
    let host: String = redis::from_redis_value(node.next()?).ok()?;
    let port: u16 = redis::from_redis_value(node.next()?).ok()?;
    Some((start, end, Node { host, port }))
}

/// Turns a driver error into an [`AppError`], logging the driver's text once with context.
/// The caller sees what failed and whether to retry, never the raw driver message.
pub fn redis_error(e: redis::RedisError, doing: &str) -> AppError {
    if e.is_timeout() {
        crate::metrics::redis_error("timeout");
        tracing::warn!(error = %e, "Redis timed out while {doing}");
        AppError::new(
            ErrorCode::Timeout,
            format!(
                "Redis did not answer in time while {doing}; if Redis is only slow, raise HEARTH_REDIS_TIMEOUT_MS (interactive) or HEARTH_REDIS_BULK_TIMEOUT_MS (warms)"
            ),
        )
    } else if e.is_io_error() || e.is_connection_refusal() || e.is_connection_dropped() {
        crate::metrics::redis_error("unreachable");
        tracing::warn!(error = %e, "Redis unreachable while {doing}");
        AppError::redis_unavailable(format!("Redis is not reachable ({doing})"))
    } else {
        crate::metrics::redis_error("refused");
        tracing::error!(error = %e, "Redis command failed while {doing}");
        let code = e.code().map(|c| format!(" ({c})")).unwrap_or_default();
        // NOPERM is worth naming: the admin has to change the ACL of Hearth's user.
        let error = AppError::internal(format!("Redis refused a command while {doing}{code}"));
        match e.kind() {
            redis::ErrorKind::Server(redis::ServerErrorKind::NoPerm) => error.with_cause(Cause::RedisNoPermission),
            _ => error,
        }
    }
}

/// `.ctx("reading INFO")` on a Redis result: log once, map to [`AppError`].
pub trait RedisResultExt<T> {
    fn ctx(self, doing: &str) -> Result<T, AppError>;
}

impl<T> RedisResultExt<T> for redis::RedisResult<T> {
    fn ctx(self, doing: &str) -> Result<T, AppError> {
        self.map_err(|e| redis_error(e, doing))
    }
}

/// Runs `cmd` on the node serving `slot_key`'s slot in a cluster (SCAN, INFO of one shard);
/// on a single server it simply runs it.
pub async fn query_on_slot<T: redis::FromRedisValue>(
    conn: &mut Conn,
    cmd: &Cmd,
    slot_key: &str,
) -> redis::RedisResult<T> {
    use redis::cluster_routing::{Route, SingleNodeRoutingInfo, SlotAddr};
    routed(conn, cmd, || SingleNodeRoutingInfo::SpecificNode(Route::with_key(slot_key, SlotAddr::Master))).await
}

/// Runs `cmd` on one primary of a cluster (a SCAN step, INFO of that node); on a single server
/// it simply runs it.
pub async fn query_on_node<T: redis::FromRedisValue>(conn: &mut Conn, cmd: &Cmd, node: &Node) -> redis::RedisResult<T> {
    use redis::cluster_routing::SingleNodeRoutingInfo;
    routed(conn, cmd, || SingleNodeRoutingInfo::ByAddress { host: node.host.clone(), port: node.port }).await
}

/// `cmd` on the single server, or on the cluster node `route` names.
async fn routed<T: redis::FromRedisValue>(
    conn: &mut Conn,
    cmd: &Cmd,
    route: impl FnOnce() -> redis::cluster_routing::SingleNodeRoutingInfo,
) -> redis::RedisResult<T> {
    match conn {
        Conn::Single(c) => cmd.query_async(c).await,
        Conn::Cluster(c) => {
            let route = redis::cluster_routing::RoutingInfo::SingleNode(route());
            let value = c.route_command(cmd.clone(), route).await?;
            redis::FromRedisValue::from_redis_value(value).map_err(Into::into)
        }
    }
}

/// Runs single-key commands whose keys may lie anywhere, replies in order, failing on the first
/// error as a pipeline does. On a single server they are one pipeline; a cluster pipeline must
/// stay in one slot, so there each goes to its key's node, all in flight together on the
/// multiplexed connection.
pub async fn per_key<T: redis::FromRedisValue>(conn: &mut Conn, cmds: Vec<Cmd>) -> redis::RedisResult<Vec<T>> {
    match conn {
        Conn::Single(c) => {
            let mut pipe = redis::pipe();
            for cmd in cmds {
                pipe.add_command(cmd);
            }
            pipe.query_async(c).await
        }
        Conn::Cluster(c) => {
            let replies = futures::future::join_all(cmds.iter().map(|cmd| {
                let mut c = c.clone();
                async move { cmd.query_async::<T>(&mut c).await }
            }))
            .await;
            replies.into_iter().collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slot_range_names_its_primary() {
        let range = vec![
            Value::Int(0),
            Value::Int(5460),
            Value::Array(vec![
                Value::BulkString(b"127.0.0.1".to_vec()),
                Value::Int(7000),
                Value::BulkString(b"abc".to_vec()),
            ]),
            Value::Array(vec![Value::BulkString(b"127.0.0.1".to_vec()), Value::Int(7003)]),
        ];
        let (start, end, node) = slot_range(range).unwrap();
        assert_eq!((start, end, node.to_string().as_str()), (0, 5460, "127.0.0.1:7000"));
        assert!(slot_range(vec![Value::Int(0)]).is_none());
    }

    fn server_error(reply: &[u8]) -> redis::RedisError {
        match redis::parse_redis_value(reply) {
            Ok(Value::ServerError(e)) => e.into(),
            other => panic!("not an error reply: {other:?}"),
        }
    }

    #[test]
    fn a_refused_acl_is_classified_by_its_error_kind() {
        let e = redis_error(
            server_error(b"-NOPERM this user has no permissions to access one of the keys\r\n"),
            "querying",
        );
        assert_eq!(e.cause, Some(Cause::RedisNoPermission));
        assert_eq!(
            (e.code, e.message.as_str()),
            (ErrorCode::InternalError, "Redis refused a command while querying (NOPERM)")
        );
        let other = redis_error(server_error(b"-ERR unknown command\r\n"), "querying");
        assert_eq!(other.cause, None);
    }
}
