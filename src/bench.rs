//! `hearth bench warm` and `hearth bench query`: the benchmark commands behind BENCHMARKS.md.
//! They seed PostgreSQL with the generator, run the real warm and query functions against the
//! configured Redis under a `bench:` prefix, and print what they measured. Each warm runs in a
//! child process so its peak RSS is its own.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::cache::query::{CacheQuery, query};
use crate::cache::warm::{NoHooks, WarmMode, lock_token, warm, warm_with};
use crate::config::Config;
use crate::error::AppError;
use crate::source::seed::{SeedOptions, seed_postgres};
use crate::source::{Db, GroupColumns, SourceDef, SourceKind};
use crate::state::AppState;

const PREFIX: &str = "bench:";
const SCHEMA: &str = "bench";

fn state(url_override: Option<&str>) -> Result<AppState, AppError> {
    let mut vars: HashMap<String, String> = std::env::vars().filter(|(k, _)| k.starts_with("HEARTH_")).collect();
    vars.insert("HEARTH_KEY_PREFIX".into(), PREFIX.into());
    vars.insert("HEARTH_LOG".into(), "warn".into());
    if let Some(u) = url_override {
        vars.insert("HEARTH_REDIS_URL".into(), u.into());
    }
    let config = Config::from_vars(&vars).map_err(|e| AppError::validation(e.to_string()))?;
    AppState::new(config, leptos::config::LeptosOptions::builder().output_name("hearth").build())
}

fn table(practices: u32) -> String {
    format!("agg_app_measures_{practices}")
}

async fn source(pg_url: &str, practices: u32) -> Result<SourceDef, AppError> {
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect(pg_url)
        .await
        .map_err(|e| AppError::source_unavailable(format!("bench: cannot connect to PostgreSQL: {e}")))?;
    Ok(SourceDef {
        id: practices as i64,
        name: format!("bench {practices} practices"),
        description: None,
        kind: SourceKind::MeasureBased,
        schema: SCHEMA.into(),
        table: table(practices),
        columns: GroupColumns::with_period("frequency"),
        db: Db::Postgres(pool),
    })
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}

async fn commands_processed(state: &AppState) -> Result<u64, AppError> {
    Ok(state.redis.info(&["stats"]).await?.num("total_commands_processed"))
}

/// Pings Redis in a loop on its own connection and keeps the longest answer time: how long
/// Redis was unavailable to other clients at worst. The probe runs on its own thread and runtime,
/// so a warm keeping this process's runtime busy does not delay its PINGs (a separate client).
fn spawn_stall_probe(redis_url: String, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<f64> {
    std::thread::spawn(move || {
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return 0.0 };
        runtime.block_on(async move {
            let Ok(client) = redis::Client::open(redis_url) else { return 0.0 };
            // A long response timeout: a stall must be measured, not cut off at the default 0.5 s.
            let config = redis::AsyncConnectionConfig::new().set_response_timeout(Some(Duration::from_secs(30)));
            let Ok(mut conn) = client.get_multiplexed_async_connection_with_config(&config).await else {
                return 0.0;
            };
            let mut worst: f64 = 0.0;
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                let _: Result<String, _> = redis::cmd("PING").query_async(&mut conn).await;
                worst = worst.max(t.elapsed().as_secs_f64() * 1000.0);
                tokio::time::sleep(Duration::from_micros(200)).await;
            }
            worst
        })
    })
}

/// Redis's own latency monitor over one warm: the longest single event (a command, an expire
/// cycle…) Redis spent, however busy this machine's other processes kept the CPU. The PING probe
/// measures what a client waited; on a machine where Hearth, PostgreSQL and Redis share two cores
/// that includes waiting for a core, which this does not.
struct LatencyMonitor {
    previous: String,
}

impl LatencyMonitor {
    /// `None` when Redis refuses CONFIG or LATENCY (a managed Redis, an ACL).
    async fn start(state: &AppState) -> Option<LatencyMonitor> {
        let mut conn = state.redis.conn().await.ok()?;
        let (_, previous): (String, String) =
            redis::cmd("CONFIG").arg("GET").arg("latency-monitor-threshold").query_async(&mut conn).await.ok()?;
        let _: () = redis::cmd("CONFIG")
            .arg("SET")
            .arg("latency-monitor-threshold")
            .arg(1)
            .query_async(&mut conn)
            .await
            .ok()?;
        let _: i64 = redis::cmd("LATENCY").arg("RESET").query_async(&mut conn).await.ok()?;
        Some(LatencyMonitor { previous })
    }

