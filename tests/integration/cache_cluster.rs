//! The engine on a real Redis Cluster: three primaries started on loopback ports by the test and
//! stopped afterwards. Warm (first and fast-path), query, slice and whole invalidation all run
//! on the source's `{ds:N}` slot.

use std::time::Duration;

use crate::common::cluster::Cluster;
use crate::common::fixtures::*;
use crate::common::*;
use hearth::cache::query::{CacheQuery, query};
use hearth::cache::warm::{NoHooks, lock_token, warm};
use hearth::model::cache::InvalidateRequest;

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
    let state = state_with("cluster", &cluster.vars(&[("HEARTH_WARM_BATCH_ENTRIES", "4")]));
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
        &cluster.vars(&[
            ("HEARTH_SOURCES", &sources),
            ("HEARTH_RATE_WARM_PER_HOUR", "2"),
            ("HEARTH_METRICS_TOKEN", token),
        ]),
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

/// The Redis tab on a cluster: keys spread over every primary are listed by one cursor that
/// walks node after node, inspected, re-timed and purged where their slots live, and the overview
/// shows each primary beside the totals.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_redis_tab_browses_inspects_times_and_purges_keys_on_every_node_of_a_cluster() {
    use http::StatusCode;
    use serde_json::json;
    let cluster = Cluster::start().await;
    let state = state_with("cluster-tab", &cluster.vars(&[]));
    let app = hearth::server::router(state.clone());
    let p = state.keys.prefix().to_string();
    let mut conn = state.redis.conn().await.unwrap();
    // No hash tag: these keys land on every node, as an application's keys do.
    let sets = (0..300).map(|i| redis::cmd("SET").arg(format!("{p}cache:item:{i}")).arg(format!("value {i}")).clone());
    let _: Vec<String> = hearth::redis_conn::per_key(&mut conn, sets.collect()).await.unwrap();
    let counts = cluster.key_counts();
    assert!(counts.iter().all(|n| *n > 50), "the keys are spread over the primaries: {counts:?}");

    // Browse, page after page: every key once, the cursor naming the node it stands on.
    let (mut cursor, mut listed, mut nodes_seen) = ("0".to_string(), std::collections::BTreeSet::new(), Vec::new());
    for _ in 0..1000 {
        let r = get(&app, &format!("/api/admin/redis/keys?pattern=cache:item:*&limit=40&cursor={cursor}"), None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let page = &r.body["data"];
        for row in page["keys"].as_array().unwrap() {
            assert_eq!(row["type"], "string", "{row}");
            assert!(row["size"].as_u64().unwrap() > 0, "{row}");
            listed.insert(row["key"].as_str().unwrap().to_string());
        }
        cursor = page["cursor"].as_str().unwrap().to_string();
        if !page["hasMore"].as_bool().unwrap() {
            break;
        }
        let node = cursor.split_once('@').expect("a cluster cursor names its node").1.to_string();
        if !nodes_seen.contains(&node) {
            nodes_seen.push(node);
        }
    }
    assert_eq!(cursor, "0", "the walk ended");
    assert_eq!(listed.len(), 300, "every key once, from every node");
    assert!(nodes_seen.len() >= 2, "the cursor moved from node to node: {nodes_seen:?}");

    // A cursor of a node that is not a primary, or not a cursor at all: a clear 400.
    for (bad, words) in [("7@127.0.0.1:1", "no longer a primary"), ("12", "a previous page returned")] {
        let r = get(&app, &format!("/api/admin/redis/keys?pattern=cache:item:*&cursor={bad}"), None).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
        assert!(r.text.contains(words), "{bad}: {}", r.text);
    }

    // Inspect a key on whichever node holds it.
    let r = get(&app, "/api/admin/redis/inspect?key=cache:item:123", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["data"]["value"]["text"], "value 123", "{}", r.text);

    // TTL by pattern: the preview counts every node's keys; the change reaches them all.
    let ttl = |confirm: bool| {
        let mut body = json!({"pattern": "cache:item:*", "ttl": 3600});
        if confirm {
            body["confirm"] = json!(true);
            body["reason"] = json!("expire the items");
        }
        body
    };
    let r = post_json(&app, "/api/admin/redis/ttl", None, &ttl(false)).await;
    assert_eq!((r.status, r.body["data"]["matched"].as_u64()), (StatusCode::OK, Some(300)), "{}", r.text);
    let r = post_json(&app, "/api/admin/redis/ttl", None, &ttl(true)).await;
    assert_eq!((r.status, r.body["data"]["updated"].as_u64()), (StatusCode::OK, Some(300)), "{}", r.text);
    let ttls = (0..300).map(|i| redis::cmd("TTL").arg(format!("{p}cache:item:{i}")).clone());
    let ttls: Vec<i64> = hearth::redis_conn::per_key(&mut conn, ttls.collect()).await.unwrap();
    assert!(ttls.iter().all(|t| (3500..=3600).contains(t)), "{ttls:?}");

    // The overview: one row per primary, and the totals are their sums.
    let r = get(&app, "/api/admin/redis/stats", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let o = &r.body["data"];
    assert_eq!(o["mode"], "cluster");
    let rows = o["nodes"].as_array().unwrap();
    assert_eq!(rows.len(), 3, "{}", r.text);
    let node_keys: u64 = rows.iter().map(|n| n["totalKeys"].as_u64().unwrap()).sum();
    assert_eq!(o["totalKeys"].as_u64(), Some(node_keys));
    assert!(node_keys >= 300, "{}", r.text);
    let node_memory: u64 = rows.iter().map(|n| n["usedMemory"].as_u64().unwrap()).sum();
    assert_eq!(o["usedMemory"].as_u64(), Some(node_memory));
    assert!(o["namespaces"].as_array().unwrap().iter().any(|n| n["namespace"] == "cache:"), "{}", r.text);

    // Purge: the preview counts all 300 and deletes nothing; the purge deletes them on every node.
    let r = post_json(&app, "/api/admin/redis/purge", None, &json!({"pattern": "cache:item:*"})).await;
    assert_eq!((r.status, r.body["data"]["matched"].as_u64()), (StatusCode::OK, Some(300)), "{}", r.text);
    let items = || (0..300).map(|i| redis::cmd("EXISTS").arg(format!("{p}cache:item:{i}")).clone()).collect();
    let exists: Vec<u8> = hearth::redis_conn::per_key(&mut conn, items()).await.unwrap();
    assert!(exists.iter().all(|e| *e == 1), "a preview deletes nothing");
    let r = post_json(
        &app,
        "/api/admin/redis/purge",
        None,
        &json!({"pattern": "cache:item:*", "confirm": true, "reason": "drop the items"}),
    )
    .await;
    assert_eq!((r.status, r.body["data"]["keysDeleted"].as_u64()), (StatusCode::OK, Some(300)), "{}", r.text);
    let exists: Vec<u8> = hearth::redis_conn::per_key(&mut conn, items()).await.unwrap();
    assert!(exists.iter().all(|e| *e == 0), "every item is gone");
}

/// Fails over the primary of the warming source's slot once, between two batches of the warm.
struct FailOverMidWarm<'a> {
    cluster: &'a Cluster,
    slot_key: String,
    done: std::sync::Mutex<Option<(u16, u16)>>,
}

