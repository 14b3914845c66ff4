//! `/metrics` (issue 14, point 5): served only behind its setting, refused without the token
//! (a signed-in admin's bearer is not it), and scraped after real work: a warm that went live, one
//! that failed, hits and misses, a rate-limit refusal, Redis unreachable, the shared queue's depth.
//! The recorder is one per process, so each assertion reads this test's own sources or compares
//! a process-wide counter before and after.

use axum::body::Body;
use http::{Request, StatusCode};
use tower::ServiceExt;

use crate::common::fixtures::*;
use crate::common::*;
use hearth::auth::limits;
use hearth::cache::query::{CacheQuery, query};
use hearth::cache::warm::{NoHooks, lock_token, warm};
use hearth::jobs::record::NewJob;
use hearth::model::limits::LimitClass;

const TOKEN: &str = "metrics-token-0123456789abcdef0123456789";

async fn scrape(app: &axum::Router, bearer: Option<&str>) -> Reply {
    let mut request = Request::get("/metrics");
    if let Some(b) = bearer {
        request = request.header("authorization", format!("Bearer {b}"));
    }
    send(app, request.body(Body::empty()).unwrap()).await
}

/// The value of the series `name{…}` whose labels include every one of `labels`, if present.
fn value(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines().filter(|l| !l.starts_with('#')).find_map(|line| {
        let (series, v) = line.rsplit_once(' ')?;
        let (n, rest) = series.split_once('{').unwrap_or((series, ""));
        let wanted = labels.iter().all(|(k, val)| rest.contains(&format!("{k}=\"{val}\"")));
        (n == name && wanted).then(|| v.parse().ok()).flatten()
    })
}

