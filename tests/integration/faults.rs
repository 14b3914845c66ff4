//! Faults injected mid-warm (issue 14, point 3): the source database's connection killed while it
//! streams, and Redis itself stopped and started again. Each time the live cache is byte for byte
//! what it was, the failure says what happened in words, and after recovery (the next warm) no
//! shadow key of the failed run is left.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use http::StatusCode;

use crate::common::fixtures::*;
use crate::common::*;
use hearth::cache::warm::{NoHooks, Stop, WarmFailure, WarmHooks, WarmProgress, lock_token, warm};
use hearth::error::ErrorCode;
use hearth::jobs::record::NewJob;
use hearth::source::{Db, GroupColumns, SourceDef, SourceKind};

/// Every key of the (private) Redis at `url` with its content, read by type (not DUMP: a restart
/// may load a set in another encoding, with other DUMP bytes for the same members); `live_only`
/// keeps the live cache's keys.
async fn dump_all(url: &str, live_only: bool) -> BTreeMap<String, String> {
    let mut conn = redis::Client::open(url).unwrap().get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query_async(&mut conn).await.unwrap();
    let mut out = BTreeMap::new();
    for k in keys {
        let live = k.starts_with("cache:") || k.starts_with("idx:");
        if live_only && !live {
            continue;
        }
        let kind: String = redis::cmd("TYPE").arg(&k).query_async(&mut conn).await.unwrap();
        let content = match kind.as_str() {
            "string" => redis::cmd("GET").arg(&k).query_async::<String>(&mut conn).await.unwrap(),
            "set" => {
                let members: std::collections::BTreeSet<String> =
                    redis::cmd("SMEMBERS").arg(&k).query_async(&mut conn).await.unwrap();
                format!("{members:?}")
            }
            "hash" => {
                let fields: BTreeMap<String, String> =
                    redis::cmd("HGETALL").arg(&k).query_async(&mut conn).await.unwrap();
                format!("{fields:?}")
            }
            other => format!("({other})"),
        };
        out.insert(k, format!("{kind}: {content}"));
    }
    out
}

fn pg_def(schema: &PgSchema, ds: i64) -> SourceDef {
    SourceDef {
        id: ds,
        name: "Fault source".into(),
        description: None,
        kind: SourceKind::MeasureBased,
        schema: schema.name.clone(),
        table: "m".into(),
        columns: GroupColumns::with_period("frequency"),
        db: Db::Postgres(schema.pool.clone()),
    }
}

/// Terminates the source's streaming query (from another connection) at the second batch.
struct KillSourceConnection {
    batches: AtomicU64,
    admin: sqlx::PgPool,
    schema: String,
    killed: AtomicU64,
}