impl hearth::cache::warm::WarmHooks for FailOverMidWarm<'_> {
    async fn between_batches(&self, p: &hearth::cache::warm::WarmProgress) -> Result<(), hearth::cache::warm::Stop> {
        if p.entries >= 8 && self.done.lock().unwrap().is_none() {
            let ports = self.cluster.fail_over(&self.slot_key).await;
            *self.done.lock().unwrap() = Some(ports);
        }
        Ok(())
    }
}

/// The live values of source `ds` equal `rows`' entries, exactly and nothing more.
async fn live_is(state: &hearth::state::AppState, ds: i64, rows: &[Row]) -> bool {
    use hearth::cache::keys::Keys;
    let expected = expected_entries(rows);
    let live = snapshot(state, ds, true).await;
    let data_prefix = state.keys.key(&format!("cache:{{ds:{ds}}}:"));
    let data_keys = live.keys().filter(|k| k.starts_with(&data_prefix)).count();
    let mut conn = state.redis.conn().await.unwrap();
    for ((m, p, v, f), value) in &expected {
        let name = Keys::data_name(ds, m, &p.to_string(), v.map(|v| v.to_string()).as_deref(), f);
        let stored: Option<String> = redis::cmd("GET").arg(state.keys.key(&name)).query_async(&mut conn).await.unwrap();
        if stored.as_deref() != Some(value.as_str()) {
            return false;
        }
    }
    data_keys == expected.len()
}

