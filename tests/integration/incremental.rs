//! Incremental re-warms: only what changed is written and switched, yet readers still see one
//! generation or the other, never a mix, at 0, 1, 30 and 100 % change with entries added and
//! removed, through many re-warms; afterwards the live layout is exactly a full warm's. And the
//! fallbacks to a full warm, each with its reason, none of which can lose live data.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use crate::common::fixtures::*;
use crate::common::*;
use hearth::cache::keys::Keys;
use hearth::cache::query::{CacheQuery, query};
use hearth::cache::warm::{NoHooks, WarmKind, WarmMode, lock_token, warm, warm_with};
use hearth::state::AppState;

type Group = (String, i64, Option<i64>, String);

/// Version `k` of a source: the base grid with `rate` % of its entries changed from version
/// `k - 1` (a deterministic pick that differs per version), and from version 1 on, one practice
/// added and one removed per version.
fn version(k: usize, rate: u64) -> Vec<Row> {
    let practices: Vec<i64> = (1..=20).collect();
    let mut rows =
        grid("v0", &["Charges", "Visits"], &practices, &[Some(10), Some(11), None], &["Monthly", "Weekly"], 3);
    if k > 0 {
        // Practice 100+k exists only in version k; practice k (1..=20) is missing from it.
        rows.retain(|r| r.practice != k as i64);
        rows.extend(grid(&format!("v{k}"), &["Charges"], &[100 + k as i64], &[Some(10)], &["Monthly"], 2));
    }
    // Entry e carries the marker of the last version j <= k that changed it.
    for r in rows.iter_mut() {
        let e = group_index(r);
        for j in (1..=k).rev() {
            if changed_in(e, j, rate) {
                r.generation = format!("v{j}");
                r.value = format!("{}.{:02}", j, e % 100);
                break;
            }
        }
    }
    rows
}

fn group_index(r: &Row) -> u64 {
    let m = if r.measure == "Charges" { 0 } else { 1 };
    let v = match r.provider {
        Some(10) => 0,
        Some(11) => 1,
        _ => 2,
    };
    let f = if r.frequency == "Monthly" { 0 } else { 1 };
    ((r.practice as u64 * 2 + m) * 3 + v) * 2 + f
}

/// Whether entry `e` changes in version `j`: `rate` % of the entries, a different pick each time.
fn changed_in(e: u64, j: usize, rate: u64) -> bool {
    (e.wrapping_mul(2_654_435_761).wrapping_add(j as u64 * 40_503)) % 100 < rate
}

fn groups(rows: &[Row]) -> BTreeMap<Group, Vec<String>> {
    let mut out: BTreeMap<Group, Vec<String>> = BTreeMap::new();
    for r in rows {
        out.entry((r.measure.clone(), r.practice, r.provider, r.frequency.clone())).or_default().push(row_json(r));
    }
    out
}

/// The rows a query must answer on a version, as sorted canonical JSON.
fn expected_answer(g: &BTreeMap<Group, Vec<String>>, q: &CacheQuery) -> Vec<String> {
    let mut out: Vec<String> = g
        .iter()
        .filter(|((m, p, v, f), _)| {
            *m == q.measure
                && *f == q.frequency
                && (q.practices.is_empty() || q.practices.contains(&p.to_string()))
                && (q.providers.is_empty()
                    || q.providers.contains(&v.map(|v| v.to_string()).unwrap_or_else(|| "*".into())))
        })
        .flat_map(|(_, rows)| rows.iter().map(|r| canonical(r)))
        .collect();
    out.sort();
    out
}

fn canonical(json: &str) -> String {
    serde_json::from_str::<serde_json::Value>(json).unwrap().to_string()
}

fn answer_rows(rows_json: &str) -> Vec<String> {
    let rows: Vec<serde_json::Value> = serde_json::from_str(rows_json).unwrap();
    let mut out: Vec<String> = rows.iter().map(|r| r.to_string()).collect();
    out.sort();
    out
}

fn pick_query(ds: i64, i: u64) -> CacheQuery {
    CacheQuery {
        datasource_id: ds,
        measure: if i.is_multiple_of(2) { "Charges".into() } else { "Visits".into() },
        frequency: if i.is_multiple_of(3) { "Weekly".into() } else { "Monthly".into() },
        practices: match i % 4 {
            0 => vec![],
            1 => vec![(1 + i % 20).to_string(), (1 + (i + 7) % 20).to_string(), (100 + i % 7).to_string()],
            _ => vec![(1 + i % 20).to_string()],
        },
        providers: if i.is_multiple_of(5) { vec!["10".into(), "*".into()] } else { vec![] },
    }
}

