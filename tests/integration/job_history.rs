//! The jobs history past the last 50: filtered by source, status and time, a page at a time to
//! the end, over REST and the server function; refused to a caller without read permission.

use std::collections::BTreeSet;

use crate::common::*;
use hearth::jobs::record::NewJob;
use hearth::jobs::store::{self, Enqueued, FinishIf};
use hearth::model::jobs::JobStatus;
use http::StatusCode;

/// Finishes `n` jobs of `ds` with `status` (queued, then cancelled or failed at once).
async fn finished_jobs(state: &hearth::state::AppState, ds: i64, status: JobStatus, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for _ in 0..n {
        let new = NewJob {
            datasource_id: ds,
            datasource_name: "history",
            requested_by: "tester",
            reason: None,
            trigger: "api",
            full: false,
        };
        let Enqueued::New(id) = store::enqueue(state, &new).await.unwrap() else { panic!("a new job") };
        assert!(store::finish(state, &id, ds, status, &[], FinishIf::Queued).await.unwrap());
        ids.push(id);
    }
    ids
}

/// Every job the REST list gives for `query`, page by page, with the page sizes.
async fn all_pages(app: &axum::Router, query: &str) -> (Vec<String>, Vec<usize>) {
    let (mut ids, mut sizes, mut cursor) = (Vec::new(), Vec::new(), String::new());
    loop {
        let r = get(app, &format!("/api/admin/analytics/cache/jobs?{query}{cursor}"), None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let jobs = r.body["data"]["jobs"].as_array().unwrap();
        sizes.push(jobs.len());
        ids.extend(jobs.iter().map(|j| j["jobId"].as_str().unwrap().to_string()));
        match r.body["data"]["nextCursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => break,
        }
        assert!(sizes.len() < 50, "the cursor ends");
    }
    (ids, sizes)
}

#[tokio::test]
async fn the_history_pages_past_fifty_and_filters_by_source_status_and_time() {
    let state = state_with("jobhistory", &[]);
    let _cleanup = fixtures::cleanup_prefix_on_drop(state.keys.prefix());
    let app = hearth::server::router(state.clone());
    let (a, b) = (fixtures::random_ds(), fixtures::random_ds());
    let start = hearth::time::now_ms();
    let a_cancelled = finished_jobs(&state, a, JobStatus::Cancelled, 45).await;
    let b_cancelled = finished_jobs(&state, b, JobStatus::Cancelled, 20).await;
    let mut a_failed = Vec::new();
    for _ in 0..7 {
        let new = NewJob {
            datasource_id: a,
            datasource_name: "history",
            requested_by: "tester",
            reason: None,
            trigger: "api",
            full: false,
        };
        let Enqueued::New(id) = store::enqueue(&state, &new).await.unwrap() else { panic!() };
        assert!(store::finish(&state, &id, a, JobStatus::Failed, &[], FinishIf::Unfinished).await.unwrap());
        a_failed.push(id);
    }
    // Everything: 72 jobs, pages of 50 then 22, newest first, no job twice.
    let (ids, sizes) = all_pages(&app, "").await;
    assert_eq!(sizes, vec![50, 22]);
    assert_eq!(ids.iter().collect::<BTreeSet<_>>().len(), 72);
    assert!(a_failed.contains(&ids[0]), "newest first: the failed jobs finished last");
    // Small pages cross ties in the finish time without skipping or repeating a job.
    let (small, _) = all_pages(&app, "limit=7").await;
    assert_eq!(small, ids);

    let (by_source, _) = all_pages(&app, &format!("source={b}")).await;
    assert_eq!(by_source.iter().collect::<BTreeSet<_>>(), b_cancelled.iter().collect::<BTreeSet<_>>());
    let (failed, _) = all_pages(&app, &format!("source={a}&status=failed")).await;
    // Jobs finished in the same millisecond come in id order, so compare as sets.
    assert_eq!(failed.iter().collect::<BTreeSet<_>>(), a_failed.iter().collect::<BTreeSet<_>>());
    let (cancelled_a, _) = all_pages(&app, &format!("source={a}&status=cancelled&limit=10")).await;
    assert_eq!(cancelled_a.len(), a_cancelled.len());

    // Time: nothing finished before the test started; everything after.
    let (before, _) = all_pages(&app, &format!("to={}", start - 1)).await;
    assert!(before.is_empty());
    let (after, _) = all_pages(&app, &format!("from={start}&limit=200")).await;
    assert_eq!(after.len(), 72);

    // Bad filters are refused, naming the parameter.
    for (query, needle) in [
        ("status=warming", "status"),
        ("source=abc", "source"),
        ("cursor=nonsense", "cursor"),
        ("limit=500", "limit"),
        ("from=yesterday", "from"),
        ("colour=red", "colour"),
    ] {
        let r = get(&app, &format!("/api/admin/analytics/cache/jobs?{query}"), None).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{query}: {}", r.text);
        assert!(r.body["error"].as_str().unwrap().contains(needle), "{query}: {}", r.text);
    }

    // The console's server function gives the same page.
    let r = get(&app, &format!("/rpc/jobs/history?query[source]={b}&query[limit]=5"), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["jobs"].as_array().unwrap().len(), 5);
    assert!(r.body["nextCursor"].is_string());
}

#[tokio::test]
async fn the_history_refuses_a_caller_without_read_permission() {
    let state = jwt_state("jobhistory-auth");
    let _cleanup = crate::common::fixtures::cleanup_on_drop(&state, &[]);
    let app = hearth::server::router(state);
    let writer = token(SECRET, "writer", &["settings:write:all"], 600);
    let reader = token(SECRET, "reader", &["settings:read:all"], 600);
    for path in ["/api/admin/analytics/cache/jobs", "/rpc/jobs/history"] {
        assert_eq!(get(&app, path, None).await.status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(get(&app, path, Some(&writer)).await.status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(get(&app, path, Some(&reader)).await.status, StatusCode::OK, "{path}");
    }
}

#[tokio::test]
async fn the_console_status_lists_only_the_newest_finished_jobs_it_asks_for() {
    let state = state_with("jobstatus-listed", &[]);
    let _cleanup = fixtures::cleanup_prefix_on_drop(state.keys.prefix());
    let app = hearth::server::router(state.clone());
    let ids = finished_jobs(&state, fixtures::random_ds(), JobStatus::Cancelled, 3).await;

    // REST (the command center's contract) and the server function without `recent`: all of them.
    let rest = get(&app, "/api/admin/analytics/cache/warming/status", None).await;
    assert_eq!(rest.status, StatusCode::OK, "{}", rest.text);
    assert_eq!(rest.body["data"]["recentJobs"].as_array().unwrap().len(), 3);
    let all = get(&app, "/rpc/jobs/status", None).await;
    let every: Vec<&str> =
        all.body["recentJobs"].as_array().unwrap().iter().map(|j| j["jobId"].as_str().unwrap()).collect();
    assert_eq!(
        every.iter().copied().collect::<BTreeSet<_>>(),
        ids.iter().map(String::as_str).collect(),
        "{}",
        all.text
    );

    // What the Warming tab polls: the newest only, with the same summary of the last 50.
    let one = get(&app, "/rpc/jobs/status?recent=1", None).await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.text);
    let listed = one.body["recentJobs"].as_array().unwrap();
    assert_eq!(listed.len(), 1);
    // The head of the same newest-first list (jobs finished in the same millisecond keep the
    // history's own order).
    assert_eq!(listed[0]["jobId"].as_str(), Some(every[0]));
    assert_eq!(one.body["summary"], all.body["summary"]);
    assert_eq!(all.body["summary"]["successRate"], 0.0, "three cancelled jobs: {}", all.text);

    // The dashboard's: none.
    let none = get(&app, "/rpc/jobs/status?recent=0", None).await;
    assert!(none.body["recentJobs"].as_array().unwrap().is_empty(), "{}", none.text);

    // A count out of range is refused with the field named, not read as "all".
    for query in ["recent=-1", "recent=51"] {
        let bad = get(&app, &format!("/rpc/jobs/status?{query}"), None).await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{query}: {}", bad.text);
        assert!(bad.text.contains("recent must be a count of finished jobs from 0 to 50"), "{query}: {}", bad.text);
    }
}
