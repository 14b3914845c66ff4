//! Warming jobs across instances: one job per source under a rush of requests, the global
//! concurrency limit, live progress with an ETA, pause/resume/cancel, crash recovery, the memory
//! guard, schedules that fire exactly once, and input validation.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use crate::common::fixtures::*;
use crate::common::*;
use hearth::jobs::{schedules, service, store, worker};
use hearth::model::jobs::{JobStatus, ScheduleInput, WarmRequest};
use hearth::state::AppState;
use http::StatusCode;
use serde_json::json;

/// Two instances on one Redis (same prefix), as behind a load balancer.
fn two_instances(name: &str, sources: &str, extra: &[(&str, &str)]) -> (AppState, AppState) {
    let a = state_with(name, &[&[("HEARTH_SOURCES", sources)], extra].concat());
    let prefix = a.config.key_prefix.clone();
    let b = state_with(name, &[&[("HEARTH_SOURCES", sources), ("HEARTH_KEY_PREFIX", prefix.as_str())], extra].concat());
    (a, b)
}

/// An instance's workers; `stop` waits until they have finished, so nothing writes after the
/// test's cleanup.
struct Workers(tokio::sync::watch::Sender<bool>, tokio::task::JoinHandle<()>);

impl Workers {
    async fn stop(self) {
        let _ = self.0.send(true);
        let _ = self.1.await;
    }
}

fn workers(state: &AppState) -> Workers {
    let (tx, rx) = tokio::sync::watch::channel(false);
    Workers(tx, tokio::spawn(worker::run(state.clone(), rx)))
}

