//! Invalidation (whole, slices, dry runs), statistics and health over REST, cached queries over
//! REST, and the permission checks of every cache route.

use std::collections::BTreeSet;

use crate::common::fixtures::*;
use crate::common::*;
use hearth::cache::keys::Keys;
use hearth::cache::query::{CacheQuery, query};
use hearth::cache::warm::{NoHooks, lock_token, warm};
use hearth::model::cache::InvalidateRequest;
use hearth::state::AppState;
use http::StatusCode;
use serde_json::json;

fn dataset() -> Vec<Row> {
    grid(
        "A",
        &["Charges", "Visits", "Cash: Transfer"],
        &[1, 2, 3],
        &[Some(10), Some(11), None],
        &["Monthly", "Weekly"],
        2,
    )
}

async fn warmed(name: &str, vars: &[(&str, &str)]) -> (AppState, i64, (TempDir, Cleanup), sqlx::SqlitePool) {
    let dir = TempDir::new(name);
    let pool = sqlite_pool(&dir.0).await;
    create_table(&pool, "m", &dataset()).await;
    let state = state_with(name, vars);
    let ds = random_ds();
    warm(&state, &sqlite_def(&pool, ds, "m"), "r1", &lock_token("test", name), &NoHooks).await.unwrap();
    let cleanup = cleanup_on_drop(&state, &[ds]);
    (state, ds, (dir, cleanup), pool)
}

async fn rows_of(state: &AppState, ds: i64, measure: &str, frequency: &str, practices: &[&str]) -> (bool, usize) {
    let a = query(
        state,
        &CacheQuery {
            datasource_id: ds,
            measure: measure.into(),
            frequency: frequency.into(),
            practices: practices.iter().map(|p| p.to_string()).collect(),
            providers: vec![],
        },
    )
    .await
    .unwrap();
    let rows: Vec<serde_json::Value> = serde_json::from_str(&a.rows_json).unwrap();
    (a.hit, rows.len())
}

/// Every index member points to an existing entry and every entry is in the master set.
async fn assert_consistent(state: &AppState, ds: i64) {
    let live = snapshot(state, ds, true).await;
    let prefix = state.keys.prefix();
    let master = smembers(&state.keys.master(ds)).await;
    for key in live.keys().filter(|k| k.starts_with(&format!("{prefix}idx:"))) {
        for member in smembers(key).await {
            assert!(live.contains_key(&state.keys.key(&member)), "{key} points to missing {member}");
        }
    }
    for key in live.keys().filter(|k| k.starts_with(&format!("{prefix}cache:{{"))) {
        assert!(master.contains(state.keys.strip(key).unwrap()), "{key} is not in the master set");
    }
}

#[tokio::test]
async fn a_dry_run_changes_nothing_and_previews_the_slice() {
    let (state, ds, _dir, _pool) = warmed("dry", &[]).await;
    let before = snapshot(&state, ds, false).await;
    let req = InvalidateRequest {
        datasource_id: Some(source(ds)),
        measure: Some("Visits".into()),
        dry_run: Some(true),
        ..Default::default()
    };
    let r = hearth::cache::invalidate::invalidate(&state, &req, "tester").await.unwrap();
    assert!(r.dry_run);
    assert_eq!(r.keys_deleted, 3 * 3 * 2, "one entry per practice, provider and frequency");
    assert!(r.indexes_deleted > 0 && r.memory_freed_mb > 0.0);
    assert!(r.keys.iter().all(|k| k.contains(":m:Visits:")));
    assert_eq!(before, snapshot(&state, ds, false).await, "a dry run changed Redis");
}