/// Issue 14, point 3: `CLUSTER FAILOVER` of the source's primary in the middle of a warm. The
/// warm either follows the slot to its new primary and publishes the whole new generation, or
/// fails with words a person understands leaving the old generation live; either way, once a
/// warm has run after it no shadow key of the interrupted run is left, and the data lives on
/// the new primary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_primary_failed_over_mid_warm_leaves_the_old_generation_or_the_whole_new_one() {
    use hearth::cache::warm::WarmFailure;
    let cluster = Cluster::start_with(1).await;
    let dir = TempDir::new("cluster-failover");
    let pool = sqlite_pool(&dir.0).await;
    let rows_a = grid("A", &["Charges", "Visits"], &[1, 2, 3, 4, 5, 6], &[Some(5), None], &["Monthly", "Weekly"], 2);
    let rows_b = grid("B", &["Charges", "Visits"], &[1, 2, 3, 4, 5, 7], &[Some(5), None], &["Monthly", "Weekly"], 3);
    create_table(&pool, "gen_a", &rows_a).await;
    create_table(&pool, "gen_b", &rows_b).await;
    let state = state_with("cluster-failover", &cluster.vars(&[("HEARTH_WARM_BATCH_ENTRIES", "4")]));
    let ds = 43;
    let token = || lock_token("test", "failover");
    warm(&state, &sqlite_def(&pool, ds, "gen_a"), "f1", &token(), &NoHooks).await.expect("the first warm");
    assert!(live_is(&state, ds, &rows_a).await);
    let before = snapshot(&state, ds, true).await;

    let hooks =
        FailOverMidWarm { cluster: &cluster, slot_key: state.keys.master(ds), done: std::sync::Mutex::new(None) };
    let outcome = hearth::cache::warm::warm_with(
        &state,
        &sqlite_def(&pool, ds, "gen_b"),
        "f2",
        &token(),
        &hooks,
        hearth::cache::warm::WarmMode::Full,
    )
    .await;
    let (old, new) = hooks.done.lock().unwrap().expect("the failover happened during the warm");
    assert_ne!(old, new);
    match &outcome {
        Ok(o) => {
            assert_eq!(o.entries as usize, expected_entries(&rows_b).len());
            assert!(live_is(&state, ds, &rows_b).await, "the whole new generation is live");
        }
        Err(e) => {
            let WarmFailure::Failed(e) = e else { panic!("cancelled") };
            assert!(e.message.contains("Redis"), "a failure names what failed: {}", e.message);
            assert_eq!(snapshot(&state, ds, true).await, before, "the old generation is live, byte for byte");
        }
    }
    eprintln!("failover {old} → {new} mid-warm: the warm {}", if outcome.is_ok() { "completed" } else { "failed" });

    // Whatever happened, the next warm runs on the new primary, publishes B and leaves no shadow.
    // A failed run whose lock could not be released (its primary was moving) holds the lock
    // until its lease ends: retry for two leases, saying why each attempt was refused.
    let deadline = std::time::Instant::now() + 2 * state.config.lock_ttl;
    let mut attempt = 0;
    loop {
        attempt += 1;
        match warm(&state, &sqlite_def(&pool, ds, "gen_b"), &format!("f3-{attempt}"), &token(), &NoHooks).await {
            Ok(_) => break,
            Err(e) if std::time::Instant::now() < deadline => {
                eprintln!("warm {attempt} after the failover refused: {e:?}");
                tokio::time::sleep(Duration::from_millis(500)).await
            }
            Err(e) => panic!("no warm succeeded within two lock leases of the failover; the last: {e:?}"),
        }
    }
    assert!(live_is(&state, ds, &rows_b).await);
    let all = snapshot(&state, ds, false).await;
    assert!(shadow_keys(&all).is_empty(), "orphan shadows: {:?}", shadow_keys(&all));
    let (serving, _) = cluster.primary_and_replica_of(&state.keys.master(ds));
    assert_eq!(serving, new, "the source's slot is served by the promoted replica");
}