/// The live layout must be exactly what a full warm of `rows` writes: data values, index set
/// members, the index list, digests for every entry, and a TTL on every key.
async fn assert_exact(state: &AppState, ds: i64, rows: &[Row]) {
    let mut conn = raw_redis().await;
    let keys = &state.keys;
    let mut want_sets: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut want_data: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for ((m, p, v, f), json) in groups(rows) {
        let (p, v) = (p.to_string(), v.map(|v| v.to_string()));
        let name = Keys::data_name(ds, &m, &p, v.as_deref(), &f);
        for set in [
            Keys::master_name(ds),
            Keys::base_name(ds, &m, &f),
            Keys::practice_name(ds, &m, &p, &f),
            Keys::provider_name(ds, &m, &f, v.as_deref()),
            Keys::full_name(ds, &m, &p, v.as_deref(), &f),
        ] {
            want_sets.entry(set).or_default().insert(name.clone());
        }
        let mut json: Vec<String> = json.iter().map(|j| canonical(j)).collect();
        json.sort();
        want_data.insert(name, json);
    }
    let live = snapshot(state, ds, true).await;
    let prefix = keys.prefix();
    let (mut got_sets, mut got_data) = (BTreeMap::new(), BTreeMap::new());
    for k in live.keys() {
        let name = keys.strip(k).unwrap().to_string();
        let ttl: i64 = redis::cmd("PTTL").arg(k).query_async(&mut conn).await.unwrap();
        assert!(ttl > 0, "{k} has no TTL ({ttl})");
        if name.starts_with("idx:") {
            got_sets.insert(name, smembers(k).await);
        } else if name.starts_with("cache:{") {
            let v: String = redis::cmd("GET").arg(k).query_async(&mut conn).await.unwrap();
            got_data.insert(name, answer_rows(&v));
        }
    }
    assert_eq!(got_data.len(), want_data.len(), "data entries");
    assert!(got_data == want_data, "data values differ from a full warm's");
    assert!(got_sets == want_sets, "index sets differ from a full warm's (prefix {prefix})");
    let list = smembers(&keys.index_list(ds)).await;
    assert_eq!(list, want_sets.keys().cloned().collect::<BTreeSet<_>>(), "the index list");
    let digests: u64 = redis::cmd("HLEN").arg(keys.digests(ds)).query_async(&mut conn).await.unwrap();
    assert_eq!(digests, want_data.len() as u64 + 2, "one digest per entry, plus generation and format");
}

/// (changed, added, removed) between two versions.
fn diff(before: &[Row], after: &[Row]) -> (u64, u64, u64) {
    let (b, a) = (groups(before), groups(after));
    let changed = a.iter().filter(|(k, v)| b.get(*k).is_some_and(|old| old != *v)).count() as u64;
    let added = a.keys().filter(|k| !b.contains_key(*k)).count() as u64;
    let removed = b.keys().filter(|k| !a.contains_key(*k)).count() as u64;
    (changed, added, removed)
}