#[tokio::test]
async fn slice_invalidation_removes_exactly_the_slice() {
    let (state, ds, _dir, _pool) = warmed("slice", &[("HEARTH_KEY_PREFIX", "bcos:test:")]).await;
    assert_eq!(rows_of(&state, ds, "Visits", "Monthly", &[]).await, (true, 3 * 3 * 2));
    assert_eq!(rows_of(&state, ds, "Cash: Transfer", "Weekly", &["2"]).await, (true, 3 * 2));

    // A measure: gone in every frequency; other measures intact.
    let req = InvalidateRequest {
        datasource_id: Some(source(ds)),
        measure: Some("Visits".into()),
        reason: Some(reason("bad load")),
        ..Default::default()
    };
    let r = hearth::cache::invalidate::invalidate(&state, &req, "tester").await.unwrap();
    assert_eq!(r.keys_deleted, 18);
    assert_eq!(rows_of(&state, ds, "Visits", "Monthly", &[]).await, (true, 0), "still warm: an empty hit");
    assert_eq!(rows_of(&state, ds, "Visits", "Weekly", &["1"]).await, (true, 0));
    assert_eq!(rows_of(&state, ds, "Charges", "Monthly", &[]).await, (true, 18));
    assert_consistent(&state, ds).await;

    // A practice (across measures and frequencies), then a frequency.
    let req = InvalidateRequest { datasource_id: Some(source(ds)), practice: Some("2".into()), ..Default::default() };
    hearth::cache::invalidate::invalidate(&state, &req, "tester").await.unwrap();
    assert_eq!(rows_of(&state, ds, "Charges", "Monthly", &["2"]).await, (true, 0));
    assert_eq!(rows_of(&state, ds, "Charges", "Monthly", &["1", "3"]).await, (true, 12));
    assert_eq!(rows_of(&state, ds, "Cash: Transfer", "Weekly", &[]).await, (true, 12));
    assert_consistent(&state, ds).await;
    let req =
        InvalidateRequest { datasource_id: Some(source(ds)), frequency: Some("Weekly".into()), ..Default::default() };
    hearth::cache::invalidate::invalidate(&state, &req, "tester").await.unwrap();
    assert_eq!(rows_of(&state, ds, "Charges", "Weekly", &[]).await, (true, 0));
    assert_eq!(rows_of(&state, ds, "Charges", "Monthly", &[]).await, (true, 12));
    assert_consistent(&state, ds).await;
    let remaining: BTreeSet<String> = smembers(&state.keys.master(ds)).await;
    assert_eq!(remaining.len(), 2 * 2 * 3, "Charges and Cash: Transfer, practices 1 and 3, 3 providers, Monthly");

    // The next warm restores everything, exactly.
    warm(&state, &sqlite_def(&_pool, ds, "m"), "r2", &lock_token("test", "slice"), &NoHooks).await.unwrap();
    assert_eq!(rows_of(&state, ds, "Visits", "Weekly", &["2"]).await, (true, 6));
    assert_consistent(&state, ds).await;
}

#[tokio::test]
async fn whole_invalidation_makes_the_source_cold_and_removes_leftovers() {
    let (state, ds, _dir, _pool) = warmed("whole", &[]).await;
    let mut conn = raw_redis().await;
    let legacy = state.keys.key(&format!("shadow:{{ds:{ds}}}:cache:x"));
    let abandoned = format!("{}{}", state.keys.shadow_prefix(ds, "dead"), Keys::master_name(ds));
    for k in [&legacy, &abandoned] {
        let _: () = redis::cmd("SET").arg(k).arg("x").query_async(&mut conn).await.unwrap();
    }
    let app = hearth::server::router(state.clone());
    let r =
        post_json(&app, "/api/admin/analytics/cache/invalidate", None, &json!({"datasourceId": ds, "reason": "test"}))
            .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let data = &r.body["data"];
    assert_eq!(data["datasourcesInvalidated"], json!([ds]));
    assert!(data["keysDeleted"].as_u64().unwrap() >= 54 + 2);
    assert!(data["indexesDeleted"].as_u64().unwrap() > 54);
    // Only query counters remain, and the note of when the source was last warmed.
    let left = snapshot(&state, ds, false).await;
    assert!(left.keys().all(|k| k.contains(":q:") || *k == state.keys.invalidated(ds)), "{:?}", left.keys());
    assert!(left.contains_key(&state.keys.invalidated(ds)), "the last warm is remembered");
    assert!(!rows_of(&state, ds, "Charges", "Monthly", &[]).await.0, "cold: a miss");
}