/// Redis errors of an unreachable server: refused at once, or no answer in time.
fn redis_down_errors(text: &str) -> f64 {
    ["unreachable", "timeout"].iter().filter_map(|k| value(text, "hearth_redis_errors_total", &[("kind", k)])).sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_served_only_with_the_token_and_count_warms_queries_refusals_and_redis_errors() {
    let dir = TempDir::new("metrics");
    let pool = sqlite_pool(&dir.0).await;
    create_table(&pool, "m", &grid("A", &["Visits"], &[1, 2], &[Some(7)], &["Monthly"], 2)).await;
    let state = jwt_state_with("metrics", &[("HEARTH_METRICS_TOKEN", TOKEN), ("HEARTH_RATE_WARM_PER_HOUR", "1")]);
    let (ds, broken) = (random_ds(), random_ds());
    let _cleanup = cleanup_on_drop(&state, &[ds, broken]);
    let app = hearth::server::router(state.clone());

    // The wrong callers: nobody, a wrong token, an admin's own JWT.
    let admin = token(SECRET, "admin", &["settings:read:all", "settings:write:all"], 600);
    for (who, bearer) in [("no token", None), ("a wrong token", Some("x".repeat(40))), ("an admin's JWT", Some(admin))]
    {
        let r = scrape(&app, bearer.as_deref()).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{who}: {}", r.text);
        assert!(r.headers.contains_key("www-authenticate"), "{who}");
        assert!(!r.text.contains("hearth_"), "{who} saw metrics");
    }

    let before = scrape(&app, Some(TOKEN)).await.text;
    let refusals_before = value(&before, "hearth_rate_limit_refusals_total", &[("class", "warm")]).unwrap_or(0.0);
    let errors_before = redis_down_errors(&before);

    // A warm that goes live, a query hit and a miss, a warm that fails (its table is missing).
    let id = ds.to_string();
    let outcome = warm(&state, &sqlite_def(&pool, ds, "m"), "m1", &lock_token("test:metrics", "here"), &NoHooks)
        .await
        .expect("warm succeeds");
    let q = CacheQuery {
        datasource_id: ds,
        measure: "Visits".into(),
        frequency: "Monthly".into(),
        practices: vec!["1".into()],
        providers: vec!["*".into()],
    };
    assert!(query(&state, &q).await.unwrap().hit);
    // A source that was never warmed answers a miss.
    assert!(!query(&state, &CacheQuery { datasource_id: broken, ..q.clone() }).await.unwrap().hit);
    let failed =
        warm(&state, &sqlite_def(&pool, broken, "missing"), "m2", &lock_token("test:metrics", "here"), &NoHooks).await;
    assert!(failed.is_err());
    // A warm that finds the source's lock held (by another instance) does not start.
    let mut conn = state.redis.conn().await.unwrap();
    let _: () = redis::cmd("SET").arg(state.keys.lock(ds)).arg("other-instance").query_async(&mut conn).await.unwrap();
    let refused = warm(&state, &sqlite_def(&pool, ds, "m"), "m3", &lock_token("test:metrics", "here"), &NoHooks).await;
    let _: () = redis::cmd("DEL").arg(state.keys.lock(ds)).query_async(&mut conn).await.unwrap();
    assert!(refused.is_err(), "the lock was held");
    // The second warm request of the hour is refused (the limit is 1).
    limits::take_at(&state, "metrics-user", LimitClass::Warm, 1_000).await.expect("first is granted");
    limits::take_at(&state, "metrics-user", LimitClass::Warm, 2_000).await.expect_err("second is refused");
    // Redis unreachable, seen by another state of this process.
    let dead =
        state_with("metrics-dead", &[("HEARTH_REDIS_URL", "redis://127.0.0.1:1"), ("HEARTH_REDIS_TIMEOUT_MS", "300")]);
    hearth::jobs::store::active(&dead).await.expect_err("no Redis there");
    // One job waiting in this prefix's queue (no worker runs in this test).
    let job = NewJob {
        datasource_id: ds,
        datasource_name: "Fixture m",
        requested_by: "metrics-user",
        reason: None,
        trigger: "manual",
        full: false,
    };
    hearth::jobs::store::enqueue(&state, &job).await.expect("queued");

    let r = scrape(&app, Some(TOKEN)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.headers["content-type"].to_str().unwrap().starts_with("text/plain"));
    assert!(r.headers["cache-control"].to_str().unwrap().contains("no-store"));
    let text = &r.text;
    let src = [("source", id.as_str())];
    assert_eq!(value(text, "hearth_warms_started_total", &src), Some(1.0), "{text}");
    assert_eq!(value(text, "hearth_warms_completed_total", &src), Some(1.0), "{text}");
    assert_eq!(value(text, "hearth_warms_refused_total", &src), Some(1.0), "{text}");
    assert_eq!(value(text, "hearth_warms_refused_total", &[("source", &broken.to_string())]), None);
    assert_eq!(value(text, "hearth_warm_rows_total", &src), Some(outcome.rows as f64));
    assert_eq!(value(text, "hearth_warm_entries_written_total", &src), Some(outcome.entries as f64));
    assert_eq!(value(text, "hearth_warm_duration_seconds_count", &src), Some(1.0));
    assert_eq!(value(text, "hearth_cutover_stall_seconds_count", &src), Some(1.0));
    assert_eq!(value(text, "hearth_warms_failed_total", &[("source", &broken.to_string())]), Some(1.0), "{text}");
    assert_eq!(value(text, "hearth_warms_completed_total", &[("source", &broken.to_string())]), None);
    assert_eq!(value(text, "hearth_warms_failed_total", &src), None);
    assert_eq!(value(text, "hearth_queries_total", &[("source", &id), ("result", "hit")]), Some(1.0), "{text}");
    assert_eq!(value(text, "hearth_queries_total", &[("source", &id), ("result", "miss")]), None);
    let broken_id = broken.to_string();
    assert_eq!(value(text, "hearth_queries_total", &[("source", &broken_id), ("result", "miss")]), Some(1.0));
    assert_eq!(value(text, "hearth_query_duration_seconds_count", &src), Some(1.0));
    assert_eq!(value(text, "hearth_query_duration_seconds_bucket", &[("source", &id), ("le", "+Inf")]), Some(1.0));
    assert!(value(text, "hearth_rate_limit_refusals_total", &[("class", "warm")]).unwrap() >= refusals_before + 1.0);
    assert!(redis_down_errors(text) >= errors_before + 1.0, "{text}");
    assert_eq!(value(text, "hearth_job_queue_depth", &[]), Some(1.0), "{text}");
    assert!(text.contains("# HELP hearth_warms_started_total"), "described");
}

#[tokio::test]
async fn without_the_setting_there_is_no_metrics_page_and_the_metrics_listener_serves_only_metrics() {
    let state = jwt_state("metrics-off");
    let app = hearth::server::router(state.clone());
    let r = scrape(&app, Some(TOKEN)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    assert!(!r.text.contains("hearth_"));

    // HEARTH_METRICS_BIND's router: /metrics without a token, nothing else.
    let state = state_with("metrics-bind", &[("HEARTH_METRICS_BIND", "127.0.0.1:9464")]);
    let listener = hearth::metrics::listener_router(state.clone());
    let r = send(&listener, Request::get("/metrics").body(Body::empty()).unwrap()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.text.contains("hearth_job_queue_depth"), "{}", r.text);
    for path in ["/", "/api/admin/analytics/cache/stats", "/healthz"] {
        let r = listener.clone().oneshot(Request::get(path).body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
    }
    cleanup(&state).await;
}