    /// The longest event since `start` (name, ms), and the threshold put back.
    async fn finish(self, state: &AppState) -> (Option<String>, Option<u64>) {
        let Ok(mut conn) = state.redis.conn().await else { return (None, None) };
        // Rows of [event, time, latest ms, longest ms since the reset].
        let latest: Vec<(String, i64, u64, u64)> =
            redis::cmd("LATENCY").arg("LATEST").query_async(&mut conn).await.unwrap_or_default();
        let _: Result<(), _> = redis::cmd("CONFIG")
            .arg("SET")
            .arg("latency-monitor-threshold")
            .arg(&self.previous)
            .query_async(&mut conn)
            .await;
        match latest.into_iter().max_by_key(|row| row.3) {
            Some((event, _, _, longest)) => (Some(event), Some(longest)),
            // No event reached the 1 ms threshold.
            None => (Some("none over 1 ms".into()), Some(0)),
        }
    }
}

/// One warm of an already seeded table, in this process: prints one JSON line. `full` forbids an
/// incremental warm (today's re-warm).
pub async fn warm_once(pg_url: &str, practices: u32, run: &str, full: bool) -> Result<(), AppError> {
    let state = state(None)?;
    let def = source(pg_url, practices).await?;
    let before = commands_processed(&state).await?;
    let stop = Arc::new(AtomicBool::new(false));
    let probe = spawn_stall_probe(state.config.redis.urls[0].clone(), stop.clone());
    let monitor = LatencyMonitor::start(&state).await;
    let started = Instant::now();
    let mode = if full { WarmMode::Full } else { WarmMode::Auto };
    let outcome = warm_with(&state, &def, run, &lock_token("bench", &state.instance_id), &NoHooks, mode)
        .await
        .map_err(|f| f.into_error())?;
    let secs = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let stall = tokio::task::spawn_blocking(move || probe.join().unwrap_or(0.0)).await.unwrap_or(0.0);
    let commands = commands_processed(&state).await?.saturating_sub(before);
    let (event, busiest) = match monitor {
        Some(m) => m.finish(&state).await,
        None => (None, None),
    };
    println!(
        "{}",
        serde_json::json!({
            "practices": practices,
            "rows": outcome.rows,
            "entries": outcome.entries,
            "indexes": outcome.index_count,
            "bytes": outcome.bytes,
            "seconds": secs,
            "rowsPerSec": outcome.rows as f64 / secs,
            "redisCommandsPerSec": commands as f64 / secs,
            "cutoverMs": outcome.cutover.blocking_ms,
            "fastPath": outcome.cutover.fast_path,
            "cutoverMethod": outcome.cutover.method,
            "kind": outcome.kind.describe(outcome.entries),
            "longestPingStallMs": stall,
            "redisLongestEventMs": busiest,
            "redisLongestEvent": event,
            "peakRssMb": peak_rss_mb(),
        })
    );
    Ok(())
}

/// Runs one warm in a child process (its own peak RSS) and prints its line.
async fn child_warm(
    exe: &std::path::Path,
    pg_url: &str,
    practices: u32,
    run: &str,
    full: bool,
) -> Result<(), AppError> {
    let mut cmd = tokio::process::Command::new(exe);
    cmd.args(["bench", "warm-once", "--url", pg_url, "--practices", &practices.to_string(), "--run", run]);
    if full {
        cmd.args(["--full", "true"]);
    }
    let out = cmd.output().await.map_err(|e| AppError::internal(format!("bench: cannot run a child: {e}")))?;
    if !out.status.success() {
        return Err(AppError::internal(format!("bench child failed: {}", String::from_utf8_lossy(&out.stderr))));
    }
    print!("{run:>12}: {}", String::from_utf8_lossy(&out.stdout));
    Ok(())
}

/// Changes `percent` % of the table's groups (entries): the same deterministic pick each time,
/// each value nudged, then VACUUM so the next read does not pay for dead rows.
async fn change_groups(pg_url: &str, practices: u32, percent: u32) -> Result<(), AppError> {
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(pg_url)
        .await
        .map_err(|e| AppError::source_unavailable(format!("bench: cannot connect to PostgreSQL: {e}")))?;
    let t = format!("{SCHEMA}.{}", table(practices));
    let update = format!(
        "UPDATE {t} SET measure_value = measure_value + 0.01 WHERE abs(hashtext(measure || ':' || practice_uid || ':' \
         || coalesce(provider_uid::text, '*') || ':' || frequency)) % 100 < {percent}"
    );
    let db = |e: sqlx::Error| AppError::internal(format!("bench: changing rows: {e}"));
    sqlx::raw_sql(&update).execute(&pool).await.map_err(db)?;
    sqlx::raw_sql(&format!("VACUUM ANALYZE {t}")).execute(&pool).await.map_err(db)?;
    Ok(())
}

