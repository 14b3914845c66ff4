//! The engine on a real Redis Cluster: three primaries started on loopback ports by the test and
//! stopped afterwards. Warm (first and fast-path), query, slice and whole invalidation all run
//! on the source's `{ds:N}` slot.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::common::fixtures::*;
use crate::common::*;
use hearth::cache::query::{CacheQuery, query};
use hearth::cache::warm::{NoHooks, lock_token, warm};
use hearth::model::cache::InvalidateRequest;

struct Cluster {
    nodes: Vec<Child>,
    ports: Vec<u16>,
    dir: TempDir,
}

impl Cluster {
    async fn start() -> Cluster {
        let dir = TempDir::new("cluster");
        let base = 21000 + (rand::random::<u16>() % 8000);
        let ports: Vec<u16> = (0..3).map(|i| base + i).collect();
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
        let cluster = Cluster { nodes, ports, dir };
        // Wait until every node answers (a fixed pause was too short on a loaded machine).
        for port in &cluster.ports {
            for _ in 0..200 {
                let pong = Command::new("redis-cli").args(["-p", &port.to_string(), "ping"]).output().unwrap();
                if String::from_utf8_lossy(&pong.stdout).contains("PONG") {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        let addresses: Vec<String> = cluster.ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
        let created = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(&addresses)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
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
            if String::from_utf8_lossy(&info.stdout).contains("cluster_state:ok") {
                return cluster;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the cluster did not become ready");
    }

    fn urls(&self) -> String {
        self.ports.iter().map(|p| format!("redis://127.0.0.1:{p}")).collect::<Vec<_>>().join(",")
    }

    /// Keys stored on each node.
    fn key_counts(&self) -> Vec<u64> {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_works_on_a_redis_cluster() {
    let cluster = Cluster::start().await;
    let dir = TempDir::new("cluster-data");
    let pool = sqlite_pool(&dir.0).await;
    create_table(
        &pool,
        "m",
        &grid("A", &["Charges", "Visits"], &[1, 2, 3], &[Some(5), None], &["Monthly", "Weekly"], 2),
    )
    .await;
    let state = state_with(
        "cluster",
        &[("HEARTH_REDIS_CLUSTER", "true"), ("HEARTH_REDIS_URL", &cluster.urls()), ("HEARTH_WARM_BATCH_ENTRIES", "4")],
    );
    assert!(state.redis.is_cluster());
    let ds = 42;
    let def = sqlite_def(&pool, ds, "m");
    let first = warm(&state, &def, "c1", &lock_token("test", "cluster"), &NoHooks).await.expect("warm on a cluster");
    assert_eq!(first.entries, 24);
    let second =
        warm(&state, &def, "c2", &lock_token("test", "cluster"), &NoHooks).await.expect("re-warm on a cluster");
    assert!(
        matches!(second.kind, hearth::cache::warm::WarmKind::Incremental { changed: 0, added: 0, removed: 0, .. }),
        "an unchanged re-warm on a cluster is incremental: {:?}",
        second.kind
    );
    assert_eq!(second.cutover.method, "diff");
    let third = hearth::cache::warm::warm_with(
        &state,
        &def,
        "c3",
        &lock_token("test", "cluster"),
        &NoHooks,
        hearth::cache::warm::WarmMode::Full,
    )
    .await
    .expect("full re-warm on a cluster");
    assert!(third.cutover.fast_path);

    // Every key of the source lives on one node: the slot of {ds:42}.
    let counts = cluster.key_counts();
    assert_eq!(counts.iter().filter(|n| **n > 0).count(), 1, "keys spread over nodes: {counts:?}");

    let q = CacheQuery {
        datasource_id: ds,
        measure: "Visits".into(),
        frequency: "Weekly".into(),
        practices: vec!["2".into()],
        providers: vec!["*".into()],
    };
    let answer = query(&state, &q).await.unwrap();
    assert!(answer.hit);
    assert_eq!(serde_json::from_str::<Vec<serde_json::Value>>(&answer.rows_json).unwrap().len(), 2);

    let slice =
        InvalidateRequest { datasource_id: Some(source(ds)), measure: Some("Visits".into()), ..Default::default() };
    let r = hearth::cache::invalidate::invalidate(&state, &slice, "tester").await.unwrap();
    assert_eq!(r.keys_deleted, 12);
    assert_eq!(query(&state, &q).await.unwrap().rows_json, "[]");
    let whole = InvalidateRequest { datasource_id: Some(source(ds)), ..Default::default() };
    hearth::cache::invalidate::invalidate(&state, &whole, "tester").await.unwrap();
    assert!(!query(&state, &q).await.unwrap().hit);
    state.query_stats.flush(&state).await.unwrap();
}

/// Issue 14, point 1: everything beside the engine on the same 3-primary cluster, through the
/// REST surface as the command center and an admin use it: a warm queued, claimed and finished by
/// a worker, a schedule, the memory-guard settings, a signed-in browser session, the audit trail,
/// a rate-limit refusal, stats with query counters, and `/metrics` reading the shared queue. Every
/// script touches keys of one slot (their hash tags), or the cluster would answer CROSSSLOT.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_schedules_settings_sessions_audit_limits_and_metrics_work_on_a_redis_cluster() {
    use hearth::model::jobs::JobStatus;
    use http::StatusCode;
    use serde_json::json;
    let cluster = Cluster::start().await;
    let dir = TempDir::new("cluster-jobs");
    let pool = sqlite_pool(&dir.0).await;
    create_table(&pool, "m", &grid("A", &["Visits"], &[1, 2, 3], &[Some(5), None], &["Monthly"], 2)).await;
    let ds = random_ds();
    let sources = sources_file(&dir, &[(ds, "m")]);
    let token = "cluster-metrics-token-0123456789abcdef";
    let state = jwt_state_with(
        "cluster-jobs",
        &[
            ("HEARTH_REDIS_CLUSTER", "true"),
            ("HEARTH_REDIS_URL", &cluster.urls()),
            ("HEARTH_SOURCES", &sources),
            ("HEARTH_RATE_WARM_PER_HOUR", "2"),
            ("HEARTH_METRICS_TOKEN", token),
        ],
    );
    let app = hearth::server::router(state.clone());
    let admin = crate::common::token(SECRET, "ada", &["settings:read:all", "settings:write:all"], 600);
    let (stop, rx) = tokio::sync::watch::channel(false);
    let workers = tokio::spawn(hearth::jobs::worker::run(state.clone(), rx));

    // A warm, queued over REST and run by this instance's worker.
    let r =
        post_json(&app, "/api/admin/analytics/cache/warm", Some(&admin), &json!({"datasourceId": ds, "force": true}))
            .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let id = r.body["data"]["jobId"].as_str().expect("a job id").to_string();
    let mut done = None;
    for _ in 0..300 {
        let r = get(&app, &format!("/api/admin/analytics/cache/jobs/{id}"), Some(&admin)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        if r.body["data"]["status"] == "completed" || r.body["data"]["status"] == "failed" {
            done = Some(r.body["data"].clone());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let done = done.expect("the job ended");
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(hearth::jobs::service::job(&state, &id).await.unwrap().status, JobStatus::Completed);
    let history = get(&app, "/api/admin/analytics/cache/jobs", Some(&admin)).await;
    assert_eq!(history.status, StatusCode::OK, "{}", history.text);
    assert!(history.text.contains(&id), "{}", history.text);

    // A schedule, and the memory guard's settings.
    let r = post_json(
        &app,
        "/api/admin/analytics/cache/schedules",
        Some(&admin),
        &json!({"datasourceId": ds, "everyHours": 6}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = get(&app, "/api/admin/analytics/cache/schedules", Some(&admin)).await;
    assert!(r.text.contains(&format!("{ds}")), "{}", r.text);
    let put = http::Request::put("/api/admin/analytics/cache/warming/settings")
        .header("authorization", format!("Bearer {admin}"))
        .header("content-type", "application/json")
        .body(axum::body::Body::from(json!({"memoryPausePercent": 90, "memoryResumePercent": 80}).to_string()))
        .unwrap();
    let r = send(&app, put).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = get(&app, "/api/admin/analytics/cache/warming/settings", Some(&admin)).await;
    assert_eq!(r.body["data"]["memoryPausePercent"], 90, "{}", r.text);

    // A query counted, and read back in the stats once flushed.
    let q = CacheQuery {
        datasource_id: ds,
        measure: "Visits".into(),
        frequency: "Monthly".into(),
        practices: vec!["2".into()],
        providers: vec!["*".into()],
    };
    assert!(query(&state, &q).await.unwrap().hit);
    state.query_stats.flush(&state).await.expect("counters flush on a cluster");
    let r = get(&app, "/api/admin/analytics/cache/stats", Some(&admin)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let source = r.body["data"]["datasources"].as_array().unwrap().iter().find(|s| s["datasourceId"] == ds).cloned();
    let source = source.unwrap_or_else(|| panic!("the source is in the stats: {}", r.text));
    assert_eq!(source["hits"], 1, "{source}");
    assert_eq!(source["isWarm"], true, "{source}");

    // The second and third warm of the hour: the third is refused (limit 2).
    let body = json!({"datasourceId": ds, "force": true});
    let again = post_json(&app, "/api/admin/analytics/cache/warm", Some(&admin), &body).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
    let refused =
        post_json(&app, "/api/admin/analytics/cache/warm", Some(&admin), &json!({"datasourceId": ds, "force": true}))
            .await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS, "{}", refused.text);

    // A browser session from the command center's hand-off, used for a page.
    let handoff = http::Request::post("/auth/handoff")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", "https://command-center.example")
        .header("sec-fetch-site", "cross-site")
        .body(axum::body::Body::from(format!("token={}", handoff_token("ada", &["settings:read:all"]))))
        .unwrap();
    let r = send(&app, handoff).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let cookie = r.headers["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    let page = http::Request::get("/api/admin/analytics/cache/stats")
        .header("cookie", &cookie)
        .body(axum::body::Body::empty());
    let r = send(&app, page.unwrap()).await;
    assert_eq!(r.status, StatusCode::OK, "the session works: {}", r.text);

    // The audit trail holds the warm and the refusal.
    let mut actions = String::new();
    for _ in 0..50 {
        let r = get(&app, "/api/admin/analytics/cache/audit?limit=100", Some(&admin)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        actions = r.text;
        if actions.contains("cache_warm_initiated") && actions.contains("\"status\":429") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(actions.contains("cache_warm_initiated") && actions.contains("\"status\":429"), "{actions}");

    // /metrics reads the shared queue on the cluster.
    let scrape = http::Request::get("/metrics").header("authorization", format!("Bearer {token}"));
    let r = send(&app, scrape.body(axum::body::Body::empty()).unwrap()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.text.contains("hearth_job_queue_depth"), "{}", r.text);

    let _ = stop.send(true);
    let _ = workers.await;
    drop(cluster);
}