/// On a cluster the memory guard reads the node its warm writes to (the source's slot): another
/// primary far over the ceiling does not pause the warm, and the source's own node, once over
/// it, does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_cluster_the_memory_guard_reads_the_node_the_warm_writes_to() {
    use hearth::model::jobs::{JobStatus, WarmRequest};
    let cluster = Cluster::start().await;
    let dir = TempDir::new("cluster-guard");
    let pool = sqlite_pool(&dir.0).await;
    create_table(&pool, "m", &grid("A", &["Visits"], &[1, 2, 3], &[Some(5), None], &["Monthly"], 2)).await;
    let ds = random_ds();
    let sources = sources_file(&dir, &[(ds, "m")]);
    let ceiling = (16u64 << 20).to_string();
    let state = state_with(
        "cluster-guard",
        &cluster.vars(&[("HEARTH_SOURCES", &sources), ("HEARTH_MEMORY_CEILING_BYTES", &ceiling)]),
    );
    let home = state.keys.master(ds);
    let (home_port, _) = cluster.primary_and_replica_of(&home);
    let filler = |on_home: bool| {
        (0..)
            .map(|i| format!("filler:{i}"))
            .find(|k| (cluster.primary_and_replica_of(k).0 == home_port) == on_home)
            .unwrap()
    };
    // Another primary holds 24 MiB: the fullest node is over the 16 MiB ceiling, the source's not.
    let mut conn = state.redis.conn().await.unwrap();
    let big = "x".repeat(24 << 20);
    let _: () = redis::cmd("SET").arg(filler(false)).arg(&big).query_async(&mut conn).await.unwrap();
    let used = |info: hearth::redis_conn::info::Info| info.num::<u64>("used_memory");
    assert!(used(state.redis.info(&["memory"]).await.unwrap()) > 16 << 20);
    assert!(used(state.redis.info_on_slot(&["memory"], &home).await.unwrap()) < 8 << 20);

    let (stop, rx) = tokio::sync::watch::channel(false);
    let workers = tokio::spawn(hearth::jobs::worker::run(state.clone(), rx));
    let req =
        WarmRequest { datasource_id: Some(source(ds)), force: Some(true), reason: Some(reason("test")), full: None };
    let warm = |label: &'static str| {
        let (state, req) = (state.clone(), req.clone());
        async move {
            let id = hearth::jobs::service::request_warm(&state, &req, "tester", "api").await.unwrap().job_id.unwrap();
            let job = wait_for(&state, &id, label, Duration::from_secs(30), |j| {
                matches!(j.status, JobStatus::Completed | JobStatus::Failed | JobStatus::Paused)
            })
            .await;
            (id, job)
        }
    };
    let (_, job) = warm("a warm beside a full primary").await;
    assert_eq!(job.status, JobStatus::Completed, "{job:?}");

    // The source's own node over the ceiling: the next warm pauses, saying why.
    let _: () = redis::cmd("SET").arg(filler(true)).arg(&big).query_async(&mut conn).await.unwrap();
    let (id, job) = warm("a warm on a full primary").await;
    assert_eq!(job.status, JobStatus::Paused, "{job:?}");
    assert!(job.paused_reason.as_deref().unwrap_or("").contains("memory"), "{job:?}");
    hearth::jobs::service::cancel(&state, &id, "tester", None).await.unwrap();
    let _ = stop.send(true);
    let _ = workers.await;
}
