//! The stats contract and truthful numbers (issue 13, points 1, 2, 6, 7): SPEC §3's exact
//! field names read from the raw JSON, `datasourcesQueued` as ids, memory from the bytes the
//! warm wrote, coverage and entries that follow invalidations, "last warmed" kept after a whole
//! one, the unmeasured hit-rate part, health issues paired with their own recommendation, and
//! the source page's service.

use std::time::{Duration, Instant};

use crate::common::fixtures::*;
use crate::common::*;
use hearth::cache::meta::last_warm;
use hearth::cache::query::{CacheQuery, query};
use hearth::cache::stats::source_reading;
use hearth::cache::warm::{NoHooks, lock_token, warm};
use hearth::model::cache::{DatasourceCacheMetrics, InvalidateRequest};
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

/// A catalog (sources file) of one warm and one cold source over the same table.
async fn catalog(name: &str) -> (AppState, i64, i64, TempDir, Cleanup) {
    let dir = TempDir::new(name);
    let pool = sqlite_pool(&dir.0).await;
    create_table(&pool, "m", &dataset()).await;
    let (warm_ds, cold_ds) = (random_ds(), random_ds());
    let state = state_with(name, &[("HEARTH_SOURCES", &sources_file(&dir, &[(warm_ds, "m"), (cold_ds, "m")]))]);
    let cleanup = cleanup_on_drop(&state, &[warm_ds, cold_ds]);
    let def = state.catalog.get(warm_ds).await.unwrap();
    warm(&state, &def, "r1", &lock_token("test", name), &NoHooks).await.unwrap();
    (state, warm_ds, cold_ds, dir, cleanup)
}

async fn reading(state: &AppState, ds: i64) -> DatasourceCacheMetrics {
    source_reading(state, ds, "test", None).await.unwrap().metrics
}

async fn ask(state: &AppState, ds: i64, measure: &str) -> bool {
    let q = CacheQuery {
        datasource_id: ds,
        measure: measure.into(),
        frequency: "Monthly".into(),
        practices: vec![],
        providers: vec![],
    };
    let hit = query(state, &q).await.unwrap().hit;
    state.query_stats.flush(state).await.unwrap();
    hit
}

async fn invalidate(state: &AppState, ds: i64, measure: Option<&str>, practice: Option<&str>, frequency: Option<&str>) {
    let req = InvalidateRequest {
        datasource_id: Some(source(ds)),
        measure: measure.map(str::to_string),
        practice: practice.map(str::to_string),
        frequency: frequency.map(str::to_string),
        reason: Some(reason("test")),
        dry_run: None,
    };
    hearth::cache::invalidate::invalidate(state, &req, "tester").await.unwrap();
}

fn object_keys(v: &serde_json::Value) -> Vec<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