async fn rewarms_never_mix(rate: u64) {
    const VERSIONS: usize = 8;
    let dir = TempDir::new(&format!("incr-{rate}"));
    let pool = sqlite_pool(&dir.0).await;
    let versions: Vec<Vec<Row>> = (0..=VERSIONS).map(|k| version(k, rate)).collect();
    for (k, rows) in versions.iter().enumerate() {
        create_table(&pool, &format!("v{k}"), rows).await;
    }
    let expected: Arc<Vec<BTreeMap<Group, Vec<String>>>> = Arc::new(versions.iter().map(|v| groups(v)).collect());
    let state = state_with("incremental", &[("HEARTH_WARM_BATCH_ENTRIES", "16"), ("HEARTH_CUTOVER", "transaction")]);
    let ds = random_ds();
    let _cleanup = cleanup_on_drop(&state, &[ds]);
    let token = lock_token("test", "incr");
    let first = warm(&state, &sqlite_def(&pool, ds, "v0"), "g0", &token, &NoHooks).await.unwrap();
    assert_eq!(first.kind, WarmKind::Cold, "a cold source's first warm writes in place");

    // The last version every reader may assume complete; a reader accepts from the version live
    // when it asked up to the one after the version live when it got the answer.
    let current = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let (queries, problems) = (Arc::new(AtomicU64::new(0)), Arc::new(std::sync::Mutex::new(Vec::<String>::new())));
    let mut readers = Vec::new();
    for reader in 0..4u64 {
        let (state, stop, queries, problems, current, expected) =
            (state.clone(), stop.clone(), queries.clone(), problems.clone(), current.clone(), expected.clone());
        readers.push(tokio::spawn(async move {
            let mut i = reader * 1000;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let q = pick_query(ds, i);
                let lo = current.load(Ordering::SeqCst);
                let answer = query(&state, &q).await;
                let hi = (current.load(Ordering::SeqCst) + 1).min(VERSIONS);
                match answer {
                    Ok(a) if !a.hit => problems.lock().unwrap().push(format!("miss on {q:?}")),
                    Ok(a) => {
                        let got = answer_rows(&a.rows_json);
                        if !(lo..=hi).any(|v| expected_answer(&expected[v], &q) == got) {
                            problems
                                .lock()
                                .unwrap()
                                .push(format!("an answer of no single version {lo}..={hi} to {q:?}"));
                        }
                    }
                    Err(e) => problems.lock().unwrap().push(format!("error {}", e.message)),
                }
                queries.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for k in 1..=VERSIONS {
        let outcome = warm(&state, &sqlite_def(&pool, ds, &format!("v{k}")), &format!("g{k}"), &token, &NoHooks)
            .await
            .expect("re-warm succeeds");
        current.store(k, Ordering::SeqCst);
        let (changed, added, removed) = diff(&versions[k - 1], &versions[k]);
        match outcome.kind {
            WarmKind::Incremental { changed: c, added: a, removed: r, unchanged: u } => {
                assert_eq!((c, a, r), (changed, added, removed), "version {k}: the difference written");
                assert_eq!(u + c + a, outcome.entries, "every entry is unchanged, changed or new");
            }
            other => panic!("version {k}: expected an incremental re-warm, got {other:?}"),
        }
        assert_eq!(outcome.cutover.method, "diff");
        assert_eq!(outcome.cutover.entries, changed + added, "only changed and new entries switched");
    }
    stop.store(true, Ordering::Relaxed);
    for r in readers {
        r.await.unwrap();
    }
    let problems = problems.lock().unwrap().clone();
    assert!(problems.is_empty(), "{} problems, first: {:?}", problems.len(), problems.first());
    assert!(queries.load(Ordering::Relaxed) > 100, "readers ran: {}", queries.load(Ordering::Relaxed));
    assert_exact(&state, ds, &versions[VERSIONS]).await;
    let leftovers = snapshot(&state, ds, false).await;
    assert!(leftovers.keys().all(|k| !k.contains(":run:") && !k.contains(":scan:")), "no shadows remain");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn incremental_rewarm_at_0_percent_change_never_mixes_and_ends_exact() {
    rewarms_never_mix(0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn incremental_rewarm_at_1_percent_change_never_mixes_and_ends_exact() {
    rewarms_never_mix(1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn incremental_rewarm_at_30_percent_change_never_mixes_and_ends_exact() {
    rewarms_never_mix(30).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn incremental_rewarm_at_100_percent_change_never_mixes_and_ends_exact() {
    rewarms_never_mix(100).await;
}

async fn full_reason(state: &AppState, def: &hearth::source::SourceDef, run: &str, mode: WarmMode) -> String {
    let outcome = warm_with(state, def, run, &lock_token("test", "fallback"), &NoHooks, mode).await.unwrap();
    match outcome.kind {
        WarmKind::Full(why) => why,
        other => panic!("expected a full warm, got {other:?}"),
    }
}

#[tokio::test]
async fn fallbacks_to_a_full_warm_say_why_and_lose_nothing() {
    let dir = TempDir::new("fallback");
    let pool = sqlite_pool(&dir.0).await;
    let (v0, v1) = (version(0, 30), version(1, 30));
    create_table(&pool, "v0", &v0).await;
    create_table(&pool, "v1", &v1).await;
    let state = state_with("fallback", &[("HEARTH_CUTOVER", "transaction")]);
    let ds = random_ds();
    let _cleanup = cleanup_on_drop(&state, &[ds]);
    let (d0, d1) = (sqlite_def(&pool, ds, "v0"), sqlite_def(&pool, ds, "v1"));
    let mut conn = raw_redis().await;

    // A cold source asked for a full warm gets the shadow copy, with the reason.
    assert!(full_reason(&state, &d0, "f1", WarmMode::Full).await.contains("requested (full: true)"));
    assert_exact(&state, ds, &v0).await;
    assert!(full_reason(&state, &d1, "f2", WarmMode::Full).await.contains("requested (full: true)"));
    assert_exact(&state, ds, &v1).await;

    // No digests (a Hearth that predates them wrote the live generation).
    let _: () = redis::cmd("DEL").arg(state.keys.digests(ds)).query_async(&mut conn).await.unwrap();
    assert!(full_reason(&state, &d0, "f3", WarmMode::Auto).await.contains("no digests"));
    assert_exact(&state, ds, &v0).await;

    // The command center's warmer rewrote the live data and its metadata (no runId).
    let meta = r#"[{"timestamp":"2025-03-31T00:00:00.000Z","uniqueMeasures":2,"uniquePractices":20,"uniqueProviders":2,"uniqueFrequencies":["Monthly","Weekly"],"totalEntries":240}]"#;
    let _: () = redis::cmd("SET").arg(state.keys.meta(ds)).arg(meta).query_async(&mut conn).await.unwrap();
    assert!(full_reason(&state, &d1, "f4", WarmMode::Auto).await.contains("another warmer"));
    assert_exact(&state, ds, &v1).await;

    // Digests of another generation, or of another format.
    let _: () = redis::cmd("HSET")
        .arg(state.keys.digests(ds))
        .arg("#generation")
        .arg("old")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(full_reason(&state, &d0, "f5", WarmMode::Auto).await.contains("another generation"));
    let _: () = redis::cmd("HSET")
        .arg(state.keys.digests(ds))
        .arg("#format")
        .arg("sip-1")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(full_reason(&state, &d1, "f6", WarmMode::Auto).await.contains("format"));
    assert_exact(&state, ds, &v1).await;

    // A live entry that vanished (evicted, expired) under unchanged digests is written again.
    let gone = Keys::data_name(ds, "Visits", "3", None, "Weekly");
    let again = warm(&state, &d1, "f7", &lock_token("test", "fallback"), &NoHooks).await.unwrap();
    assert!(matches!(again.kind, WarmKind::Incremental { changed: 0, added: 0, removed: 0, .. }), "{:?}", again.kind);
    let _: () = redis::cmd("DEL").arg(state.keys.key(&gone)).query_async(&mut conn).await.unwrap();
    let _: () = redis::cmd("SREM").arg(state.keys.master(ds)).arg(&gone).query_async(&mut conn).await.unwrap();
    // The master index no longer agrees with the digests: full, and the entry is back.
    assert!(full_reason(&state, &d1, "f8", WarmMode::Auto).await.contains("digests list"));
    assert_exact(&state, ds, &v1).await;
    let _: () = redis::cmd("DEL").arg(state.keys.key(&gone)).query_async(&mut conn).await.unwrap();
    let healed = warm(&state, &d1, "f9", &lock_token("test", "fallback"), &NoHooks).await.unwrap();
    assert!(matches!(healed.kind, WarmKind::Incremental { changed: 1, .. }), "rewritten: {:?}", healed.kind);
    assert_exact(&state, ds, &v1).await;
}

#[tokio::test]
async fn a_slice_invalidation_makes_the_next_warm_full_and_restores_the_slice() {
    let dir = TempDir::new("inv-incr");
    let pool = sqlite_pool(&dir.0).await;
    let v0 = version(0, 0);
    create_table(&pool, "v0", &v0).await;
    let state = state_with("inv-incr", &[("HEARTH_CUTOVER", "transaction")]);
    let ds = random_ds();
    let _cleanup = cleanup_on_drop(&state, &[ds]);
    let d0 = sqlite_def(&pool, ds, "v0");
    warm(&state, &d0, "i1", &lock_token("test", "inv"), &NoHooks).await.unwrap();
    let req = hearth::model::cache::InvalidateRequest {
        datasource_id: Some(source(ds)),
        practice: Some("4".into()),
        ..Default::default()
    };
    hearth::cache::invalidate::invalidate(&state, &req, "tester").await.unwrap();
    // Unchanged digests must not make the warm skip the entries the invalidation removed.
    assert!(full_reason(&state, &d0, "i2", WarmMode::Auto).await.contains("no Hearth generation"));
    assert_exact(&state, ds, &v0).await;
    let whole = hearth::model::cache::InvalidateRequest { datasource_id: Some(source(ds)), ..Default::default() };
    hearth::cache::invalidate::invalidate(&state, &whole, "tester").await.unwrap();
    let left = snapshot(&state, ds, false).await;
    assert!(left.keys().all(|k| !k.ends_with(":digests")), "a whole invalidation removes the digests");
}

#[test]
fn the_job_history_names_the_kind_of_warm() {
    let k = WarmKind::Incremental { changed: 1_200, added: 4, removed: 1, unchanged: 66_956 };
    assert_eq!(k.describe(68_160), "incremental: 1,204 of 68,160 entries changed (4 new, 1 removed)");
    assert_eq!(WarmKind::Full("requested (force=full)".into()).describe(5), "full: requested (force=full)");
}

/// A hot filter per reader, so most answers come from the result cache.
fn hot_query(ds: i64, i: u64) -> CacheQuery {
    pick_query(ds, i % 6)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_result_cache_never_serves_a_superseded_answer() {
    const VERSIONS: usize = 8;
    let dir = TempDir::new("results");
    let pool = sqlite_pool(&dir.0).await;
    let versions: Vec<Vec<Row>> = (0..=VERSIONS).map(|k| version(k, 30)).collect();
    for (k, rows) in versions.iter().enumerate() {
        create_table(&pool, &format!("v{k}"), rows).await;
    }
    let expected: Arc<Vec<BTreeMap<Group, Vec<String>>>> = Arc::new(versions.iter().map(|v| groups(v)).collect());
    let state = state_with("results", &[("HEARTH_CUTOVER", "transaction")]);
    // A second instance on the same Redis and prefix, with its own result cache.
    let prefix = state.keys.prefix().to_string();
    let other = state_with("results", &[("HEARTH_KEY_PREFIX", prefix.as_str())]);
    let ds = random_ds();
    let _cleanup = cleanup_on_drop(&state, &[ds]);
    let token = lock_token("test", "results");
    warm(&state, &sqlite_def(&pool, ds, "v0"), "g0", &token, &NoHooks).await.unwrap();

    let current = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let (queries, problems) = (Arc::new(AtomicU64::new(0)), Arc::new(std::sync::Mutex::new(Vec::<String>::new())));
    let mut readers = Vec::new();
    for reader in 0..4u64 {
        let instance = if reader % 2 == 0 { state.clone() } else { other.clone() };
        let (stop, queries, problems, current, expected) =
            (stop.clone(), queries.clone(), problems.clone(), current.clone(), expected.clone());
        readers.push(tokio::spawn(async move {
            let mut i = reader;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let q = hot_query(ds, i);
                let lo = current.load(Ordering::SeqCst);
                let a = match query(&instance, &q).await {
                    Ok(a) => a,
                    Err(e) => {
                        problems.lock().unwrap().push(format!("error {}", e.message));
                        continue;
                    }
                };
                let version: Option<usize> =
                    a.generation.as_deref().and_then(|g| g.strip_prefix('g')).and_then(|v| v.parse().ok());
                match version {
                    None => problems.lock().unwrap().push(format!("no generation on {q:?}")),
                    Some(v) if v < lo => {
                        problems.lock().unwrap().push(format!("superseded generation {v} after {lo} was live"))
                    }
                    Some(v) if expected_answer(&expected[v], &q) != answer_rows(&a.rows_json) => {
                        problems.lock().unwrap().push(format!("rows of generation {v} are not its own on {q:?}"))
                    }
                    Some(_) => {}
                }
                queries.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for k in 1..=VERSIONS {
        warm(&state, &sqlite_def(&pool, ds, &format!("v{k}")), &format!("g{k}"), &token, &NoHooks).await.unwrap();
        current.store(k, Ordering::SeqCst);
        // Let the readers fill their caches with this generation before the next cutover.
        while queries.load(Ordering::Relaxed) < 200 * k as u64 {
            tokio::task::yield_now().await;
        }
    }
    stop.store(true, Ordering::Relaxed);
    for r in readers {
        r.await.unwrap();
    }
    let problems = problems.lock().unwrap().clone();
    assert!(problems.is_empty(), "{} problems, first: {:?}", problems.len(), problems.first());
    assert!(
        state.query_results.hits() > 100 && other.query_results.hits() > 100,
        "answers came from memory: {} and {}",
        state.query_results.hits(),
        other.query_results.hits()
    );

    // An invalidation: the very next query, in either instance, no longer sees the slice.
    let q = CacheQuery { practices: vec!["5".into()], ..pick_query(ds, 2) };
    for instance in [&state, &other] {
        let before = query(instance, &q).await.unwrap();
        assert!(!answer_rows(&before.rows_json).is_empty());
        let again = query(instance, &q).await.unwrap();
        assert_eq!(again.rows_json, before.rows_json);
    }
    let served = state.query_results.hits();
    let req = hearth::model::cache::InvalidateRequest {
        datasource_id: Some(source(ds)),
        practice: Some("5".into()),
        ..Default::default()
    };
    hearth::cache::invalidate::invalidate(&state, &req, "tester").await.unwrap();
    for instance in [&state, &other] {
        let after = query(instance, &q).await.unwrap();
        assert!(after.hit, "still warm");
        assert_eq!(after.rows_json, "[]", "the invalidated slice is gone from every instance at once");
    }
    assert_eq!(state.query_results.hits(), served, "nothing served from memory after the invalidation");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_job_records_which_kind_of_warm_ran_and_why() {
    use hearth::jobs::{service, worker};
    use hearth::model::jobs::{JobStatus, WarmRequest};
    let dir = TempDir::new("job-kind");
    let pool = sqlite_pool(&dir.0).await;
    create_table(&pool, "m", &version(0, 0)).await;
    let ds = random_ds();
    let state = state_with("job-kind", &[("HEARTH_SOURCES", &sources_file(&dir, &[(ds, "m")]))]);
    let _cleanup = cleanup_on_drop(&state, &[ds]);
    let (tx, rx) = tokio::sync::watch::channel(false);
    let workers = tokio::spawn(worker::run(state.clone(), rx));
    let req =
        WarmRequest { datasource_id: Some(source(ds)), force: Some(true), reason: Some(reason("test")), full: None };
    let full = WarmRequest { full: Some(true), ..req.clone() };
    let mut kinds = Vec::new();
    for req in [&req, &req, &full] {
        let id = service::request_warm(&state, req, "tester", "api").await.unwrap().job_id.unwrap();
        let started = std::time::Instant::now();
        let job = loop {
            let job = service::job(&state, &id).await.unwrap();
            if job.status.is_terminal() {
                break job;
            }
            assert!(started.elapsed() < std::time::Duration::from_secs(60), "job did not finish: {job:?}");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        };
        assert_eq!(job.status, JobStatus::Completed, "{job:?}");
        let cutover = job.cutover_ms.unwrap_or_else(|| panic!("a finished warm reports its cutover time: {job:?}"));
        assert!(cutover >= 0.0 && cutover < job.duration.unwrap_or(0) as f64 + 1.0, "{job:?}");
        kinds.push(job.warm_kind.unwrap_or_default());
    }
    let _ = tx.send(true);
    let _ = workers.await;
    assert_eq!(kinds[0], "first warm: 240 entries written in place, made visible by one switch of the index sets");
    assert_eq!(kinds[1], "incremental: 0 of 240 entries changed (0 new, 0 removed)");
    assert_eq!(kinds[2], "full: requested (full: true)", "a request for a full warm gets one");
}

/// Between batches of a cold source's first warm, what a reader and the keyspace show.
struct ColdProbe {
    state: AppState,
    ds: i64,
    run: String,
    /// Batches seen, and what was wrong at any of them.
    batches: AtomicU64,
    problems: std::sync::Mutex<Vec<String>>,
    /// Stop the warm at this batch (0: never).
    cancel_at: u64,
    /// At the first batch, write a metadata key as a warmer that ignores the lock would.
    intrude: bool,
}

impl ColdProbe {
    fn new(state: &AppState, ds: i64, run: &str) -> Self {
        ColdProbe {
            state: state.clone(),
            ds,
            run: run.into(),
            batches: AtomicU64::new(0),
            problems: std::sync::Mutex::new(Vec::new()),
            cancel_at: 0,
            intrude: false,
        }
    }

    fn problems(&self) -> Vec<String> {
        self.problems.lock().unwrap().clone()
    }
}

const INTRUDER_META: &str = r#"[{"timestamp":"2025-03-31T00:00:00.000Z","uniqueMeasures":1,"uniquePractices":1,"uniqueProviders":0,"uniqueFrequencies":["Monthly"],"totalEntries":1}]"#;

impl hearth::cache::warm::WarmHooks for ColdProbe {
    async fn between_batches(&self, _p: &hearth::cache::warm::WarmProgress) -> Result<(), hearth::cache::warm::Stop> {
        let batch = self.batches.fetch_add(1, Ordering::SeqCst) + 1;
        let (keys, ds) = (&self.state.keys, self.ds);
        let mut conn = raw_redis().await;
        let (master, list, meta): (bool, bool, bool) = redis::pipe()
            .cmd("EXISTS")
            .arg(keys.master(ds))
            .cmd("EXISTS")
            .arg(keys.index_list(ds))
            .cmd("EXISTS")
            .arg(keys.meta(ds))
            .query_async(&mut conn)
            .await
            .unwrap();
        let in_place = snapshot(&self.state, ds, true).await.keys().filter(|k| k.contains("cache:{")).count();
        let shadow_entries = snapshot(&self.state, ds, false)
            .await
            .keys()
            .filter(|k| k.starts_with(keys.shadow(ds, &self.run).prefix()) && k.contains(":cache:{"))
            .count();
        let answer = query(&self.state, &pick_query(ds, batch)).await.unwrap();
        {
            let mut problems = self.problems.lock().unwrap();
            if master || list || meta {
                problems.push(format!("batch {batch}: index sets or metadata are live before the switch"));
            }
            if answer.hit {
                problems.push(format!("batch {batch}: a reader got an answer before the switch"));
            }
            // A batch is in flight while the next is built: from the second on, one has landed.
            if (batch >= 2 && in_place == 0) || shadow_entries > 0 {
                problems.push(format!("batch {batch}: {in_place} entries in place, {shadow_entries} in the shadow"));
            }
        }
        if self.intrude && batch == 1 {
            let _: () = redis::cmd("SET").arg(keys.meta(ds)).arg(INTRUDER_META).query_async(&mut conn).await.unwrap();
        }
        if batch == self.cancel_at { Err(hearth::cache::warm::Stop::Cancelled) } else { Ok(()) }
    }
}

fn nothing_of(snap: &BTreeMap<String, Vec<u8>>) -> Vec<&String> {
    snap.keys().filter(|k| k.contains("cache:{") || k.contains("idx:{") || k.contains(":run:")).collect()
}

#[tokio::test]
async fn a_cold_sources_first_warm_writes_in_place_and_readers_see_nothing_until_the_switch() {
    let dir = TempDir::new("cold");
    let pool = sqlite_pool(&dir.0).await;
    let v0 = version(0, 0);
    create_table(&pool, "v0", &v0).await;
    let state = state_with("cold", &[("HEARTH_WARM_BATCH_ENTRIES", "16")]);
    let ds = random_ds();
    let _cleanup = cleanup_on_drop(&state, &[ds]);
    let probe = ColdProbe::new(&state, ds, "cold1");
    let outcome =
        warm(&state, &sqlite_def(&pool, ds, "v0"), "cold1", &lock_token("test", "cold"), &probe).await.unwrap();
    assert_eq!(outcome.kind, WarmKind::Cold);
    assert!(probe.batches.load(Ordering::SeqCst) >= 5, "the warm ran in several batches");
    assert_eq!(probe.problems(), Vec::<String>::new());
    assert_eq!(outcome.cutover.entries, 240);
    assert_exact(&state, ds, &v0).await;
    let all = snapshot(&state, ds, false).await;
    assert!(all.keys().all(|k| !k.contains(":run:") && !k.contains(":scan:")), "leftovers of the run");
    let answer = query(&state, &pick_query(ds, 2)).await.unwrap();
    assert!(answer.hit, "the switch made the entries visible");
    // The next warm compares against it: the cold warm wrote the digests too.
    let again =
        warm(&state, &sqlite_def(&pool, ds, "v0"), "cold2", &lock_token("test", "cold"), &NoHooks).await.unwrap();
    assert!(matches!(again.kind, WarmKind::Incremental { changed: 0, added: 0, removed: 0, .. }), "{:?}", again.kind);
}

#[tokio::test]
async fn a_cold_first_warm_that_stops_midway_leaves_nothing_behind() {
    let dir = TempDir::new("cold-stop");
    let pool = sqlite_pool(&dir.0).await;
    create_table(&pool, "v0", &version(0, 0)).await;
    let state = state_with("cold-stop", &[("HEARTH_WARM_BATCH_ENTRIES", "16")]);
    let ds = random_ds();
    let _cleanup = cleanup_on_drop(&state, &[ds]);
    let probe = ColdProbe { cancel_at: 4, ..ColdProbe::new(&state, ds, "stopped") };
    let result = warm(&state, &sqlite_def(&pool, ds, "v0"), "stopped", &lock_token("test", "cs"), &probe).await;
    assert!(matches!(result, Err(hearth::cache::warm::WarmFailure::Cancelled)), "{result:?}");
    assert_eq!(probe.problems(), Vec::<String>::new());
    let left = snapshot(&state, ds, false).await;
    assert_eq!(nothing_of(&left), Vec::<&String>::new(), "entries written in place must go with the run");
    let lock: Option<String> =
        redis::cmd("GET").arg(state.keys.lock(ds)).query_async(&mut raw_redis().await).await.unwrap();
    assert_eq!(lock, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abandoned_in_place_run_is_removed_by_the_next_warm_but_never_a_live_entry() {
    let dir = TempDir::new("cold-crash");
    let pool = sqlite_pool(&dir.0).await;
    let (v0, v1) = (version(0, 0), version(1, 30));
    create_table(&pool, "v0", &v0).await;
    create_table(&pool, "v1", &v1).await;
    let state = state_with("cold-crash", &[("HEARTH_WARM_BATCH_ENTRIES", "16")]);
    let ds = random_ds();
    let _cleanup = cleanup_on_drop(&state, &[ds]);

    // An instance dies mid-warm: its task is dropped where it stands, lock and all.
    struct Park(tokio::sync::Notify, AtomicU64);
    impl hearth::cache::warm::WarmHooks for Park {
        async fn between_batches(
            &self,
            _p: &hearth::cache::warm::WarmProgress,
        ) -> Result<(), hearth::cache::warm::Stop> {
            if self.1.fetch_add(1, Ordering::SeqCst) == 3 {
                self.0.notify_one();
                std::future::pending::<()>().await;
            }
            Ok(())
        }
    }
    let park = Arc::new(Park(tokio::sync::Notify::new(), AtomicU64::new(0)));
    let task = {
        let (state, def, park) = (state.clone(), sqlite_def(&pool, ds, "v0"), park.clone());
        tokio::spawn(async move { warm(&state, &def, "dead", &lock_token("test", "dead"), &*park).await.map(|_| ()) })
    };
    park.0.notified().await;
    task.abort();
    let _ = task.await;
    let left = snapshot(&state, ds, false).await;
    assert!(left.keys().any(|k| k.contains("cache:{") && !k.contains(":run:")), "the dead run wrote in place");
    let _: () = redis::cmd("DEL").arg(state.keys.lock(ds)).query_async(&mut raw_redis().await).await.unwrap();

    // The next warm (cold again, of other data) discards the dead run first; the live layout is
    // exactly v1's, with nothing of v0's practice 1 that v1 lacks.
    let outcome =
        warm(&state, &sqlite_def(&pool, ds, "v1"), "next", &lock_token("test", "next"), &NoHooks).await.unwrap();
    assert_eq!(outcome.kind, WarmKind::Cold);
    assert_exact(&state, ds, &v1).await;
    assert!(snapshot(&state, ds, false).await.keys().all(|k| !k.contains(":run:") && !k.contains(":scan:")));

    // A dead in-place run is discarded without touching an entry a generation made live since
    // lists (here one another warmer put in the live master index).
    let park = Arc::new(Park(tokio::sync::Notify::new(), AtomicU64::new(0)));
    let other = random_ds();
    let _cleanup_other = cleanup_on_drop(&state, &[other]);
    let task = {
        let (state, def, park) = (state.clone(), sqlite_def(&pool, other, "v0"), park.clone());
        tokio::spawn(async move { warm(&state, &def, "dead2", &lock_token("test", "dead"), &*park).await.map(|_| ()) })
    };
    park.0.notified().await;
    task.abort();
    let _ = task.await;
    let mut conn = raw_redis().await;
    let written: Vec<String> = redis::cmd("SMEMBERS")
        .arg(state.keys.shadow(other, "dead2").of(&Keys::master_name(other)))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(written.len() >= 32, "{} entries written", written.len());
    let kept = &written[0];
    let _: () = redis::cmd("SADD").arg(state.keys.master(other)).arg(kept).query_async(&mut conn).await.unwrap();
    hearth::cache::warm::discard_run(&state, other, "dead2").await.unwrap();
    let left: Vec<String> = nothing_of(&snapshot(&state, other, false).await).into_iter().cloned().collect();
    assert_eq!(left, vec![state.keys.key(kept), state.keys.master(other)], "only the live-listed entry stays");
}

#[tokio::test]
async fn an_in_place_switch_refuses_when_the_source_went_live_meanwhile() {
    let dir = TempDir::new("cold-intruder");
    let pool = sqlite_pool(&dir.0).await;
    create_table(&pool, "v0", &version(0, 0)).await;
    let state = state_with("cold-intruder", &[("HEARTH_WARM_BATCH_ENTRIES", "16")]);
    let ds = random_ds();
    let _cleanup = cleanup_on_drop(&state, &[ds]);
    let probe = ColdProbe { intrude: true, ..ColdProbe::new(&state, ds, "intruded") };
    let failure = warm(&state, &sqlite_def(&pool, ds, "v0"), "intruded", &lock_token("test", "ci"), &probe)
        .await
        .unwrap_err()
        .into_error();
    assert!(failure.message.contains("went live during its first warm"), "{}", failure.message);
    let left = snapshot(&state, ds, false).await;
    assert_eq!(nothing_of(&left), Vec::<&String>::new(), "the run's entries are gone");
    let meta: Option<String> =
        redis::cmd("GET").arg(state.keys.meta(ds)).query_async(&mut raw_redis().await).await.unwrap();
    assert_eq!(meta.as_deref(), Some(INTRUDER_META), "the other warmer's metadata is untouched");
}
