//! A Redis Cluster of three primaries for a test: `redis-server` processes on free loopback
//! ports, joined with `redis-cli --cluster create`, killed when the value is dropped.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::TempDir;

/// A port for a cluster node: free now, with its bus port (+10000) free too, both below the
/// kernel's ephemeral range (32768+) so an outgoing connection cannot take the bus port, and
/// never handed out twice in this test process.
fn free_node_port() -> u16 {
    static TAKEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut taken = TAKEN.lock().unwrap();
    for _ in 0..10_000 {
        let port = 20_000 + rand::random::<u16>() % 2_700;
        let bindable = |p: u16| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok();
        if !taken.contains(&port) && bindable(port) && bindable(port + 10_000) {
            taken.push(port);
            return port;
        }
    }
    panic!("no free port for a cluster node");
}

pub struct Cluster {
    nodes: Vec<Child>,
    pub ports: Vec<u16>,
    urls: String,
    dir: TempDir,
}

impl Cluster {
    /// Three primaries, no replica.
    pub async fn start() -> Cluster {
        Cluster::start_with(0).await
    }

    /// Three primaries with `replicas` replicas each.
    pub async fn start_with(replicas: u16) -> Cluster {
        let dir = TempDir::new("cluster");
        let ports: Vec<u16> = (0..3 * (1 + replicas)).map(|_| free_node_port()).collect();
        let nodes = ports
            .iter()
            .map(|p| {
                let node_dir = dir.0.join(p.to_string());
                std::fs::create_dir_all(&node_dir).unwrap();
                Command::new("redis-server")
                    .args([
                        "--port",
                        &p.to_string(),
                        "--bind",
                        "127.0.0.1",
                        "--cluster-enabled",
                        "yes",
                        "--save",
                        "",
                        "--appendonly",
                        "no",
                    ])
                    .arg("--cluster-config-file")
                    .arg(node_dir.join("nodes.conf"))
                    .arg("--dir")
                    .arg(&node_dir)
                    .stdout(Stdio::null())
                    .spawn()
                    .expect("redis-server is installed")
            })
            .collect();
        let urls = ports.iter().map(|p| format!("redis://127.0.0.1:{p}")).collect::<Vec<_>>().join(",");
        let cluster = Cluster { nodes, ports, urls, dir };
        // Wait until every node answers (a fixed pause was too short on a loaded machine).
        for port in &cluster.ports {
            let mut up = false;
            for _ in 0..200 {
                let pong = Command::new("redis-cli").args(["-p", &port.to_string(), "ping"]).output().unwrap();
                if String::from_utf8_lossy(&pong.stdout).contains("PONG") {
                    up = true;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            assert!(up, "the cluster node on port {port} did not start");
        }
        let addresses: Vec<String> = cluster.ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
        let created = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(&addresses)
            .args(["--cluster-replicas", &replicas.to_string(), "--cluster-yes"])
            .output()
            .unwrap();
        assert!(
            created.status.success(),
            "cluster created: {}{}",
            String::from_utf8_lossy(&created.stdout),
            String::from_utf8_lossy(&created.stderr)
        );
        for _ in 0..100 {
            let info = Command::new("redis-cli")
                .args(["-p", &cluster.ports[0].to_string(), "cluster", "info"])
                .output()
                .unwrap();
            if String::from_utf8_lossy(&info.stdout).contains("cluster_state:ok")
                && cluster.ports.iter().all(|p| cluster.replica_synced(*p))
            {
                return cluster;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the cluster did not become ready");
    }

    fn cli(&self, port: u16, args: &[&str]) -> String {
        let out = Command::new("redis-cli").arg("-p").arg(port.to_string()).args(args).output().unwrap();
        String::from_utf8_lossy(&out.stdout).to_string()
    }

    /// A primary counts as synced; a replica once its link to its primary is up.
    fn replica_synced(&self, port: u16) -> bool {
        let info = self.cli(port, &["info", "replication"]);
        info.contains("role:master") || info.contains("master_link_status:up")
    }

    /// The port of the primary serving `key`'s slot, and of its replica (if it has one).
    pub fn primary_and_replica_of(&self, key: &str) -> (u16, Option<u16>) {
        let slot: u16 = self.cli(self.ports[0], &["cluster", "keyslot", key]).trim().parse().unwrap();
        let nodes = self.cli(self.ports[0], &["cluster", "nodes"]);
        // `<id> <ip:port@bus> <flags> <primary id|-> … <slot ranges>`
        let rows: Vec<Vec<&str>> = nodes.lines().map(|l| l.split_whitespace().collect()).collect();
        let port_of = |row: &Vec<&str>| -> u16 { row[1].split(['@', ':']).nth(1).unwrap().parse().unwrap() };
        let primary = rows
            .iter()
            .find(|row| {
                row[2].contains("master")
                    && row[8..].iter().any(|range| {
                        let (a, b) = range.split_once('-').unwrap_or((range, range));
                        matches!((a.parse::<u16>(), b.parse::<u16>()), (Ok(a), Ok(b)) if (a..=b).contains(&slot))
                    })
            })
            .expect("a primary serves the slot");
        let replica = rows.iter().find(|row| row[3] == primary[0]).map(port_of);
        (port_of(primary), replica)
    }

    /// `CLUSTER FAILOVER` on the replica of `key`'s primary, waiting until the replica is the
    /// primary in every node's view. Returns (old primary, new primary).
    pub async fn fail_over(&self, key: &str) -> (u16, u16) {
        let (old, replica) = self.primary_and_replica_of(key);
        let replica = replica.expect("the slot's primary has a replica");
        assert_eq!(self.cli(replica, &["cluster", "failover"]).trim(), "OK");
        for _ in 0..200 {
            if self.primary_and_replica_of(key).0 == replica
                && self.ports.iter().all(|p| self.cli(*p, &["cluster", "info"]).contains("cluster_state:ok"))
            {
                return (old, replica);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the failover of {old} to {replica} did not complete");
    }

    /// The seed URLs, comma-separated as `HEARTH_REDIS_URL` takes them.
    pub fn urls(&self) -> &str {
        &self.urls
    }

    /// Settings of a Hearth on this cluster, then `extra`.
    pub fn vars<'a>(&'a self, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
        [&[("HEARTH_REDIS_CLUSTER", "true"), ("HEARTH_REDIS_URL", self.urls())][..], extra].concat()
    }

    /// Keys stored on each node.
    pub fn key_counts(&self) -> Vec<u64> {
        self.ports
            .iter()
            .map(|p| {
                let out = Command::new("redis-cli").args(["-p", &p.to_string(), "dbsize"]).output().unwrap();
                String::from_utf8_lossy(&out.stdout).trim().parse().unwrap_or(0)
            })
            .collect()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for n in &mut self.nodes {
            let _ = n.kill();
            let _ = n.wait();
        }
        let _ = &self.dir;
    }
}