#[tokio::test]
async fn the_json_spells_every_mb_field_as_spec_section_3_and_queues_by_id() {
    let (state, warm_ds, cold_ds, _dir, _cleanup) = catalog("contract").await;
    let app = hearth::server::router(state.clone());
    let r = get(&app, "/api/admin/analytics/cache/stats", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let summary = object_keys(&r.body["data"]["summary"]);
    assert!(summary.contains(&"totalMemoryMB".to_string()), "{summary:?}");
    assert!(!summary.iter().any(|k| k.ends_with("Mb")), "{summary:?}");
    for s in r.body["data"]["datasources"].as_array().unwrap() {
        let keys = object_keys(s);
        assert!(keys.contains(&"estimatedMemoryMB".to_string()), "{keys:?}");
        assert!(!keys.iter().any(|k| k.ends_with("Mb")), "{keys:?}");
    }
    let r = post_json(
        &app,
        "/api/admin/analytics/cache/invalidate",
        None,
        &json!({"datasourceId": warm_ds, "measure": "Visits", "dryRun": true}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let keys = object_keys(&r.body["data"]);
    assert!(keys.contains(&"memoryFreedMB".to_string()) && !keys.contains(&"memoryFreedMb".to_string()), "{keys:?}");

    // A warm answers with the ids it queued, as the command center does.
    let r = post_json(&app, "/api/admin/analytics/cache/warm", None, &json!({"datasourceId": cold_ds})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["data"]["datasourcesQueued"], json!([cold_ds]), "{}", r.text);
    // Asked again without force, a source just warmed is refused in words, not in config names.
    let r = post_json(&app, "/api/admin/analytics/cache/warm", None, &json!({"datasourceId": warm_ds})).await;
    assert_eq!(r.body["data"]["datasourcesQueued"], json!([]), "{}", r.text);
    let message = r.body["data"]["message"].as_str().unwrap();
    assert!(message.contains("warmed") && message.contains("ago") && message.contains("wait"), "{message}");
    assert!(!message.contains("HEARTH_") && !message.contains("force"), "{message}");
}

#[tokio::test]
async fn memory_comes_from_the_bytes_the_warm_wrote_and_reads_the_same_on_every_refresh() {
    let (state, ds, _cold, _dir, _cleanup) = catalog("memory").await;
    let meta = last_warm(&state, ds).await.unwrap().unwrap();
    let written = meta.bytes.unwrap();
    assert!(written > 0);
    let first = reading(&state, ds).await.estimated_memory_mb;
    for _ in 0..5 {
        assert_eq!(reading(&state, ds).await.estimated_memory_mb, first, "memory moved between refreshes");
    }
    assert!(first * 1_048_576.0 >= written as f64, "at least the bytes written: {first} MB vs {written} B");

    // A slice invalidation subtracts exactly the bytes of the entries it deleted.
    let visits: u64 = {
        let mut conn = raw_redis().await;
        let mut total = 0;
        for name in smembers(&state.keys.master(ds)).await.iter().filter(|n| n.contains(":m:Visits:")) {
            let len: u64 = redis::cmd("STRLEN").arg(state.keys.key(name)).query_async(&mut conn).await.unwrap();
            total += len;
        }
        total
    };
    assert!(visits > 0);
    invalidate(&state, ds, Some("Visits"), None, None).await;
    let after = last_warm(&state, ds).await.unwrap().unwrap();
    assert_eq!(after.bytes, Some(written - visits));
    assert!(reading(&state, ds).await.estimated_memory_mb < first);
}

#[tokio::test]
async fn entries_and_coverage_follow_slice_invalidations() {
    let (state, ds, _cold, _dir, _cleanup) = catalog("coverage").await;
    let m = reading(&state, ds).await;
    assert_eq!((m.total_entries, m.unique_measures, m.unique_practices, m.unique_providers), (54, 3, 3, 2));
    let warmed_at = m.last_warmed.clone();

    invalidate(&state, ds, Some("Visits"), None, None).await;
    let m = reading(&state, ds).await;
    assert_eq!((m.total_entries, m.unique_measures, m.unique_practices), (36, 2, 3), "a measure went");
    assert_eq!(last_warm(&state, ds).await.unwrap().unwrap().total_entries, 36, "the metadata follows too");

    invalidate(&state, ds, None, None, Some("Weekly")).await;
    let m = reading(&state, ds).await;
    assert_eq!((m.total_entries, m.unique_frequencies.clone()), (18, vec!["Monthly".to_string()]));

    invalidate(&state, ds, None, Some("2"), None).await;
    let m = reading(&state, ds).await;
    assert_eq!((m.total_entries, m.unique_practices, m.unique_measures), (12, 2, 2));
    assert!(m.is_warm && m.last_warmed == warmed_at, "a slice keeps the source warm and its warm time");
    let meta = last_warm(&state, ds).await.unwrap().unwrap();
    assert_eq!(meta.entries_digest, None, "the warm's digest no longer describes the live entries");
}

#[tokio::test]
async fn last_warmed_stays_true_after_a_whole_invalidation_until_the_next_warm() {
    let (state, ds, _cold, _dir, _cleanup) = catalog("whole-kept").await;
    let before = reading(&state, ds).await;
    let warmed_at = before.last_warmed.clone().expect("warm");
    // The time left is the metadata's TTL: at most the configured one, and not much less so soon.
    let ttl = before.ttl_left_secs.expect("a warm source has a TTL");
    let configured = state.config.cache_ttl_secs;
    assert!(ttl <= configured && ttl + 600 >= configured, "{ttl} s left of {configured} s");
    invalidate(&state, ds, None, None, None).await;
    let m = reading(&state, ds).await;
    assert!(!m.is_warm);
    assert_eq!(m.last_warmed.as_deref(), Some(warmed_at.as_str()), "not 'never warmed'");
    assert!(m.invalidated_at.is_some());
    assert_eq!((m.health_score, m.total_entries, m.age_minutes, m.ttl_left_secs), (0, 0, None, None));
    assert!(m.warnings[0].contains("invalidated"), "{:?}", m.warnings);
    assert!(!m.warnings[0].contains("never"), "{:?}", m.warnings);

    // A second whole invalidation of the cold source keeps the same warm time.
    invalidate(&state, ds, None, None, None).await;
    assert_eq!(reading(&state, ds).await.last_warmed.as_deref(), Some(warmed_at.as_str()));

    // The next warm makes the note history.
    tokio::time::sleep(Duration::from_millis(5)).await;
    let def = state.catalog.get(ds).await.unwrap();
    warm(&state, &def, "r2", &lock_token("test", "whole-kept"), &NoHooks).await.unwrap();
    let m = reading(&state, ds).await;
    assert!(m.is_warm && m.invalidated_at.is_none());
    assert_ne!(m.last_warmed.as_deref(), Some(warmed_at.as_str()));
}

#[tokio::test]
async fn a_source_with_no_traffic_says_so_and_marks_the_hit_rate_part_unmeasured() {
    let (state, ds, _cold, _dir, _cleanup) = catalog("no-traffic").await;
    let m = reading(&state, ds).await;
    assert!(m.no_traffic_yet);
    assert_eq!(m.health_parts.len(), 4);
    assert_eq!(m.health_parts.iter().map(|p| p.points).sum::<u32>(), m.health_score);
    let hit = m.health_parts.iter().find(|p| p.part == "hitRate").unwrap();
    assert!(!hit.measured);
    assert_eq!(hit.warning.as_deref(), Some("no queries recorded since last warm"));

    assert!(ask(&state, ds, "Charges").await);
    let m = reading(&state, ds).await;
    assert!(!m.no_traffic_yet);
    assert!(m.health_parts.iter().find(|p| p.part == "hitRate").unwrap().measured);
    assert_eq!(m.health_parts.iter().map(|p| p.points).sum::<u32>(), m.health_score);
}

#[tokio::test]
async fn each_health_issue_carries_its_own_recommendation() {
    let (state, warm_ds, cold_ds, _dir, _cleanup) = catalog("paired").await;
    let app = hearth::server::router(state.clone());
    let r = get(&app, "/api/admin/analytics/cache/health", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let issues = r.body["data"]["issues"].as_array().unwrap();
    let of = |ds: i64| issues.iter().filter(|i| i["datasourceId"] == ds).cloned().collect::<Vec<_>>();
    let cold = of(cold_ds);
    assert_eq!(cold.len(), 1, "{cold:?}");
    assert_eq!(cold[0]["recommendation"], "Warm this source.");
    assert_eq!(cold[0]["severity"], "error");
    let warm = of(warm_ds);
    assert_eq!(warm.len(), 1, "{warm:?}");
    assert_eq!(warm[0]["issue"], "no queries recorded since last warm");
    let rec = warm[0]["recommendation"].as_str().unwrap();
    assert!(rec.contains("hit rate is measured once clients query"), "{rec}");
    assert_eq!(warm[0]["severity"], "warning");

    // The server function answers the same report.
    let r = get(&app, "/rpc/cache/health", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["issues"].as_array().unwrap().len(), issues.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_source_page_lists_its_metrics_and_the_jobs_of_its_warms() {
    let (state, ds, cold_ds, _dir, _cleanup) = catalog("page").await;
    let (stop, rx) = tokio::sync::watch::channel(false);
    let workers = tokio::spawn(hearth::jobs::worker::run(state.clone(), rx));
    let req = hearth::model::jobs::WarmRequest {
        datasource_id: Some(source(ds)),
        force: Some(true),
        reason: Some(reason("test")),
        full: None,
    };
    let job = hearth::jobs::service::request_warm(&state, &req, "tester", "api").await.unwrap().job_id.unwrap();
    let started = Instant::now();
    while !hearth::jobs::service::job(&state, &job).await.unwrap().status.is_terminal() {
        assert!(started.elapsed() < Duration::from_secs(60), "the warm did not finish");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = stop.send(true);
    let _ = workers.await;

    let app = hearth::server::router(state.clone());
    let r = get(&app, &format!("/api/admin/analytics/cache/source?datasourceId={ds}"), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let data = &r.body["data"];
    assert_eq!(data["metrics"]["datasourceId"], ds);
    assert_eq!(data["metrics"]["totalEntries"], 54);
    let jobs = data["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert_eq!(jobs[0]["jobId"], job.as_str());
    assert_eq!(jobs[0]["status"], "completed");
    assert_eq!(jobs[0]["entriesCached"], 54);
    assert!(jobs[0]["bytes"].as_u64().unwrap() > 0 && jobs[0]["duration"].as_u64().is_some());

    // Another source's page lists none of them; an unknown one is a 404.
    let r = get(&app, &format!("/api/admin/analytics/cache/source?datasourceId={cold_ds}"), None).await;
    assert_eq!(r.body["data"]["jobs"], json!([]), "{}", r.text);
    let r = get(&app, "/api/admin/analytics/cache/source?datasourceId=987654321", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let r = get(&app, &format!("/rpc/cache/source?datasource_id={ds}"), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["metrics"]["datasourceId"], ds);
}