/// `hearth bench warm`: seed each size, then per size a cold first warm (in place, then again
/// through a shadow copy) and a full re-warm; with
/// `changes`, then per change rate: change that share of entries and re-warm (incremental).
pub async fn bench_warm(pg_url: &str, sizes: &[u32], seed: bool, changes: &[u32]) -> Result<(), AppError> {
    let exe = std::env::current_exe().map_err(|e| AppError::internal(format!("bench: {e}")))?;
    let state = state(None)?;
    for &practices in sizes {
        if seed {
            let mut o = SeedOptions::new(pg_url, practices, practices as i64);
            o.schema = SCHEMA.into();
            o.table = table(practices);
            o.registry_schema = SCHEMA.into();
            let r = seed_postgres(&o).await?;
            println!("seeded {practices} practices: {} rows in {:.1} s", r.rows, r.millis as f64 / 1000.0);
        }
        // Start cold: nothing of this source under the bench prefix. The first warm writes in
        // place; the same first warm through a shadow copy, for comparison.
        remove_source_keys(&state, practices as i64).await?;
        child_warm(&exe, pg_url, practices, "first", false).await?;
        remove_source_keys(&state, practices as i64).await?;
        child_warm(&exe, pg_url, practices, "first-shadow", true).await?;
        child_warm(&exe, pg_url, practices, "rewarm-full", true).await?;
        for &percent in changes {
            change_groups(pg_url, practices, percent).await?;
            child_warm(&exe, pg_url, practices, &format!("change-{percent}"), false).await?;
        }
        remove_source_keys(&state, practices as i64).await?;
    }
    // The same machine's raw pipelined SET rate, for scale.
    let avg = 3700;
    match tokio::process::Command::new("redis-benchmark")
        // One key, overwritten: nothing is left in the database afterwards but that key.
        .args(["-P", "64", "-t", "set", "-d", &avg.to_string(), "-n", "200000", "-q"])
        .args(redis_benchmark_target(&state.config.redis.urls[0]))
        .output()
        .await
    {
        Ok(o) => {
            let text = String::from_utf8_lossy(&o.stdout);
            let last = text.rsplit('\r').next().unwrap_or(&text).trim();
            println!("redis-benchmark -P 64 -t set -d {avg}: {last}");
        }
        Err(e) => println!("redis-benchmark not run: {e}"),
    }
    let mut conn = state.redis.conn().await?;
    let _: () = redis::cmd("UNLINK").arg("key:__rand_int__").query_async(&mut conn).await.unwrap_or(());
    Ok(())
}

/// Every key of source `ds` under the bench prefix.
async fn remove_source_keys(state: &AppState, ds: i64) -> Result<(), AppError> {
    let slot = state.keys.master(ds);
    crate::cache::scan::unlink_matching(&state.redis, &state.keys.source_pattern(ds), &slot).await?;
    Ok(())
}

fn redis_benchmark_target(url: &str) -> Vec<String> {
    let hostport = url.trim_start_matches("redis://").split('/').next().unwrap_or("127.0.0.1:6379");
    let hostport = hostport.rsplit('@').next().unwrap_or(hostport);
    let (host, port) = hostport.split_once(':').unwrap_or((hostport, "6379"));
    vec!["-h".into(), host.into(), "-p".into(), port.into()]
}