impl WarmHooks for KillSourceConnection {
    async fn between_batches(&self, _p: &WarmProgress) -> Result<(), Stop> {
        if self.batches.fetch_add(1, Ordering::SeqCst) == 1 {
            let sql = "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
                       WHERE pid <> pg_backend_pid() AND state = 'active' AND query LIKE '%' || $1 || '%' AND query NOT LIKE '%pg_stat_activity%'";
            let n: i64 = sqlx::query_scalar(sql).bind(&self.schema).fetch_one(&self.admin).await.unwrap();
            self.killed.store(n as u64, Ordering::SeqCst);
        }
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_source_connection_killed_mid_stream_fails_the_warm_and_keeps_the_live_cache() {
    let schema = PgSchema::new("fault_pg").await;
    // 600 groups of 60 rows with a wide column: ~9 MB, far more than the socket buffers hold, so
    // the stream is still being read when its backend is terminated.
    let table = |generation: &str| {
        format!(
            "DROP TABLE IF EXISTS \"{0}\".m; CREATE TABLE \"{0}\".m AS
               SELECT 'M' || (g % 3) AS measure, (g / 3)::int AS practice_uid, NULL::int AS provider_uid,
                      'Monthly' AS frequency, r AS row_no, '{generation}' AS generation, repeat('x', 200) AS pad
               FROM generate_series(0, 599) g, generate_series(1, 60) r;",
            schema.name
        )
    };
    schema.exec(&table("A")).await;
    let state = state_with("fault-pg", &[("HEARTH_WARM_BATCH_ENTRIES", "20")]);
    let ds = random_ds();
    let _cleanup = cleanup_on_drop(&state, &[ds]);
    let def = pg_def(&schema, ds);
    let first = warm(&state, &def, "pg1", &lock_token("test", "pg"), &NoHooks).await.expect("first warm");
    assert_eq!(first.entries, 600);
    let before = snapshot(&state, ds, true).await;

    schema.exec(&table("B")).await;
    let hooks = KillSourceConnection {
        batches: AtomicU64::new(0),
        admin: sqlx::PgPool::connect(&database_url()).await.unwrap(),
        schema: schema.name.clone(),
        killed: AtomicU64::new(0),
    };
    let failure = warm(&state, &def, "pg2", &lock_token("test", "pg"), &hooks).await.expect_err("the stream was cut");
    assert!(hooks.killed.load(Ordering::SeqCst) >= 1, "the streaming backend was found and terminated");
    let WarmFailure::Failed(e) = failure else { panic!("a failure, not a cancellation") };
    assert_eq!(e.code, ErrorCode::SourceUnavailable, "{}", e.message);
    assert!(
        e.message.contains("Fault source") || e.message.contains(&ds.to_string()),
        "names the source: {}",
        e.message
    );
    assert!(e.message.contains("closed the connection"), "says what happened: {}", e.message);

    assert_eq!(snapshot(&state, ds, true).await, before, "the live cache changed");
    assert!(shadow_keys(&snapshot(&state, ds, false).await).is_empty(), "the failed run's shadows were removed");
    let lock: Option<String> =
        redis::cmd("GET").arg(state.keys.lock(ds)).query_async(&mut raw_redis().await).await.unwrap();
    assert_eq!(lock, None, "the lock is free");

    // Recovery: the next warm (a new connection from the pool) publishes generation B whole.
    let again = warm(&state, &def, "pg3", &lock_token("test", "pg"), &NoHooks).await.expect("the next warm");
    assert_eq!(again.entries, 600);
    let after = snapshot(&state, ds, true).await;
    assert_ne!(after, before);
    let sample = state.keys.key(&hearth::cache::keys::Keys::data_name(ds, "M0", "0", None, "Monthly"));
    let json: String = redis::cmd("GET").arg(&sample).query_async(&mut raw_redis().await).await.unwrap();
    assert_eq!(generations(&json), ["B".to_string()].into_iter().collect());
}

/// A private Redis keeping its data under `dir/name` (so a restart on the same `--dir` finds it),
/// and a state on it with short timeouts and a 1 s lock lease: a failed warm's lock expires soon.
fn restartable_redis(
    dir: &TempDir,
    name: &str,
    extra: &[(&str, &str)],
) -> (PrivateRedis, String, hearth::state::AppState) {
    let data = dir.0.join(name);
    std::fs::create_dir_all(&data).unwrap();
    let data_dir = data.to_string_lossy().to_string();
    let redis = PrivateRedis::start(&["--dir", &data_dir]);
    let url = redis.url();
    let vars = [
        ("HEARTH_REDIS_URL", url.as_str()),
        ("HEARTH_KEY_PREFIX", ""),
        ("HEARTH_REDIS_TIMEOUT_MS", "500"),
        ("HEARTH_REDIS_BULK_TIMEOUT_MS", "2000"),
        ("HEARTH_LOCK_TTL_MS", "1000"),
    ];
    let state = state_with("fault-redis", &[&vars[..], extra].concat());
    (redis, data_dir, state)
}

/// Stops Redis (saving its data, as a restart of a persistent Redis would keep it) at the third
/// batch and lets the warm run on against nothing.
struct StopRedis {
    batches: AtomicU64,
    url: String,
    stopped: Mutex<bool>,
}

impl WarmHooks for StopRedis {
    async fn between_batches(&self, _p: &WarmProgress) -> Result<(), Stop> {
        if self.batches.fetch_add(1, Ordering::SeqCst) == 2 {
            let mut conn =
                redis::Client::open(self.url.as_str()).unwrap().get_multiplexed_async_connection().await.unwrap();
            let _: Result<(), _> = redis::cmd("SHUTDOWN").arg("SAVE").query_async(&mut conn).await;
            *self.stopped.lock().unwrap() = true;
        }
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_stopped_mid_warm_fails_it_and_after_a_restart_the_live_cache_is_intact_and_the_next_warm_cleans_up() {
    let dir = TempDir::new("fault-redis");
    let pool = sqlite_pool(&dir.0).await;
    let rows_a = grid("A", &["Charges", "Visits"], &[1, 2, 3, 4, 5, 6], &[Some(10), None], &["Monthly", "Weekly"], 3);
    let rows_b = grid("B", &["Charges", "Visits"], &[1, 2, 3, 4, 5, 6], &[Some(10), None], &["Monthly", "Weekly"], 3);
    create_table(&pool, "gen_a", &rows_a).await;
    create_table(&pool, "gen_b", &rows_b).await;
    let (redis, data_dir, state) = restartable_redis(&dir, "redis", &[("HEARTH_WARM_BATCH_ENTRIES", "4")]);
    let url = redis.url();
    let app = hearth::server::router(state.clone());
    let ds = random_ds();
    warm(&state, &sqlite_def(&pool, ds, "gen_a"), "r1", &lock_token("test", "r"), &NoHooks).await.expect("first warm");
    let before = dump_all(&url, true).await;
    assert!(before.len() > 20);

    let hooks = StopRedis { batches: AtomicU64::new(0), url: url.clone(), stopped: Mutex::new(false) };
    let failure = warm(&state, &sqlite_def(&pool, ds, "gen_b"), "r2", &lock_token("test", "r"), &hooks)
        .await
        .expect_err("Redis went away");
    assert!(*hooks.stopped.lock().unwrap());
    let WarmFailure::Failed(e) = failure else { panic!("a failure, not a cancellation") };
    assert!(
        e.message.contains("Redis is not reachable") || e.message.contains("Redis did not answer in time"),
        "says what happened: {}",
        e.message
    );
    // Other pages report the outage.
    let r = get(&app, "/readyz", None).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text);
    assert!(r.body["reason"].as_str().unwrap_or_default().contains("Redis"), "{}", r.text);

    // Started again on its data: the live cache is what it was, and Hearth sees Redis again.
    drop(redis);
    let _redis = PrivateRedis::start_at(url.rsplit(':').next().unwrap().parse().unwrap(), &["--dir", &data_dir]);
    assert_eq!(dump_all(&url, true).await, before, "the live cache changed");
    let mut ready = StatusCode::SERVICE_UNAVAILABLE;
    for _ in 0..50 {
        ready = get(&app, "/readyz", None).await.status;
        if ready == StatusCode::OK {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(ready, StatusCode::OK, "readiness recovers");

    // Recovery: once the stopped warm's lock has expired, the next warm discards its shadows and
    // publishes generation B; nothing of the failed run remains.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let mut outcome = None;
    for _ in 0..20 {
        match warm(&state, &sqlite_def(&pool, ds, "gen_b"), "r3", &lock_token("test", "r"), &NoHooks).await {
            Ok(o) => {
                outcome = Some(o);
                break;
            }
            Err(e) => {
                let WarmFailure::Failed(e) = e else { panic!("cancelled") };
                assert!(e.message.contains("Redis") || e.code == ErrorCode::Conflict, "{}", e.message);
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
    let outcome = outcome.expect("a warm succeeds after the restart");
    assert_eq!(outcome.entries as usize, expected_entries(&rows_b).len());
    let after = dump_all(&url, false).await;
    assert!(shadow_keys(&after).is_empty(), "orphan shadows: {:?}", shadow_keys(&after));
    assert_ne!(dump_all(&url, true).await, before);
}

/// A `hearth` process of its own (the binary this test run built), serving and warming under
/// `state`'s prefix; killed with SIGKILL when dropped, if still alive.
struct HearthProcess {
    child: std::process::Child,
    port: u16,
}

impl HearthProcess {
    fn start(state: &hearth::state::AppState, sources: &str, extra: &[(&str, &str)]) -> HearthProcess {
        let base = [("HEARTH_SOURCES", sources), ("HEARTH_LOG", "warn")];
        HearthProcess::serve(state.keys.prefix(), &[&base[..], extra].concat())
    }

    /// Serving under `prefix` on a free port, on the shared test Redis unless `vars` name
    /// another (later settings win).
    fn serve(prefix: &str, vars: &[(&str, &str)]) -> HearthProcess {
        // A port the system just handed out (a random one could be a test cluster's bus port).
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let bind = format!("127.0.0.1:{port}");
        let redis = redis_url();
        let base =
            [("HEARTH_BIND", bind.as_str()), ("HEARTH_REDIS_URL", redis.as_str()), ("HEARTH_KEY_PREFIX", prefix)];
        let child = hearth_command(&[&base[..], vars].concat())
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("the hearth binary starts");
        HearthProcess { child, port }
    }
}

impl Drop for HearthProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_killed_with_sigkill_mid_warm_is_noticed_by_another_which_frees_the_lock_and_warms() {
    use hearth::jobs::{service, worker};
    use hearth::model::jobs::JobStatus;
    let dir = TempDir::new("fault-kill");
    let pool = sqlite_pool(&dir.0).await;
    let practices: Vec<i64> = (1..=200).collect();
    let rows =
        |g: &str| grid(g, &["Charges", "Visits", "Payments"], &practices, &[Some(1), Some(2), None], &["Monthly"], 1);
    create_table(&pool, "g", &rows("A")).await;
    let ds = random_ds();
    let sources = sources_file(&dir, &[(ds, "g")]);
    let timing = [("HEARTH_WARM_BATCH_ENTRIES", "1"), ("HEARTH_WORKER_LOST_SECS", "3"), ("HEARTH_LOCK_TTL_MS", "2000")];
    let b = state_with("fault-kill", &[&[("HEARTH_SOURCES", sources.as_str())], &timing[..]].concat());
    let _cleanup = cleanup_on_drop(&b, &[ds]);
    // Generation A is live; the killed warm was writing generation B.
    warm(&b, &sqlite_def(&pool, ds, "g"), "k1", &lock_token("test", "kill"), &NoHooks).await.expect("first warm");
    let before = snapshot(&b, ds, true).await;
    sqlx::query("DROP TABLE g").execute(&pool).await.unwrap();
    create_table(&pool, "g", &rows("B")).await;

    let job = NewJob {
        datasource_id: ds,
        datasource_name: "Fixture g",
        requested_by: "tester",
        reason: None,
        trigger: "manual",
        full: false,
    };
    let hearth::jobs::store::Enqueued::New(id) = hearth::jobs::store::enqueue(&b, &job).await.unwrap() else {
        panic!("a new job")
    };
    // Instance A, a process of its own, takes the job; it is killed once it is writing.
    let mut a = HearthProcess::start(&b, &sources, &timing);
    let started = std::time::Instant::now();
    loop {
        let j = service::job(&b, &id).await.unwrap();
        if j.rows_processed > 0 {
            assert_eq!(j.status, JobStatus::Warming, "{j:?}");
            break;
        }
        assert!(a.child.try_wait().unwrap().is_none(), "instance A exited early");
        assert!(started.elapsed() < Duration::from_secs(60), "A never started warming: {j:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    a.child.kill().unwrap();
    a.child.wait().unwrap();

    // Instance B notices (heartbeat silent for 3 s), fails the job in words, frees the lock and
    // removes the run's shadows; the live cache never changed.
    let (stop, rx) = tokio::sync::watch::channel(false);
    let workers = tokio::spawn(worker::run(b.clone(), rx));
    let failed =
        wait_for(&b, &id, "the sweep to fail the job", Duration::from_secs(90), |j| j.status.is_terminal()).await;
    assert_eq!(failed.status, JobStatus::Failed, "{failed:?}");
    assert!(failed.error.as_deref().unwrap_or_default().contains("worker lost"), "{failed:?}");
    assert_eq!(snapshot(&b, ds, true).await, before, "the live cache changed");
    let mut conn = raw_redis().await;
    let freed = std::time::Instant::now();
    loop {
        let lock: Option<String> = redis::cmd("GET").arg(b.keys.lock(ds)).query_async(&mut conn).await.unwrap();
        let all = snapshot(&b, ds, false).await;
        if lock.is_none() && shadow_keys(&all).is_empty() {
            break;
        }
        assert!(freed.elapsed() < Duration::from_secs(15), "lock {lock:?}, shadows {:?}", shadow_keys(&all));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // B warms the source itself: generation B goes live.
    let again = service::request_warm(
        &b,
        &hearth::model::jobs::WarmRequest {
            datasource_id: Some(source(ds)),
            force: Some(true),
            reason: Some(reason("after the kill")),
            full: None,
        },
        "tester",
        "api",
    )
    .await
    .unwrap()
    .job_id
    .unwrap();
    let done = wait_for(&b, &again, "the new warm", Duration::from_secs(120), |j| j.status.is_terminal()).await;
    assert_eq!(done.status, JobStatus::Completed, "{done:?}");
    let key = b.keys.key(&hearth::cache::keys::Keys::data_name(ds, "Visits", "7", None, "Monthly"));
    let json: String = redis::cmd("GET").arg(&key).query_async(&mut conn).await.unwrap();
    assert_eq!(generations(&json), ["B".to_string()].into_iter().collect());
    let _ = stop.send(true);
    let _ = workers.await;
}

/// Shuts Redis down (saving) `delay_ms` after the warm enters its cutover, from another thread:
/// the shutdown lands before, during or after the atomic step.
struct StopAtCutover {
    port: u16,
    delay_ms: u64,
    fired: std::sync::atomic::AtomicBool,
}

impl WarmHooks for StopAtCutover {
    fn progress(&self, p: &WarmProgress) {
        if p.phase == hearth::model::cache::WarmPhase::Cutover && !self.fired.swap(true, Ordering::SeqCst) {
            let (port, delay) = (self.port, self.delay_ms);
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(delay));
                let _ = std::process::Command::new("redis-cli")
                    .args(["-p", &port.to_string(), "shutdown", "save"])
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .status();
            });
        }
    }
}

/// The live data entries (not the metadata, whose times differ between runs) and whether the
/// master index lists exactly them.
async fn live_entries(url: &str) -> (BTreeMap<String, String>, bool) {
    let all = dump_all(url, true).await;
    let entries: BTreeMap<String, String> =
        all.iter().filter(|(k, _)| k.starts_with("cache:{")).map(|(k, v)| (k.clone(), v.clone())).collect();
    let master = all.iter().find(|(k, _)| k.ends_with(":master")).map(|(_, v)| v.clone()).unwrap_or_default();
    let listed = entries.keys().all(|k| master.contains(&format!("\"{k}\"")))
        && master.matches("\"cache:").count() == entries.len();
    (entries, listed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restarted_during_the_cutover_leaves_the_old_generation_or_the_whole_new_one() {
    let dir = TempDir::new("fault-cutover");
    let pool = sqlite_pool(&dir.0).await;
    let rows =
        |g: &str| grid(g, &["Charges", "Visits"], &[1, 2, 3, 4, 5], &[Some(10), None], &["Monthly", "Weekly"], 2);
    create_table(&pool, "gen_a", &rows("A")).await;
    create_table(&pool, "gen_b", &rows("B")).await;
    let mut outcomes = Vec::new();
    for delay_ms in [0, 1, 3, 6] {
        let (redis, data_dir, state) = restartable_redis(&dir, &format!("redis-{delay_ms}"), &[]);
        let url = redis.url();
        let ds = random_ds();
        warm(&state, &sqlite_def(&pool, ds, "gen_a"), "c1", &lock_token("test", "c"), &NoHooks)
            .await
            .expect("first warm");
        let (a_entries, a_listed) = live_entries(&url).await;
        assert!(a_listed && !a_entries.is_empty());

        let hooks = StopAtCutover { port: redis.port, delay_ms, fired: std::sync::atomic::AtomicBool::new(false) };
        let result = warm(&state, &sqlite_def(&pool, ds, "gen_b"), "c2", &lock_token("test", "c"), &hooks).await;
        if let Err(WarmFailure::Failed(e)) = &result {
            assert!(e.message.contains("Redis"), "says what happened: {}", e.message);
        }
        // Wait for the shutdown to finish, then start again on the saved data.
        let port = redis.port;
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        drop(redis);
        let _redis = PrivateRedis::start_at(port, &["--dir", &data_dir]);
        let (after, listed) = live_entries(&url).await;
        assert!(listed, "delay {delay_ms} ms: the master index and the entries disagree");

        // Recovery: a clean warm of generation B, once the interrupted one's lock has expired.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let mut recovered = false;
        for _ in 0..20 {
            if warm(&state, &sqlite_def(&pool, ds, "gen_b"), "c3", &lock_token("test", "c"), &NoHooks).await.is_ok() {
                recovered = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert!(recovered, "delay {delay_ms} ms: a warm succeeds after the restart");
        let (b_entries, _) = live_entries(&url).await;
        assert_ne!(a_entries, b_entries);
        let kind = if after == a_entries {
            "old generation"
        } else if after == b_entries {
            "new generation"
        } else {
            panic!("delay {delay_ms} ms: after the restart the live cache is neither generation (a mix)")
        };
        assert!(shadow_keys(&dump_all(&url, false).await).is_empty(), "delay {delay_ms} ms: shadows left");
        outcomes.push(format!("{delay_ms} ms: {kind} ({})", if result.is_ok() { "warm ok" } else { "warm failed" }));
    }
    println!("shutdown during the cutover: {}", outcomes.join("; "));
}

/// The status line of a plain HTTP/1.1 GET to a local port, with extra headers.
fn http_status(port: u16, path: &str, headers: &[(&str, &str)]) -> Option<u16> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let extra: String = headers.iter().map(|(k, v)| format!("{k}: {v}\r\n")).collect();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{extra}Connection: close\r\n\r\n").ok()?;
    let mut reply = String::new();
    stream.read_to_string(&mut reply).ok()?;
    reply.split_whitespace().nth(1)?.parse().ok()
}

/// SIGTERM while an audit entry cannot be written yet (Redis has paused writes): Hearth waits
/// for the write before it exits, so the refusal it answered is in the trail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_waits_for_audit_entries_still_being_written() {
    let redis = PrivateRedis::start(&[]);
    let url = redis.url();
    let prefix = unique_prefix("sigterm");
    let mut hearth = HearthProcess::serve(&prefix, &[("HEARTH_REDIS_URL", &url), ("HEARTH_LOG", "error")]);
    let port = hearth.port;
    let mut up = false;
    for _ in 0..200 {
        if http_status(port, "/healthz", &[]) == Some(200) {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(up, "hearth answered /healthz");

    let mut conn = redis::Client::open(url.as_str()).unwrap().get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("CLIENT").arg("PAUSE").arg(1500).arg("WRITE").query_async(&mut conn).await.unwrap();
    // Dev mode refuses a request that came through a proxy: a refusal, audited.
    let status = http_status(port, "/api/admin/analytics/cache/stats", &[("X-Forwarded-For", "203.0.113.9")]);
    assert_eq!(status, Some(403));
    let _ = std::process::Command::new("kill").args(["-TERM", &hearth.child.id().to_string()]).status();
    let mut exited = None;
    for _ in 0..300 {
        if let Some(code) = hearth.child.try_wait().unwrap() {
            exited = Some(code);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let Some(code) = exited else {
        panic!("hearth did not exit within 15 s of SIGTERM");
    };
    assert!(code.success(), "{code:?}");
    let trail: Vec<redis::Value> = redis::cmd("XRANGE")
        .arg(hearth::cache::keys::Keys::new(&prefix).audit_log())
        .arg("-")
        .arg("+")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(trail.len(), 1, "the refusal answered before SIGTERM is in the trail");
    assert!(format!("{trail:?}").contains("access_refused"), "{trail:?}");
}

/// A run's lock is released through a Redis that refuses the first tries (here: the script
/// commands denied to Hearth's user for a moment, as a failover refuses them): the release tries
/// again and deletes it, so the next warm need not wait out the lease. A Redis that keeps
/// refusing gets four tries, then the lock is left to its lease, still held by its owner.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_release_refused_for_a_moment_is_tried_again_and_one_refused_for_good_leaves_the_lease() {
    use hearth::cache::lock::WarmLock;

    let redis = PrivateRedis::start(&[]);
    let url = redis.url();
    let state = state_with("fault-lock", &[("HEARTH_REDIS_URL", url.as_str()), ("HEARTH_REDIS_TIMEOUT_MS", "500")]);
    let mut admin = redis::Client::open(url.as_str()).unwrap().get_multiplexed_async_connection().await.unwrap();
    let deny = |on: bool| {
        let mut cmd = redis::cmd("ACL");
        cmd.arg("SETUSER").arg("default").arg(if on { "-@scripting" } else { "+@scripting" });
        cmd
    };
    let ds = random_ds();
    let key = state.keys.lock(ds);
    let lease = Duration::from_secs(30);

    let lock = WarmLock::acquire(&state.redis, &state.keys, ds, "job:release-test@here", lease).await.unwrap();
    let _: () = deny(true).query_async(&mut admin).await.unwrap();
    let lifted = {
        let mut admin = admin.clone();
        let allow = deny(false);
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let _: () = allow.query_async(&mut admin).await.unwrap();
        })
    };
    let released = lock.release().await;
    lifted.await.unwrap();
    assert!(released.expect("released on a later try"), "the lock was ours and is deleted");
    let holder: Option<String> = redis::cmd("GET").arg(&key).query_async(&mut admin).await.unwrap();
    assert_eq!(holder, None);

    let lock = WarmLock::acquire(&state.redis, &state.keys, ds, "job:release-test-2@here", lease).await.unwrap();
    let _: () = deny(true).query_async(&mut admin).await.unwrap();
    let refused = lock.release().await.expect_err("refused on every try");
    assert!(refused.message.contains("releasing the warm lock"), "{}", refused.message);
    let _: () = deny(false).query_async(&mut admin).await.unwrap();
    let holder: Option<String> = redis::cmd("GET").arg(&key).query_async(&mut admin).await.unwrap();
    assert_eq!(holder.as_deref(), Some("job:release-test-2@here"), "left to its lease");
    let ttl: i64 = redis::cmd("PTTL").arg(&key).query_async(&mut admin).await.unwrap();
    assert!(ttl > 0 && ttl <= lease.as_millis() as i64, "expires with its lease: {ttl} ms");
}

/// A private Redis (no key prefix) and a state on it whose requests may take 1 s and whose Redis
/// commands 30 s: a stalled Redis then meets the request limit first.
fn one_second_requests(name: &str) -> (PrivateRedis, hearth::state::AppState) {
    let redis = PrivateRedis::start(&[]);
    let url = redis.url();
    let vars = [
        ("HEARTH_REDIS_URL", url.as_str()),
        ("HEARTH_KEY_PREFIX", ""),
        ("HEARTH_REQUEST_TIMEOUT_SECS", "1"),
        ("HEARTH_REDIS_TIMEOUT_MS", "30000"),
    ];
    let state = state_with(name, &vars);
    (redis, state)
}

/// A request still running at `HEARTH_REQUEST_TIMEOUT_SECS` (here: Redis stalled by CLIENT PAUSE
/// for longer than the limit, and Hearth's Redis timeout longer still) is stopped and answered
/// 408 in its caller's format: the envelope for the REST API, the server function error (with its
/// header) for `/rpc`. Once Redis answers again, so does Hearth.
#[tokio::test]
async fn a_request_over_the_time_limit_is_answered_408_in_the_callers_format() {
    let (redis, state) = one_second_requests("deadline");
    let url = redis.url();
    let app = hearth::server::router(state);
    assert_eq!(get(&app, "/api/admin/redis/stats", None).await.status, StatusCode::OK);

    let mut admin = redis::Client::open(url.as_str()).unwrap().get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("CLIENT").arg("PAUSE").arg(4000).arg("ALL").query_async(&mut admin).await.unwrap();
    let r = get(&app, "/api/admin/redis/stats", None).await;
    assert_eq!(r.status, StatusCode::REQUEST_TIMEOUT, "{}", r.text);
    assert_eq!(r.body["success"], false, "{}", r.text);
    assert_eq!(r.body["code"], "REQUEST_TIMEOUT", "{}", r.text);
    assert!(r.body["error"].as_str().unwrap().contains("HEARTH_REQUEST_TIMEOUT_SECS"), "{}", r.text);
    let r = get(&app, "/rpc/redis/overview", None).await;
    assert_eq!(r.status, StatusCode::REQUEST_TIMEOUT, "{}", r.text);
    assert_eq!(r.body["code"], "REQUEST_TIMEOUT", "{}", r.text);
    assert!(r.headers.contains_key(leptos::server_fn::error::SERVER_FN_ERROR_HEADER), "{:?}", r.headers);

    // The pause ends by itself (UNPAUSE would wait behind it too).
    let mut status = StatusCode::REQUEST_TIMEOUT;
    for _ in 0..20 {
        status = get(&app, "/api/admin/redis/stats", None).await.status;
        if status == StatusCode::OK {
            break;
        }
        assert_eq!(status, StatusCode::REQUEST_TIMEOUT);
    }
    assert_eq!(status, StatusCode::OK, "Hearth answers once Redis does");
}

/// An invalidation still running when its request passes `HEARTH_REQUEST_TIMEOUT_SECS` (here:
/// Redis holds every write for 3 s, so the invalidation cannot even take the source's lock in
/// time) goes on to its end: the caller gets 408, and then every live key of the source is gone,
/// its lock is released and the audit trail records the invalidation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalidation_outliving_its_request_goes_on_to_its_end() {
    let dir = TempDir::new("fault-deadline");
    let pool = sqlite_pool(&dir.0).await;
    create_table(&pool, "t", &grid("A", &["Charges", "Visits"], &[1, 2, 3], &[Some(10), None], &["Monthly"], 2)).await;
    let (redis, state) = one_second_requests("fault-deadline");
    let url = redis.url();
    let app = hearth::server::router(state.clone());
    let ds = random_ds();
    warm(&state, &sqlite_def(&pool, ds, "t"), "r1", &lock_token("test", "r"), &NoHooks).await.expect("warm");
    assert!(dump_all(&url, true).await.len() > 12);

    let mut admin = redis::Client::open(url.as_str()).unwrap().get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("CLIENT").arg("PAUSE").arg(3000).arg("WRITE").query_async(&mut admin).await.unwrap();
    let url_path = "/api/admin/analytics/cache/invalidate";
    let r = post_json(&app, url_path, None, &serde_json::json!({"datasourceId": ds, "reason": "deadline test"})).await;
    assert_eq!(r.status, StatusCode::REQUEST_TIMEOUT, "{}", r.text);
    assert_eq!(r.body["code"], "REQUEST_TIMEOUT", "{}", r.text);

    let mut finished = false;
    for _ in 0..100 {
        let live = dump_all(&url, true).await;
        let locked: bool = redis::cmd("EXISTS").arg(state.keys.lock(ds)).query_async(&mut admin).await.unwrap();
        let trail: Vec<redis::Value> =
            redis::cmd("XRANGE").arg(state.keys.audit_log()).arg("-").arg("+").query_async(&mut admin).await.unwrap();
        let recorded = format!("{trail:?}").contains("Invalidated whole cache of 1 source");
        if live.is_empty() && !locked && recorded {
            finished = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(finished, "the invalidation ended: no live key, no lock, an audit entry");
}
