//! Warms under stress: zero downtime while readers query, failed and cancelled warms that leave
//! the live cache byte-for-byte unchanged, and the lock that lets one warm run and never deletes
//! another owner's lock.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use crate::common::fixtures::*;
use crate::common::*;
use hearth::cache::query::{CacheQuery, query};
use hearth::cache::warm::{NoHooks, Stop, WarmFailure, WarmHooks, WarmProgress, lock_token, warm};
use hearth::error::ErrorCode;

fn generation(g: &str, only: &str) -> Vec<Row> {
    let mut rows =
        grid(g, &["Charges", "Visits"], &[1, 2, 3, 4, 5, 6], &[Some(10), Some(11), None], &["Monthly", "Weekly"], 4);
    rows.extend(grid(g, &[only], &[1], &[Some(10)], &["Monthly"], 2));
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn transaction_cutover_never_exposes_mixed_generations() {
    never_mixed("transaction").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn script_cutover_never_exposes_mixed_generations() {
    never_mixed("script").await;
}

async fn never_mixed(method: &str) {
    let dir = TempDir::new("zero-downtime");
    let pool = sqlite_pool(&dir.0).await;
    create_table(&pool, "gen_a", &generation("A", "OnlyA")).await;
    create_table(&pool, "gen_b", &generation("B", "OnlyB")).await;
    let state = state_with("zero-downtime", &[("HEARTH_WARM_BATCH_ENTRIES", "7"), ("HEARTH_CUTOVER", method)]);
    let ds = random_ds();
    let _cleanup = cleanup_on_drop(&state, &[ds]);
    let (a, b) = (sqlite_def(&pool, ds, "gen_a"), sqlite_def(&pool, ds, "gen_b"));
    warm(&state, &a, "first", &lock_token("test", "zd"), &NoHooks).await.unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let (queries, problems) = (Arc::new(AtomicU64::new(0)), Arc::new(std::sync::Mutex::new(Vec::<String>::new())));
    let mut readers = Vec::new();
    for reader in 0..4u64 {
        let (state, stop, queries, problems) = (state.clone(), stop.clone(), queries.clone(), problems.clone());
        readers.push(tokio::spawn(async move {
            let mut i = reader;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let q = CacheQuery {
                    datasource_id: ds,
                    measure: if i % 2 == 0 { "Charges".into() } else { "Visits".into() },
                    frequency: if i % 3 == 0 { "Weekly".into() } else { "Monthly".into() },
                    practices: if i % 4 == 0 {
                        vec![]
                    } else {
                        vec![(1 + i % 6).to_string(), (1 + (i + 2) % 6).to_string()]
                    },
                    providers: if i % 5 == 0 { vec!["10".into(), "*".into()] } else { vec![] },
                };
                match query(&state, &q).await {
                    Ok(answer) if !answer.hit => problems.lock().unwrap().push(format!("miss on {q:?}")),
                    Ok(answer) => {
                        let gens = generations(&answer.rows_json);
                        if gens.len() != 1 {
                            problems.lock().unwrap().push(format!("generations {gens:?} in one answer to {q:?}"));
                        }
                    }
                    Err(e) => problems.lock().unwrap().push(format!("error {}", e.message)),
                }
                queries.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for i in 0..20 {
        let def = if i % 2 == 0 { &b } else { &a };
        let outcome =
            warm(&state, def, &format!("run{i}"), &lock_token("test", "zd"), &NoHooks).await.expect("warm succeeds");
        // Re-warms are incremental (a diff transaction) unless the cutover must be a script.
        let expected = if method == "transaction" { "diff" } else { method };
        assert_eq!(outcome.cutover.method, expected);
    }
    stop.store(true, Ordering::Relaxed);
    for r in readers {
        r.await.unwrap();
    }
    let problems = problems.lock().unwrap().clone();
    assert!(problems.is_empty(), "{} problems, first: {:?}", problems.len(), problems.first());
    assert!(
        queries.load(Ordering::Relaxed) > 200,
        "readers ran concurrently: {} queries",
        queries.load(Ordering::Relaxed)
    );

    // The last warm was A: B's own entry and every index set pointing to it are gone.
    let live = snapshot(&state, ds, true).await;
    assert!(live.keys().all(|k| !k.contains("OnlyB")), "stale B keys remain");
    assert!(live.keys().any(|k| k.contains("OnlyA")));
    assert!(smembers(&state.keys.master(ds)).await.iter().all(|m| !m.contains("OnlyB")));
    warm(&state, &b, "last", &lock_token("test", "zd"), &NoHooks).await.unwrap();
    let live = snapshot(&state, ds, true).await;
    assert!(live.keys().all(|k| !k.contains("OnlyA")), "stale A keys remain after B's cutover");
}

/// Rows of practice 30 raise an integer overflow when read: the stream fails after about 2,000
/// rows (two read batches), once shadow entries have been written.
async fn failing_view(pool: &sqlx::SqlitePool) {
    let practices: Vec<i64> = (1..=40).collect();
    create_table(
        pool,
        "big_b",
        &grid("B", &["Charges"], &practices, &[Some(10), Some(11), None], &["Monthly", "Weekly"], 12),
    )
    .await;
    sqlx::raw_sql(
        "CREATE VIEW failing AS SELECT measure, practice_uid, provider_uid, frequency, date_index,
           CASE WHEN practice_uid = 30 THEN abs(-9223372036854775807 - 1) ELSE measure_value END AS measure_value,
           generation FROM big_b",
    )
    .execute(pool)
    .await
    .unwrap();
}

fn no_shadows(keys: &std::collections::BTreeMap<String, Vec<u8>>) -> bool {
    keys.keys().all(|k| !k.contains(":run:") && !k.contains(":scan:"))
}

#[tokio::test]
async fn a_warm_failing_midway_leaves_the_live_cache_unchanged() {
    let dir = TempDir::new("failing");
    let pool = sqlite_pool(&dir.0).await;
    create_table(&pool, "gen_a", &generation("A", "OnlyA")).await;
    create_table(&pool, "gen_b", &generation("B", "OnlyB")).await;
    failing_view(&pool).await;
    let state = state_with("failing", &[("HEARTH_WARM_BATCH_ENTRIES", "5")]);
    let ds = random_ds();
    let _cleanup = cleanup_on_drop(&state, &[ds]);
    warm(&state, &sqlite_def(&pool, ds, "gen_a"), "good", &lock_token("test", "f"), &NoHooks).await.unwrap();
    let before = snapshot(&state, ds, true).await;

    struct CountBatches(AtomicU64);
    impl WarmHooks for CountBatches {
        fn progress(&self, p: &WarmProgress) {
            self.0.store(p.entries, Ordering::SeqCst);
        }
    }
    let seen = CountBatches(AtomicU64::new(0));
    let failure =
        warm(&state, &sqlite_def(&pool, ds, "failing"), "bad", &lock_token("test", "f"), &seen).await.unwrap_err();
    let WarmFailure::Failed(e) = failure else { panic!("expected a failure") };
    assert_eq!(e.code, ErrorCode::SourceUnavailable, "{}", e.message);
    let written = seen.0.load(Ordering::SeqCst);
    assert!(written >= 100, "shadow batches were written before the failure ({written} entries)");

    let after = snapshot(&state, ds, true).await;
    assert_eq!(before, after, "the live cache changed");
    assert!(no_shadows(&snapshot(&state, ds, false).await));
    let lock: Option<String> =
        redis::cmd("GET").arg(state.keys.lock(ds)).query_async(&mut raw_redis().await).await.unwrap();
    assert_eq!(lock, None);
}

struct CancelAfter(AtomicU64, u64);

impl WarmHooks for CancelAfter {
    async fn between_batches(&self, _p: &WarmProgress) -> Result<(), Stop> {
        if self.0.fetch_add(1, Ordering::SeqCst) + 1 >= self.1 { Err(Stop::Cancelled) } else { Ok(()) }
    }
}

#[tokio::test]
async fn a_cancelled_warm_leaves_the_live_cache_unchanged() {
    let dir = TempDir::new("cancel");
    let pool = sqlite_pool(&dir.0).await;
    create_table(&pool, "gen_a", &generation("A", "OnlyA")).await;
    create_table(&pool, "gen_b", &generation("B", "OnlyB")).await;
    let state = state_with("cancel", &[("HEARTH_WARM_BATCH_ENTRIES", "5")]);
    let ds = random_ds();
    let _cleanup = cleanup_on_drop(&state, &[ds]);
    warm(&state, &sqlite_def(&pool, ds, "gen_a"), "good", &lock_token("test", "c"), &NoHooks).await.unwrap();
    let before = snapshot(&state, ds, true).await;
    let result = warm(
        &state,
        &sqlite_def(&pool, ds, "gen_b"),
        "cancelled",
        &lock_token("test", "c"),
        &CancelAfter(AtomicU64::new(0), 3),
    )
    .await;
    assert!(matches!(result, Err(WarmFailure::Cancelled)));
    assert_eq!(before, snapshot(&state, ds, true).await);
    assert!(no_shadows(&snapshot(&state, ds, false).await));
}

struct Hold(tokio::sync::Notify, AtomicBool);

impl WarmHooks for Hold {
    async fn between_batches(&self, _p: &WarmProgress) -> Result<(), Stop> {
        if !self.1.swap(true, Ordering::SeqCst) {
            self.0.notified().await;
        }
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_warm_of_the_same_source_does_not_start() {
    let dir = TempDir::new("two-warms");
    let pool = sqlite_pool(&dir.0).await;
    create_table(&pool, "gen_a", &generation("A", "OnlyA")).await;
    let state = state_with("two-warms", &[("HEARTH_WARM_BATCH_ENTRIES", "5")]);
    let ds = random_ds();
    let _cleanup = cleanup_on_drop(&state, &[ds]);
    let def = sqlite_def(&pool, ds, "gen_a");
    let hold = Arc::new(Hold(tokio::sync::Notify::new(), AtomicBool::new(false)));
    let first = {
        let (state, def, hold) = (state.clone(), def.clone(), hold.clone());
        tokio::spawn(
            async move { warm(&state, &def, "first", &lock_token("job:first", "node-a"), hold.as_ref()).await },
        )
    };
    // Wait until the first warm holds the lock and is parked between batches.
    for _ in 0..200 {
        if hold.1.load(Ordering::SeqCst) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let second = warm(&state, &def, "second", &lock_token("job:second", "node-b"), &NoHooks).await.unwrap_err();
    let WarmFailure::Failed(e) = second else { panic!("expected a refusal") };
    assert_eq!(e.code, ErrorCode::Conflict);
    assert!(e.message.contains("job first on node-a"), "{}", e.message);
    hold.0.notify_one();
    let outcome = first.await.unwrap().expect("the first warm completes");
    assert_eq!(outcome.run_id, "first");
}

#[tokio::test]
async fn a_lock_held_by_someone_else_is_never_deleted() {
    let dir = TempDir::new("foreign-lock");
    let pool = sqlite_pool(&dir.0).await;
    create_table(&pool, "gen_a", &generation("A", "OnlyA")).await;
    let state = state_with("foreign-lock", &[]);
    let ds = random_ds();
    let _cleanup = cleanup_on_drop(&state, &[ds]);
    let mut conn = raw_redis().await;
    let _: () = redis::cmd("SET")
        .arg(state.keys.lock(ds))
        .arg("command-center-42")
        .arg("PX")
        .arg(60_000)
        .query_async(&mut conn)
        .await
        .unwrap();
    let refused =
        warm(&state, &sqlite_def(&pool, ds, "gen_a"), "r", &lock_token("test", "x"), &NoHooks).await.unwrap_err();
    assert!(matches!(refused, WarmFailure::Failed(ref e) if e.code == ErrorCode::Conflict));
    let lock: Option<String> = redis::cmd("GET").arg(state.keys.lock(ds)).query_async(&mut conn).await.unwrap();
    assert_eq!(lock.as_deref(), Some("command-center-42"));
}

struct StealLock {
    lock_key: String,
    stolen: AtomicBool,
}

impl WarmHooks for StealLock {
    async fn between_batches(&self, _p: &WarmProgress) -> Result<(), Stop> {
        if !self.stolen.swap(true, Ordering::SeqCst) {
            let mut conn = raw_redis().await;
            let _: () = redis::cmd("SET")
                .arg(&self.lock_key)
                .arg("intruder")
                .arg("PX")
                .arg(60_000)
                .query_async(&mut conn)
                .await
                .unwrap();
            // Long enough for a heartbeat to notice.
            tokio::time::sleep(Duration::from_millis(900)).await;
        }
        Ok(())
    }
}

#[tokio::test]
async fn a_warm_that_loses_its_lock_stops_and_leaves_the_new_owner_alone() {
    let dir = TempDir::new("lost-lock");
    let pool = sqlite_pool(&dir.0).await;
    create_table(&pool, "gen_a", &generation("A", "OnlyA")).await;
    let state = state_with("lost-lock", &[("HEARTH_WARM_BATCH_ENTRIES", "5"), ("HEARTH_LOCK_TTL_MS", "1500")]);
    let ds = random_ds();
    let _cleanup = cleanup_on_drop(&state, &[ds]);
    let hooks = StealLock { lock_key: state.keys.lock(ds), stolen: AtomicBool::new(false) };
    let failure =
        warm(&state, &sqlite_def(&pool, ds, "gen_a"), "victim", &lock_token("test", "x"), &hooks).await.unwrap_err();
    let WarmFailure::Failed(e) = failure else { panic!("expected a failure") };
    assert!(e.message.contains("lock was lost"), "{}", e.message);
    let mut conn = raw_redis().await;
    let lock: Option<String> = redis::cmd("GET").arg(state.keys.lock(ds)).query_async(&mut conn).await.unwrap();
    assert_eq!(lock.as_deref(), Some("intruder"));
    assert!(snapshot(&state, ds, true).await.is_empty(), "nothing went live");
}