/// A realistic filter mix: a chart asks for the practices of one organisation: mostly one,
/// sometimes 5 or 20; now and then narrowed to one provider. (An unfiltered query returns every
/// practice's entries, about 11 MB at 355 practices; it is measured on its own, `--all`.)
fn pick_query(ds: i64, practices: u32, i: u64) -> CacheQuery {
    const MEASURES: [&str; 8] = [
        "Charges",
        "Payments",
        "Visits",
        "Cancellations",
        "Cash Transfer",
        "New Infusion Patients",
        "Charges by Provider",
        "Adjustments: Write-offs",
    ];
    const FREQUENCIES: [&str; 3] = ["Monthly", "Weekly", "Quarterly"];
    let h = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let practice = |k: u64| (1000 + 1 + (h.rotate_left(k as u32 * 7) % practices as u64)).to_string();
    let n_practices = match h % 20 {
        0..=11 => 1,
        12..=16 => 5,
        _ => 20,
    };
    let practices_list: Vec<String> = (0..n_practices).map(practice).collect();
    let providers = if h % 7 < 2 && !practices_list.is_empty() {
        let p: u64 = practices_list[0].parse().unwrap_or(1001);
        vec![(p * 10 + 1 + (h >> 8) % 7).to_string()]
    } else {
        vec![]
    };
    CacheQuery {
        datasource_id: ds,
        measure: MEASURES[(h >> 16) as usize % MEASURES.len()].into(),
        frequency: FREQUENCIES[(h >> 24) as usize % FREQUENCIES.len()].into(),
        practices: practices_list,
        providers,
    }
}

/// `hearth bench query`: p50/p95/p99 of the query function with 1 and 16 concurrent callers.
pub async fn bench_query(
    pg_url: &str,
    practices: u32,
    callers: &[usize],
    seconds: u64,
    unfiltered: bool,
    hot: u64,
) -> Result<(), AppError> {
    let state = state(None)?;
    let ds = practices as i64;
    let mut conn = state.redis.conn().await?;
    let warm_already: bool =
        redis::cmd("EXISTS").arg(state.keys.meta(ds)).query_async(&mut conn).await.unwrap_or(false);
    if !warm_already {
        let def = source(pg_url, practices).await?;
        warm(&state, &def, "bench-query", &lock_token("bench", &state.instance_id), &NoHooks)
            .await
            .map_err(|f| f.into_error())?;
    }
    for &n in callers {
        let counter = Arc::new(AtomicU64::new(0));
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let mut tasks = Vec::new();
        for c in 0..n {
            let (state, counter) = (state.clone(), counter.clone());
            tasks.push(tokio::spawn(async move {
                let mut samples = Vec::with_capacity(100_000);
                let (mut rows, mut i) = (0usize, c as u64 * 1_000_003);
                // A failed query is not a fast one: it is counted apart and left out of the
                // percentiles, and the first error is kept to be reported.
                let (mut failed, mut first_error) = (0u64, None::<AppError>);
                while Instant::now() < deadline {
                    i += 1;
                    // `hot` > 0: every caller cycles through the same `hot` filters.
                    let mut q = pick_query(ds, practices, if hot > 0 { i % hot } else { i });
                    if unfiltered {
                        q.practices.clear();
                        q.providers.clear();
                    }
                    let t = Instant::now();
                    match query(&state, &q).await {
                        Ok(a) => {
                            rows += a.entries;
                            samples.push(t.elapsed().as_micros() as u64);
                        }
                        Err(e) => {
                            failed += 1;
                            first_error.get_or_insert(e);
                        }
                    }
                    counter.fetch_add(1, Ordering::Relaxed);
                }
                (samples, rows, failed, first_error)
            }));
        }
        let mut all = Vec::new();
        let (mut entries, mut failed, mut first_error) = (0, 0, None);
        for t in tasks {
            let (s, r, f, e) = t.await.map_err(|e| AppError::internal(e.to_string()))?;
            all.extend(s);
            entries += r;
            failed += f;
            first_error = first_error.or(e);
        }
        if let Some(e) = &first_error {
            eprintln!("{failed} of {} queries failed; the first: {e}", all.len() as u64 + failed);
        }
        if all.is_empty() {
            return Err(first_error.unwrap_or_else(|| AppError::internal("no query completed in the time given")));
        }
        all.sort_unstable();
        let pct = |p: f64| {
            all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1))).copied().unwrap_or(0) as f64
                / 1000.0
        };
        println!(
            "{}",
            serde_json::json!({
                "callers": n,
                "unfiltered": unfiltered,
                "hotFilters": hot,
                "resultCacheBytes": state.config.query_cache_bytes,
                "servedFromMemory": state.query_results.hits(),
                "queries": all.len(),
                "failed": failed,
                "queriesPerSec": all.len() as f64 / seconds as f64,
                "avgEntriesPerQuery": entries as f64 / all.len().max(1) as f64,
                "p50Ms": pct(0.50),
                "p95Ms": pct(0.95),
                "p99Ms": pct(0.99),
            })
        );
    }
    state.query_stats.flush(&state).await.ok();
    Ok(())
}