#[tokio::test]
async fn invalidation_is_refused_while_the_source_is_locked() {
    let (state, ds, _dir, _pool) = warmed("refused", &[]).await;
    let mut conn = raw_redis().await;
    let _: () = redis::cmd("SET")
        .arg(state.keys.lock(ds))
        .arg("job:j-77@node-9")
        .arg("PX")
        .arg(30_000)
        .query_async(&mut conn)
        .await
        .unwrap();
    let app = hearth::server::router(state.clone());
    for dry in [false, true] {
        let r =
            post_json(&app, "/api/admin/analytics/cache/invalidate", None, &json!({"datasourceId": ds, "dryRun": dry}))
                .await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
        assert!(r.body["error"].as_str().unwrap().contains("job j-77 on node-9"), "{}", r.text);
    }
    let lock: Option<String> = redis::cmd("GET").arg(state.keys.lock(ds)).query_async(&mut conn).await.unwrap();
    assert_eq!(lock.as_deref(), Some("job:j-77@node-9"));
}

#[tokio::test]
async fn invalidation_input_is_validated() {
    let state = state_with("inv-bad", &[]);
    let _cleanup = crate::common::fixtures::cleanup_on_drop(&state, &[]);
    let app = hearth::server::router(state);
    for (body, expect) in [
        (json!({"datasourceId": -3}), StatusCode::BAD_REQUEST),
        (json!({"datasourceId": "seven"}), StatusCode::BAD_REQUEST),
        (json!({"datasourceId": 5, "measure": ""}), StatusCode::BAD_REQUEST),
        (json!({"datasourceId": 987654321}), StatusCode::NOT_FOUND),
    ] {
        let r = post_json(&app, "/api/admin/analytics/cache/invalidate", None, &body).await;
        assert_eq!(r.status, expect, "{body}: {}", r.text);
        assert_eq!(r.body["success"], false);
    }
    let r = send(
        &app,
        http::Request::post("/api/admin/analytics/cache/invalidate")
            .header("content-type", "application/json")
            .body(axum::body::Body::from("{not json"))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body["error"].as_str().unwrap().contains("invalid JSON"));
}