fn req(ds: i64) -> WarmRequest {
    WarmRequest { datasource_id: Some(source(ds)), force: Some(true), reason: Some(reason("test")), full: None }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_requests_for_one_source_make_one_job() {
    let dir = TempDir::new("rush");
    let pool = sqlite_pool(&dir.0).await;
    create_table(&pool, "m", &grid("A", &["Visits"], &[1, 2], &[Some(3)], &["Monthly"], 2)).await;
    let ds = random_ds();
    let (a, b) = two_instances("rush", &sources_file(&dir, &[(ds, "m")]), &[]);
    let _cleanup = cleanup_on_drop(&a, &[ds]);
    let mut tasks = Vec::new();
    for i in 0..50 {
        let state = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks
            .push(tokio::spawn(async move { service::request_warm(&state, &req(ds), "tester", "api").await.unwrap() }));
    }
    let mut ids = BTreeSet::new();
    let mut created = 0;
    for t in tasks {
        let r = t.await.unwrap();
        created += r.datasources_queued.len();
        ids.insert(r.job_id.expect("every answer names the job"));
    }
    assert_eq!(created, 1, "exactly one request created a job");
    assert_eq!(ids.len(), 1, "every answer names the same job: {ids:?}");
    let status = service::status(&b).await.unwrap();
    assert_eq!(status.active_jobs.len(), 1);
    assert_eq!(status.active_jobs[0].status, JobStatus::Queued);
    // A worker on either instance finishes it.
    let w = workers(&b);
    let id = ids.into_iter().next().unwrap();
    let done = wait_for(&a, &id, "completion", Duration::from_secs(30), |j| j.status.is_terminal()).await;
    assert_eq!(done.status, JobStatus::Completed, "{done:?}");
    assert_eq!(done.progress, 100.0);
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn warm_all_never_runs_more_than_the_limit_at_once() {
    let dir = TempDir::new("limit");
    let pool = sqlite_pool(&dir.0).await;
    let practices: Vec<i64> = (1..=40).collect();
    let mut sources = Vec::new();
    let ids: Vec<i64> = (0..5).map(|_| random_ds()).collect();
    let tables = ["t0", "t1", "t2", "t3", "t4"];
    for (id, table) in ids.iter().zip(tables) {
        create_table(
            &pool,
            table,
            &grid("A", &["Charges", "Visits"], &practices, &[Some(1), None], &["Monthly", "Weekly"], 6),
        )
        .await;
        sources.push((*id, table));
    }
    let (a, b) = two_instances(
        "limit",
        &sources_file(&dir, &sources),
        &[("HEARTH_MAX_CONCURRENT_WARMS", "2"), ("HEARTH_WARM_BATCH_ENTRIES", "20")],
    );
    let _cleanup = cleanup_on_drop(&a, &ids);
    let reply = service::request_warm(
        &a,
        &WarmRequest { datasource_id: None, force: Some(true), reason: None, full: None },
        "tester",
        "api",
    )
    .await
    .unwrap();
    assert_eq!(reply.datasources_queued.len(), 5, "the ids of the sources queued: {:?}", reply.datasources_queued);
    let (wa, wb) = (workers(&a), workers(&b));
    let mut conn = raw_redis().await;
    let (mut most, started) = (0u64, Instant::now());
    loop {
        let running: u64 = redis::cmd("SCARD").arg(a.keys.jobs_running()).query_async(&mut conn).await.unwrap();
        most = most.max(running);
        let status = service::status(&a).await.unwrap();
        if status.active_jobs.is_empty() && status.recent_jobs.len() == 5 {
            assert!(status.recent_jobs.iter().all(|j| j.status == JobStatus::Completed), "{:?}", status.recent_jobs);
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(90), "warm-all did not finish");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(most <= 2, "{most} warms ran at once");
    assert_eq!(most, 2, "both slots were used");
    wa.stop().await;
    wb.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn progress_rises_with_an_eta_and_reaches_100_only_at_completion() {
    let schema = PgSchema::new("progress").await;
    let mut seed = hearth::source::seed::SeedOptions::new(&database_url(), 75, 1);
    seed.schema = schema.name.clone();
    seed.registry_schema = schema.name.clone();
    let seeded = hearth::source::seed::seed_postgres(&seed).await.unwrap();
    assert!(seeded.rows >= 200_000);
    let dir = TempDir::new("progress");
    let file = dir.0.join("sources.toml");
    let ds = random_ds();
    std::fs::write(
        &file,
        format!(
            "[[source]]\nid = {ds}\nname = \"Big\"\nurl = \"{}\"\nschema = \"{}\"\ntable = \"agg_app_measures\"\nperiod_column = \"frequency\"\n",
            database_url(),
            schema.name
        ),
    )
    .unwrap();
    let state = state_with(
        "progress",
        &[
            ("HEARTH_SOURCES", &format!("file:{}", file.display())),
            ("HEARTH_ALLOWED_SCHEMAS", &schema.name),
            ("HEARTH_WARM_BATCH_ENTRIES", "50"),
        ],
    );
    let _cleanup = cleanup_on_drop(&state, &[ds]);
    let w = workers(&state);
    let app = hearth::server::router(state.clone());
    let id = service::request_warm(&state, &req(ds), "tester", "api").await.unwrap().job_id.unwrap();
    let mut samples: Vec<(u64, f64, Option<u64>)> = Vec::new();
    let started = Instant::now();
    loop {
        let r = get(&app, "/api/admin/analytics/cache/warming/status", None).await;
        let data = &r.body["data"];
        if let Some(j) = data["activeJobs"].as_array().unwrap().iter().find(|j| j["jobId"] == id.as_str()) {
            let rows = j["rowsProcessed"].as_u64().unwrap();
            let progress = j["progress"].as_f64().unwrap();
            if j["status"] == "warming" && samples.last().map(|s| s.0) != Some(rows) && rows > 0 {
                samples.push((rows, progress, j["etaSeconds"].as_u64()));
            }
            assert!(progress < 100.0, "100 % before completion: {j}");
        } else if let Some(j) = data["recentJobs"].as_array().unwrap().iter().find(|j| j["jobId"] == id.as_str()) {
            assert_eq!(j["status"], "completed", "{j}");
            assert_eq!(j["progress"], 100.0);
            assert_eq!(j["success"], true);
            assert_eq!(j["rowsProcessed"].as_u64().unwrap(), seeded.rows);
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(120), "the warm did not finish");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(samples.len() >= 3, "too few progress samples: {samples:?}");
    assert!(samples.windows(2).all(|w| w[1].0 > w[0].0), "rowsProcessed must rise: {samples:?}");
    // The ETA shows once the job has read for a second (a rate over less would be noise): how far
    // it has got by then depends on the machine and the Redis, so only "while reading" is sure.
    assert!(samples.iter().any(|(_, p, eta)| *p < 99.0 && eta.is_some()), "an ETA while reading: {samples:?}");
    w.stop().await;
}

/// Data keys with their values and index sets with their sorted members.
async fn live_content(state: &AppState, ds: i64) -> Vec<(String, String)> {
    let mut conn = raw_redis().await;
    let mut out = Vec::new();
    for key in snapshot(state, ds, true).await.into_keys().filter(|k| !k.contains("cache:meta:")) {
        let kind: String = redis::cmd("TYPE").arg(&key).query_async(&mut conn).await.unwrap();
        let value = if kind == "set" {
            let mut m: Vec<String> = redis::cmd("SMEMBERS").arg(&key).query_async(&mut conn).await.unwrap();
            m.sort();
            m.join("|")
        } else {
            redis::cmd("GET").arg(&key).query_async(&mut conn).await.unwrap()
        };
        out.push((key, value));
    }
    out
}

/// Thousands of one-row groups: with one entry per write batch (HEARTH_WARM_BATCH_ENTRIES=1) a
/// warm takes seconds, long enough to act on it mid-way.
fn big_grid(g: &str) -> Vec<Row> {
    let practices: Vec<i64> = (1..=100).collect();
    grid(
        g,
        &["Charges", "Visits", "Cash Transfer", "Payments", "Cancellations"],
        &practices,
        &[Some(1), Some(2), Some(3), None],
        &["Monthly", "Weekly"],
        1,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pause_and_resume_give_the_same_result_and_cancel_changes_nothing() {
    let dir = TempDir::new("control");
    let pool = sqlite_pool(&dir.0).await;
    create_table(&pool, "ga", &big_grid("A")).await;
    create_table(&pool, "gb", &big_grid("B")).await;
    let (ds_a, ds_b) = (random_ds(), random_ds());
    let sources = sources_file(&dir, &[(ds_a, "ga"), (ds_b, "gb")]);
    let state = state_with("control", &[("HEARTH_SOURCES", &sources), ("HEARTH_WARM_BATCH_ENTRIES", "1")]);
    let _cleanup = cleanup_on_drop(&state, &[ds_a, ds_b]);
    let w = workers(&state);
    let app = hearth::server::router(state.clone());

    // Uninterrupted.
    let first = service::request_warm(&state, &req(ds_a), "tester", "api").await.unwrap().job_id.unwrap();
    wait_for(&state, &first, "first warm", Duration::from_secs(60), |j| j.status.is_terminal()).await;
    let uninterrupted = live_content(&state, ds_a).await;

    // Paused mid-way, resumed: the same cache. A full warm (an unchanged source's incremental
    // re-warm can end before the pause reaches it).
    let full = WarmRequest { full: Some(true), ..req(ds_a) };
    let second = service::request_warm(&state, &full, "tester", "api").await.unwrap().job_id.unwrap();
    wait_for(&state, &second, "reading", Duration::from_secs(30), |j| {
        j.rows_processed > 0 && j.status == JobStatus::Warming
    })
    .await;
    let r = post_json(&app, &format!("/api/admin/analytics/cache/jobs/{second}/pause"), None, &json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let paused = wait_for(&state, &second, "pause", Duration::from_secs(10), |j| j.status == JobStatus::Paused).await;
    assert_eq!(paused.paused_reason.as_deref(), Some("paused by an administrator"));
    tokio::time::sleep(Duration::from_millis(800)).await;
    let still = service::job(&state, &second).await.unwrap();
    assert_eq!(still.status, JobStatus::Paused);
    assert_eq!(still.rows_processed, paused.rows_processed, "no rows while paused");
    let lock: Option<String> =
        redis::cmd("GET").arg(state.keys.lock(ds_a)).query_async(&mut raw_redis().await).await.unwrap();
    assert!(lock.is_some(), "the lock stays alive while paused");
    let r = post_json(&app, &format!("/api/admin/analytics/cache/jobs/{second}/resume"), None, &json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let done = wait_for(&state, &second, "completion", Duration::from_secs(60), |j| j.status.is_terminal()).await;
    assert_eq!(done.status, JobStatus::Completed, "{done:?}");
    assert_eq!(live_content(&state, ds_a).await, uninterrupted);

    // Cancelled mid-way: the live cache stays byte for byte, no shadows remain.
    let before = snapshot(&state, ds_a, true).await;
    let dir_b = sources_file(&dir, &[(ds_a, "gb")]);
    let swapped = state_with(
        "control",
        &[("HEARTH_SOURCES", &dir_b), ("HEARTH_KEY_PREFIX", state.keys.prefix()), ("HEARTH_WARM_BATCH_ENTRIES", "1")],
    );
    let third = service::request_warm(&swapped, &req(ds_a), "tester", "api").await.unwrap().job_id.unwrap();
    let w_swapped = workers(&swapped);
    wait_for(&state, &third, "reading", Duration::from_secs(30), |j| j.rows_processed > 0).await;
    let r = post_json(&app, &format!("/api/admin/analytics/cache/jobs/{third}/cancel"), None, &json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let cancelled = wait_for(&state, &third, "cancellation", Duration::from_secs(30), |j| j.status.is_terminal()).await;
    assert_eq!(cancelled.status, JobStatus::Cancelled);
    assert_eq!(snapshot(&state, ds_a, true).await, before);
    assert!(snapshot(&state, ds_a, false).await.keys().all(|k| !k.contains(":run:")), "shadows remain");

    // A queued job is simply removed: no worker ever sees it.
    w.stop().await;
    w_swapped.stop().await;
    let queued = store::enqueue(
        &state,
        &store::NewJob {
            datasource_id: ds_b,
            datasource_name: "B",
            requested_by: "tester",
            reason: None,
            trigger: "api",
            full: false,
        },
    )
    .await
    .unwrap();
    let store::Enqueued::New(id) = queued else { panic!("a new job") };
    let j = service::cancel(&state, &id, "tester", None).await.unwrap();
    assert_eq!(j.status, JobStatus::Cancelled);
    assert!(service::status(&state).await.unwrap().active_jobs.is_empty());
}

#[test]
fn a_killed_instance_is_noticed_and_its_job_fails_as_worker_lost() {
    let rt_b = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let dir = TempDir::new("kill");
    let ds = random_ds();
    let (a, b, sources) = rt_b.block_on(async {
        let pool = sqlite_pool(&dir.0).await;
        create_table(&pool, "g", &big_grid("A")).await;
        let sources = sources_file(&dir, &[(ds, "g")]);
        let vars =
            [("HEARTH_WARM_BATCH_ENTRIES", "1"), ("HEARTH_WORKER_LOST_SECS", "3"), ("HEARTH_LOCK_TTL_MS", "60000")];
        let (a, b) = two_instances("kill", &sources, &vars);
        (a, b, sources)
    });
    let _cleanup = cleanup_on_drop(&a, &[ds]);
    // Instance A runs in its own runtime, which the test will drop mid-warm: no cleanup runs.
    let rt_a = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let id = rt_b.block_on(service::request_warm(&b, &req(ds), "tester", "api")).unwrap().job_id.unwrap();
    let (stop_a, rx_a) = tokio::sync::watch::channel(false);
    rt_a.spawn(worker::run(a.clone(), rx_a));
    rt_b.block_on(wait_for(&b, &id, "A to be warming", Duration::from_secs(30), |j| j.rows_processed > 0));
    rt_a.shutdown_background();
    drop(stop_a);
    let killed_at = Instant::now();

    rt_b.block_on(async {
        let wb = workers(&b);
        let failed = wait_for(&b, &id, "the sweep", Duration::from_secs(20), |j| j.status.is_terminal()).await;
        let noticed = killed_at.elapsed();
        assert_eq!(failed.status, JobStatus::Failed);
        assert!(failed.error.as_deref().unwrap().contains("worker lost"), "{failed:?}");
        assert!(noticed < Duration::from_secs(10), "noticed after {noticed:?}");
        // The sweep marks the job failed first (that is its claim on it), then frees the lock and
        // walks the keyspace for the run's shadows: give that a moment on a busy Redis.
        let mut conn = raw_redis().await;
        let released = Instant::now();
        loop {
            let lock: Option<String> = redis::cmd("GET").arg(b.keys.lock(ds)).query_async(&mut conn).await.unwrap();
            let shadows = snapshot(&b, ds, false).await.keys().filter(|k| k.contains(":run:")).count();
            if lock.is_none() && shadows == 0 {
                break;
            }
            assert!(
                released.elapsed() < Duration::from_secs(10),
                "lock {lock:?} and {shadows} shadow keys still there"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let again = service::request_warm(&b, &req(ds), "tester", "api").await.unwrap().job_id.unwrap();
        let done = wait_for(&b, &again, "a new warm", Duration::from_secs(60), |j| j.status.is_terminal()).await;
        assert_eq!(done.status, JobStatus::Completed, "{done:?}");
        let _ = &sources;
        wb.stop().await;
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_memory_guard_pauses_a_warm_and_resumes_it_when_the_ceiling_rises() {
    // A Redis of its own, so no other test moves its memory.
    let redis = PrivateRedis::start(&["--maxmemory-policy", "noeviction"]);
    let url = redis.url();
    let dir = TempDir::new("guard");
    let pool = sqlite_pool(&dir.0).await;
    create_table(&pool, "g", &big_grid("A")).await;
    let ds = random_ds();
    let state = state_with(
        "guard",
        &[
            ("HEARTH_SOURCES", &sources_file(&dir, &[(ds, "g")])),
            ("HEARTH_REDIS_URL", &url),
            ("HEARTH_WARM_BATCH_ENTRIES", "1"),
        ],
    );
    let app = hearth::server::router(state.clone());
    let mut conn = redis::Client::open(url.as_str()).unwrap().get_multiplexed_async_connection().await.unwrap();
    let info: String = redis::cmd("INFO").arg("memory").query_async(&mut conn).await.unwrap();
    let used: u64 = info.lines().find_map(|l| l.strip_prefix("used_memory:")).unwrap().trim().parse().unwrap();
    // A configured ceiling Redis already fills beyond 85 %.
    let low = (used * 21 / 20).max(1 << 20);
    let r = send(
        &app,
        http::Request::put("/api/admin/analytics/cache/warming/settings")
            .header("content-type", "application/json")
            .body(axum::body::Body::from(json!({"memoryCeilingBytes": low}).to_string()))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let w = workers(&state);
    let id = service::request_warm(&state, &req(ds), "tester", "api").await.unwrap().job_id.unwrap();
    let paused = wait_for(&state, &id, "the guard", Duration::from_secs(20), |j| j.status == JobStatus::Paused).await;
    assert!(paused.paused_reason.as_deref().unwrap().contains("memory guard"), "{paused:?}");
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(service::job(&state, &id).await.unwrap().status, JobStatus::Paused);
    // An admin's resume does not override the guard.
    assert_eq!(service::resume(&state, &id, "tester").await.unwrap_err().code, hearth::error::ErrorCode::Conflict);
    // Raise the ceiling: the warm goes on by itself.
    let raised = hearth::jobs::settings::update(
        &state,
        &hearth::model::jobs::WarmingSettingsInput { memory_ceiling_bytes: Some(used * 1000), ..Default::default() },
        "tester",
    )
    .await
    .unwrap();
    assert_eq!(raised.memory_ceiling_bytes, Some(used * 1000));
    let done = wait_for(&state, &id, "completion", Duration::from_secs(60), |j| j.status.is_terminal()).await;
    assert_eq!(done.status, JobStatus::Completed, "{done:?}");
    assert_eq!(done.paused_reason, None);
    // Redis's own maxmemory is the ceiling when none is configured.
    hearth::jobs::settings::update(
        &state,
        &hearth::model::jobs::WarmingSettingsInput { memory_ceiling_bytes: Some(0), ..Default::default() },
        "tester",
    )
    .await
    .unwrap();
    assert_eq!(hearth::jobs::settings::get(&state).await.unwrap().memory_ceiling_bytes, None);
    let bad = hearth::jobs::settings::update(
        &state,
        &hearth::model::jobs::WarmingSettingsInput { memory_resume_percent: Some(95), ..Default::default() },
        "tester",
    )
    .await;
    assert_eq!(bad.unwrap_err().code, hearth::error::ErrorCode::ValidationError);
    w.stop().await;
    drop(conn);
}

/// Moves a schedule's next run into the past, as if time had passed.
async fn make_due(state: &AppState, id: &str, ago_ms: i64) {
    let mut conn = raw_redis().await;
    let raw: String = redis::cmd("HGET").arg(state.keys.schedules()).arg(id).query_async(&mut conn).await.unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&raw).unwrap();
    v["nextRunAt"] = json!(hearth::time::now_ms() - ago_ms);
    let _: () =
        redis::cmd("HSET").arg(state.keys.schedules()).arg(id).arg(v.to_string()).query_async(&mut conn).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn schedules_fire_exactly_once_skip_while_active_and_catch_up_once() {
    let dir = TempDir::new("schedules");
    let pool = sqlite_pool(&dir.0).await;
    create_table(&pool, "g", &grid("A", &["Visits"], &[1], &[Some(1)], &["Monthly"], 2)).await;
    let ds = random_ds();
    let (a, b) = two_instances("schedules", &sources_file(&dir, &[(ds, "g")]), &[]);
    let _cleanup = cleanup_on_drop(&a, &[ds]);
    let s = schedules::create(
        &a,
        &ScheduleInput { datasource_id: Some(source(ds)), every_hours: Some(6), ..Default::default() },
        "tester",
    )
    .await
    .unwrap();
    assert!(s.next_run_at.is_some() && s.enabled);
    assert_eq!(s.description, "Every 6 hours");

    // Due once, both instances check at the same moment: one job.
    make_due(&a, &s.id, 1000).await;
    let now = hearth::time::now_ms();
    let (fa, fb) = tokio::join!(schedules::tick(&a, now), schedules::tick(&b, now));
    assert_eq!(fa.unwrap() + fb.unwrap(), 1);
    let status = service::status(&a).await.unwrap();
    assert_eq!(status.active_jobs.len(), 1);
    assert_eq!(status.active_jobs[0].trigger, format!("schedule:{}", s.id));

    // Due again while that job is still queued: skipped, not stacked.
    make_due(&a, &s.id, 1000).await;
    assert_eq!(schedules::tick(&b, hearth::time::now_ms()).await.unwrap(), 1);
    assert_eq!(service::status(&a).await.unwrap().active_jobs.len(), 1);
    let listed = schedules::list(&a).await.unwrap();
    assert!(listed[0].last_result.as_deref().unwrap().starts_with("skipped: job"), "{listed:?}");

    // Finish the job, then a downtime spanning five due times of an every-minute cron: one run.
    let w = workers(&a);
    let id = status.active_jobs[0].job_id.clone();
    wait_for(&a, &id, "the scheduled warm", Duration::from_secs(30), |j| j.status.is_terminal()).await;
    let every_minute =
        schedules::update(&a, &s.id, &ScheduleInput { cron: Some("* * * * *".into()), ..Default::default() }, "tester")
            .await
            .unwrap();
    assert!(every_minute.description.to_lowercase().contains("minute"), "{}", every_minute.description);
    make_due(&a, &s.id, 5 * 60_000 + 5000).await;
    let now = hearth::time::now_ms();
    assert_eq!(schedules::tick(&a, now).await.unwrap() + schedules::tick(&b, now).await.unwrap(), 1);
    assert_eq!(schedules::tick(&a, now).await.unwrap(), 0, "the missed runs fired once");
    let after = schedules::list(&a).await.unwrap().remove(0);
    assert!(hearth::time::parse_iso_ms(after.next_run_at.as_deref().unwrap()).unwrap() > now);

    // Disabled schedules never fire; deleted ones are gone.
    schedules::update(&a, &s.id, &ScheduleInput { enabled: Some(false), ..Default::default() }, "tester")
        .await
        .unwrap();
    make_due(&a, &s.id, 1000).await;
    assert_eq!(schedules::tick(&a, hearth::time::now_ms()).await.unwrap(), 0);
    schedules::delete(&a, &s.id, "tester", None).await.unwrap();
    assert!(schedules::list(&a).await.unwrap().is_empty());
    w.stop().await;
}

#[tokio::test]
async fn bad_input_is_refused_and_nothing_is_queued() {
    let dir = TempDir::new("badjobs");
    let pool = sqlite_pool(&dir.0).await;
    create_table(&pool, "g", &grid("A", &["Visits"], &[1], &[Some(1)], &["Monthly"], 1)).await;
    let ds = random_ds();
    let state = state_with("badjobs", &[("HEARTH_SOURCES", &sources_file(&dir, &[(ds, "g")]))]);
    let _cleanup = crate::common::fixtures::cleanup_on_drop(&state, &[]);
    let app = hearth::server::router(state.clone());
    for (body, status) in [
        (json!({"datasourceId": 987654321}), StatusCode::NOT_FOUND),
        (json!({"datasourceId": -1}), StatusCode::BAD_REQUEST),
        (json!({"datasourceId": "one"}), StatusCode::BAD_REQUEST),
        (json!({"datasourceId": 1.5}), StatusCode::BAD_REQUEST),
    ] {
        let r = post_json(&app, "/api/admin/analytics/cache/warm", None, &body).await;
        assert_eq!(r.status, status, "{body}: {}", r.text);
        assert_eq!(r.body["success"], false);
    }
    for (body, status) in [
        (json!({"datasourceId": ds, "cron": "every tuesday"}), StatusCode::BAD_REQUEST),
        (json!({"datasourceId": ds, "cron": "* * * * *", "everyHours": 2}), StatusCode::BAD_REQUEST),
        (json!({"datasourceId": ds, "everyHours": 0}), StatusCode::BAD_REQUEST),
        (json!({"datasourceId": ds}), StatusCode::BAD_REQUEST),
        (json!({"datasourceId": 987654321, "everyHours": 1}), StatusCode::NOT_FOUND),
    ] {
        let r = post_json(&app, "/api/admin/analytics/cache/schedules", None, &body).await;
        assert_eq!(r.status, status, "{body}: {}", r.text);
    }
    let r = post_json(&app, "/api/admin/analytics/cache/jobs/jdoesnotexist/cancel", None, &json!({})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = post_json(&app, "/api/admin/analytics/cache/jobs/not-a-job!/pause", None, &json!({})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = get(&app, "/api/admin/analytics/cache/jobs/jnothing", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = get(&app, "/api/admin/analytics/cache/warming/status", None).await;
    assert_eq!(r.body["data"]["activeJobs"], json!([]), "nothing was queued");
    assert!(schedules::list(&state).await.unwrap().is_empty());
}

#[tokio::test]
async fn warming_routes_refuse_the_wrong_caller() {
    let state = jwt_state("jobs-auth");
    let _cleanup = crate::common::fixtures::cleanup_on_drop(&state, &[]);
    let app = hearth::server::router(state);
    let reader = token(SECRET, "reader", &["settings:read:all"], 600);
    let writer = token(SECRET, "writer", &["settings:write:all"], 600);
    for path in [
        "/api/admin/analytics/cache/warm",
        "/api/admin/analytics/cache/jobs/jx/pause",
        "/api/admin/analytics/cache/schedules",
        "/api/admin/analytics/cache/schedules/s1/run",
    ] {
        assert_eq!(post_json(&app, path, None, &json!({})).await.status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(post_json(&app, path, Some(&reader), &json!({})).await.status, StatusCode::FORBIDDEN, "{path}");
    }
    for path in
        ["/api/admin/analytics/cache/warming/status", "/api/admin/analytics/cache/schedules", "/rpc/jobs/status"]
    {
        assert_eq!(get(&app, path, Some(&writer)).await.body["code"], "FORBIDDEN", "{path}");
    }
    assert_eq!(get(&app, "/api/admin/analytics/cache/warming/status", Some(&reader)).await.status, StatusCode::OK);
}

#[tokio::test]
async fn ids_reasons_and_actions_are_refused_where_they_are_read_with_the_field_named() {
    let state = state_with("inputs", &[]);
    let _cleanup = crate::common::fixtures::cleanup_on_drop(&state, &[]);
    let app = hearth::server::router(state.clone());
    let long = "x".repeat(501);
    for (uri, body, needle) in [
        ("/api/admin/analytics/cache/warm", json!({"datasourceId": 0}), "positive integer"),
        ("/api/admin/analytics/cache/invalidate", json!({"datasourceId": -4, "dryRun": true}), "positive integer"),
        ("/api/admin/analytics/cache/schedules", json!({"datasourceId": -1, "everyHours": 1}), "positive integer"),
        ("/api/admin/analytics/cache/warm", json!({"reason": long}), "longer than 500"),
        ("/api/admin/redis/purge", json!({"pattern": "x:*", "preview": true, "reason": long}), "longer than 500"),
    ] {
        let r = post_json(&app, uri, None, &body).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{uri} {body}: {}", r.text);
        assert!(r.body["error"].as_str().unwrap().contains(needle), "{uri}: {}", r.text);
    }
    // The same rules hold for the console's server functions.
    for (uri, form, needle) in [
        ("/rpc/jobs/warm", "request[datasourceId]=0".to_string(), "positive integer"),
        ("/rpc/jobs/control", "job_id=j1&action=explode".to_string(), "explode"),
        ("/rpc/schedules/act", "id=s1&action=twice".to_string(), "twice"),
        ("/rpc/cache/invalidate", format!("request[datasourceId]=3&request[reason]={long}"), "longer than 500"),
    ] {
        let request = http::Request::post(uri)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("sec-fetch-site", "same-origin")
            .body(axum::body::Body::from(form))
            .unwrap();
        let r = send(&app, request).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{uri}: {}", r.text);
        assert!(r.text.contains(needle), "{uri}: {}", r.text);
    }
    cleanup(&state).await;
}

/// The active list is read in steps (the queue and the running set, then each job) while workers
/// claim and finish jobs. A job a worker claimed between the two reads is still listed, with the
/// running ones; one finished between them is not listed as active; none is listed twice.
#[tokio::test]
async fn a_job_claimed_or_finished_while_the_active_list_is_read_is_listed_as_it_now_is() {
    use hearth::jobs::record::Field;
    let state = state_with("jobs-active-read", &[("HEARTH_MAX_CONCURRENT_WARMS", "4")]);
    let new = |ds: i64| store::NewJob {
        datasource_id: ds,
        datasource_name: "race",
        requested_by: "tester",
        reason: None,
        trigger: "api",
        full: false,
    };
    let id = |e: store::Enqueued| match e {
        store::Enqueued::New(id) => id,
        _ => panic!("a new job"),
    };
    let (claimed, waiting, finished) = (random_ds(), random_ds(), random_ds());
    let finished_id = id(store::enqueue(&state, &new(finished)).await.unwrap());
    assert_eq!(store::claim(&state).await.unwrap().as_deref(), Some(finished_id.as_str()));
    let claimed_id = id(store::enqueue(&state, &new(claimed)).await.unwrap());
    let waiting_id = id(store::enqueue(&state, &new(waiting)).await.unwrap());

    // As the reads can find them: the first queued job already warming though still in the
    // queue as read (the claim ran between the two reads), and the running job already completed.
    store::set_fields(&state, &claimed_id, &[(Field::Status, JobStatus::Warming.as_str().into())]).await.unwrap();
    store::set_fields(&state, &finished_id, &[(Field::Status, JobStatus::Completed.as_str().into())]).await.unwrap();
    let listed: Vec<(String, JobStatus)> =
        store::active(&state).await.unwrap().into_iter().map(|r| (r.job.job_id, r.job.status)).collect();
    assert_eq!(listed, vec![(waiting_id.clone(), JobStatus::Queued), (claimed_id.clone(), JobStatus::Warming)]);

    // Claimed for real (now in the running set too): listed once.
    store::set_fields(&state, &claimed_id, &[(Field::Status, JobStatus::Queued.as_str().into())]).await.unwrap();
    assert_eq!(store::claim(&state).await.unwrap().as_deref(), Some(claimed_id.as_str()));
    let listed: Vec<String> = store::active(&state).await.unwrap().into_iter().map(|r| r.job.job_id).collect();
    assert_eq!(listed, vec![waiting_id, claimed_id]);
    cleanup(&state).await;
}