#[tokio::test]
async fn stats_report_real_hit_rate_and_query_time() {
    let dir = TempDir::new("stats");
    let pool = sqlite_pool(&dir.0).await;
    create_table(&pool, "m", &dataset()).await;
    let file = dir.0.join("sources.toml");
    let (warm_ds, cold_ds) = (random_ds(), random_ds());
    std::fs::write(
        &file,
        format!(
            "[[source]]\nid = {warm_ds}\nname = \"Warm one\"\nurl = \"sqlite://{0}\"\nschema = \"main\"\ntable = \"m\"\nperiod_column = \"frequency\"\n\n\
             [[source]]\nid = {cold_ds}\nname = \"Cold one\"\nurl = \"sqlite://{0}\"\nschema = \"main\"\ntable = \"m\"\nperiod_column = \"frequency\"\n",
            dir.0.join("fixtures.sqlite").display()
        ),
    )
    .unwrap();
    let state = state_with("stats", &[("HEARTH_SOURCES", &format!("file:{}", file.display()))]);
    let _cleanup = cleanup_on_drop(&state, &[warm_ds, cold_ds]);
    let def = state.catalog.get(warm_ds).await.unwrap();
    warm(&state, &def, "r1", &lock_token("test", "stats"), &NoHooks).await.unwrap();
    for _ in 0..6 {
        assert!(rows_of(&state, warm_ds, "Charges", "Monthly", &["1"]).await.0);
    }
    for _ in 0..2 {
        assert!(!rows_of(&state, cold_ds, "Charges", "Monthly", &[]).await.0);
    }
    let app = hearth::server::router(state.clone());
    let r = get(&app, "/api/admin/analytics/cache/stats", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let data = &r.body["data"];
    let by_id =
        |id: i64| data["datasources"].as_array().unwrap().iter().find(|s| s["datasourceId"] == id).unwrap().clone();
    let w = by_id(warm_ds);
    assert_eq!(w["isWarm"], true);
    assert_eq!(w["totalQueries"], 6);
    assert_eq!(w["cacheHitRate"], 100.0);
    assert!(w["avgQueryTimeMs"].as_f64().unwrap() > 0.0);
    assert_eq!(w["totalEntries"], 54);
    assert!(w["indexCount"].as_u64().unwrap() > 54);
    assert!(w["estimatedMemoryMB"].as_f64().unwrap() > 0.0);
    assert_eq!(w["uniqueMeasures"], 3);
    assert_eq!(w["uniqueFrequencies"], json!(["Monthly", "Weekly"]));
    assert_eq!(w["health"], "excellent");
    assert!(w["ageMinutes"].as_f64().unwrap() < 1.0);
    let c = by_id(cold_ds);
    assert_eq!(
        (c["isWarm"].clone(), c["health"].clone(), c["healthScore"].clone()),
        (json!(false), json!("cold"), json!(0))
    );
    assert_eq!(c["totalQueries"], 2);
    assert_eq!(c["cacheHitRate"], 0.0);
    let summary = &data["summary"];
    assert_eq!(summary["totalDatasources"], 2);
    assert_eq!(summary["warmDatasources"], 1);
    assert_eq!(summary["overallCacheHitRate"], 75.0);
    assert_eq!(summary["healthDistribution"], json!({"excellent": 1, "good": 0, "degraded": 0, "stale": 0, "cold": 1}));

    let h = get(&app, "/api/admin/analytics/cache/health", None).await;
    assert_eq!(h.status, StatusCode::OK);
    // Average score 50 (100 and 0) is degraded; an error-level issue keeps it from being better.
    assert_eq!(h.body["data"]["overall"], "degraded", "{}", h.text);
    let issue =
        &h.body["data"]["issues"].as_array().unwrap().iter().find(|i| i["datasourceId"] == cold_ds).unwrap().clone();
    assert_eq!(issue["severity"], "error");

    let t = get(&app, &format!("/api/admin/analytics/cache/trends?datasourceId={warm_ds}&range=1h"), None).await;
    assert_eq!(t.status, StatusCode::OK);
    let hits: u64 = t.body["data"]["points"].as_array().unwrap().iter().map(|p| p["hits"].as_u64().unwrap()).sum();
    assert_eq!(hits, 6);
}

#[tokio::test]
async fn the_query_endpoint_answers_with_rows_and_validates_input() {
    let (state, ds, _dir, _pool) = warmed("qapi", &[]).await;
    let app = hearth::server::router(state.clone());
    let r = get(&app, &format!("/api/analytics/cache/query?datasourceId={ds}&measure=Cash%3A%20Transfer&frequency=Monthly&practice=1&practice=2&provider=*"), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["data"]["hit"], true);
    assert_eq!(r.body["data"]["rows"].as_array().unwrap().len(), 2 * 2);
    assert!(r.body["data"]["rows"][0]["provider_uid"].is_null());
    for (q, status) in [
        ("datasourceId=abc&measure=x&frequency=y", StatusCode::BAD_REQUEST),
        ("datasourceId=0&measure=x&frequency=y", StatusCode::BAD_REQUEST),
        (&format!("datasourceId={ds}&frequency=y") as &str, StatusCode::BAD_REQUEST),
        (&format!("datasourceId={ds}&measure=x") as &str, StatusCode::BAD_REQUEST),
    ] {
        let r = get(&app, &format!("/api/analytics/cache/query?{q}"), None).await;
        assert_eq!(r.status, status, "{q}: {}", r.text);
    }
}

#[tokio::test]
async fn cache_routes_refuse_the_wrong_caller() {
    let app = hearth::server::router(jwt_state("cache-auth"));
    let reader = token(SECRET, "reader", &["settings:read:all"], 600);
    let writer_only = token(SECRET, "writer", &["settings:update:all"], 600);
    for path in [
        "/api/admin/analytics/cache/stats",
        "/api/admin/analytics/cache/health",
        "/api/admin/analytics/cache/trends?datasourceId=1",
        "/api/analytics/cache/query?datasourceId=1&measure=a&frequency=b",
        "/rpc/cache/stats",
    ] {
        assert_eq!(get(&app, path, None).await.body["code"], "UNAUTHORIZED", "{path}");
        assert_eq!(get(&app, path, Some(&writer_only)).await.body["code"], "FORBIDDEN", "{path}");
    }
    let r = post_json(&app, "/api/admin/analytics/cache/invalidate", Some(&reader), &json!({"datasourceId": 1})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = post_json(&app, "/api/admin/analytics/cache/invalidate", None, &json!({"datasourceId": 1})).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}
