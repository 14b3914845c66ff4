//! Operators' metrics in the Prometheus text format at `/metrics`: what warms, queries, rate
//! limits, the audit trail and Redis are doing in this instance, and the shared job queue's depth.
//!
//! Served only where `MetricsConfig` asks for it (a token on the main listener, or a listener of
//! its own). Without either, no recorder is installed and every recording function below returns
//! after one check, before it builds a label (the query path calls one per query).
//! Each metric's name, type and meaning live in [`METRICS`] (the README table is checked against
//! it); the functions below are the only places that record them.

use std::sync::OnceLock;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::cache::warm::{WarmFailure, WarmKind, WarmOutcome};
use crate::redis_conn::RedisResultExt;
use crate::state::AppState;

const WARMS_STARTED: &str = "hearth_warms_started_total";
const WARMS_COMPLETED: &str = "hearth_warms_completed_total";
const WARMS_FAILED: &str = "hearth_warms_failed_total";
const WARMS_CANCELLED: &str = "hearth_warms_cancelled_total";
const WARMS_REFUSED: &str = "hearth_warms_refused_total";
const WARM_DURATION: &str = "hearth_warm_duration_seconds";
const WARM_ROWS: &str = "hearth_warm_rows_total";
const WARM_ENTRIES: &str = "hearth_warm_entries_written_total";
const CUTOVER_STALL: &str = "hearth_cutover_stall_seconds";
const QUERIES: &str = "hearth_queries_total";
const QUERY_DURATION: &str = "hearth_query_duration_seconds";
const RATE_LIMITED: &str = "hearth_rate_limit_refusals_total";
const AUDIT_FAILURES: &str = "hearth_audit_write_failures_total";
const REDIS_ERRORS: &str = "hearth_redis_errors_total";
const QUEUE_DEPTH: &str = "hearth_job_queue_depth";
const JOBS_RUNNING: &str = "hearth_jobs_running";

/// A metric's Prometheus type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    /// Seconds, in the buckets of [`SECONDS`].
    Histogram,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

use Kind::{Counter, Gauge, Histogram};

/// Every metric: name, type, labels and meaning (the README's table).
pub const METRICS: &[(&str, Kind, &str, &str)] = &[
    (WARMS_STARTED, Counter, "source", "warms this instance started"),
    (WARMS_COMPLETED, Counter, "source, kind", "warms that went live; `kind` is `full`, `incremental` or `cold`"),
    (WARMS_FAILED, Counter, "source", "warms that failed (the live cache unchanged)"),
    (WARMS_CANCELLED, Counter, "source", "warms cancelled or handed back at shutdown"),
    (
        WARMS_REFUSED,
        Counter,
        "source",
        "warms that did not start: the source's lock was held (a warm or an invalidation running elsewhere)",
    ),
    (WARM_DURATION, Histogram, "source", "seconds from a warm's start to its end, whatever the outcome"),
    (WARM_ROWS, Counter, "source", "SQL rows read by completed warms"),
    (
        WARM_ENTRIES,
        Counter,
        "source",
        "cache entries written by completed warms (an incremental warm counts only what changed)",
    ),
    (
        CUTOVER_STALL,
        Histogram,
        "source",
        "seconds of the atomic step of each cutover (an upper bound of how long Redis was blocked)",
    ),
    (QUERIES, Counter, "source, result", "cached queries answered; `result` is `hit` or `miss`"),
    (QUERY_DURATION, Histogram, "source", "seconds per cached query"),
    (
        RATE_LIMITED,
        Counter,
        "class",
        "requests refused by a per-user rate limit; `class` is `warm`, `invalidate`, `purge` or `ttl`",
    ),
    (AUDIT_FAILURES, Counter, "", "audit entries that could not be stored in Redis (each is in the log)"),
    (REDIS_ERRORS, Counter, "kind", "Redis commands that failed; `kind` is `timeout`, `unreachable` or `refused`"),
    (QUEUE_DEPTH, Gauge, "", "warm jobs waiting in the queue shared by every instance (read at scrape time)"),
    (JOBS_RUNNING, Gauge, "", "warm jobs holding a worker slot across every instance (read at scrape time)"),
];

/// Bucket bounds, seconds: from a hot query (100 µs) to a warm of millions of rows (30 min).
const SECONDS: [f64; 18] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0, 60.0, 300.0,
    1800.0,
];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs this process's recorder (once; later calls return the same handle). `None` only if
/// another recorder was installed first, which Hearth never does.
pub fn install() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new().set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &SECONDS);
            match builder.map(PrometheusBuilder::install_recorder) {
                Ok(Ok(handle)) => {
                    for (name, kind, _, help) in METRICS {
                        match kind {
                            Counter => metrics::describe_counter!(*name, *help),
                            Gauge => metrics::describe_gauge!(*name, *help),
                            Histogram => metrics::describe_histogram!(*name, metrics::Unit::Seconds, *help),
                        }
                    }
                    Some(handle)
                }
                Ok(Err(e)) => {
                    tracing::error!(error = %e, "metrics: the recorder could not be installed; /metrics stays empty");
                    None
                }
                Err(e) => {
                    tracing::error!(error = %e, "metrics: bad histogram buckets; /metrics stays empty");
                    None
                }
            }
        })
        .as_ref()
}

/// Whether this process records metrics at all (its recorder is installed).
fn on() -> bool {
    HANDLE.get().is_some_and(Option::is_some)
}

fn source(ds: i64) -> [(&'static str, String); 1] {
    [("source", ds.to_string())]
}

pub fn warm_started(ds: i64) {
    if !on() {
        return;
    }
    metrics::counter!(WARMS_STARTED, &source(ds)).increment(1);
}

/// A warm that found its source's lock held and did not start (not counted as started).
pub fn warm_refused(ds: i64) {
    if !on() {
        return;
    }
    metrics::counter!(WARMS_REFUSED, &source(ds)).increment(1);
}

pub fn warm_finished(ds: i64, result: &Result<WarmOutcome, WarmFailure>, took: Duration) {
    if !on() {
        return;
    }
    metrics::histogram!(WARM_DURATION, &source(ds)).record(took.as_secs_f64());
    match result {
        Ok(outcome) => {
            let kind = match outcome.kind {
                WarmKind::Full(_) => "full",
                WarmKind::Incremental { .. } => "incremental",
                WarmKind::Cold => "cold",
            };
            metrics::counter!(WARMS_COMPLETED, "source" => ds.to_string(), "kind" => kind).increment(1);
            metrics::counter!(WARM_ROWS, &source(ds)).increment(outcome.rows);
            metrics::counter!(WARM_ENTRIES, &source(ds)).increment(outcome.kind.written(outcome.entries));
            metrics::histogram!(CUTOVER_STALL, &source(ds)).record(outcome.cutover.blocking_ms / 1000.0);
        }
        Err(WarmFailure::Cancelled) => metrics::counter!(WARMS_CANCELLED, &source(ds)).increment(1),
        Err(WarmFailure::Failed(_)) => metrics::counter!(WARMS_FAILED, &source(ds)).increment(1),
    }
}

pub fn query(ds: i64, hit: bool, micros: u64) {
    if !on() {
        return;
    }
    let result = if hit { "hit" } else { "miss" };
    metrics::counter!(QUERIES, "source" => ds.to_string(), "result" => result).increment(1);
    metrics::histogram!(QUERY_DURATION, &source(ds)).record(micros as f64 / 1e6);
}

pub fn rate_limited(class: &'static str) {
    if !on() {
        return;
    }
    metrics::counter!(RATE_LIMITED, "class" => class).increment(1);
}

pub fn audit_write_failed() {
    if !on() {
        return;
    }
    metrics::counter!(AUDIT_FAILURES).increment(1);
}

/// `kind`: `timeout`, `unreachable` or `refused`.
pub fn redis_error(kind: &'static str) {
    if !on() {
        return;
    }
    metrics::counter!(REDIS_ERRORS, "kind" => kind).increment(1);
}

/// Keeps the recorder's memory bounded between scrapes (histogram samples are folded into their
/// buckets); runs until `stop`.
pub async fn run_upkeep(mut stop: tokio::sync::watch::Receiver<bool>) {
    let Some(handle) = install() else { return };
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(5)) => handle.run_upkeep(),
            _ = stop.changed() => return,
        }
    }
}

/// The text a scrape receives: the queue gauges read from Redis now (left at their last value,
/// and the failure counted, when Redis does not answer), then every metric.
pub async fn render(state: &AppState) -> Option<String> {
    let handle = install()?;
    match queue_depths(state).await {
        Ok((queued, running)) => {
            metrics::gauge!(QUEUE_DEPTH).set(queued as f64);
            metrics::gauge!(JOBS_RUNNING).set(running as f64);
        }
        Err(e) => tracing::warn!(error = %e.message, "metrics: the job queue could not be read"),
    }
    handle.run_upkeep();
    Some(handle.render())
}

async fn queue_depths(state: &AppState) -> Result<(u64, u64), crate::error::AppError> {
    let mut conn = state.redis.conn().await?;
    redis::pipe()
        .cmd("LLEN")
        .arg(state.keys.job_queue())
        .cmd("SCARD")
        .arg(state.keys.jobs_running())
        .query_async(&mut conn)
        .await
        .ctx("reading the job queue's depth")
}

/// `GET /metrics` on the main listener: only with `HEARTH_METRICS_TOKEN` set (404 otherwise, as
/// if there were no such page) and the caller presenting it (401).
pub async fn scrape_with_token(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(expected) = state.config.metrics.token.as_deref() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if !same_secret(presented, expected) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer realm=\"hearth-metrics\"")],
            "send the metrics token (HEARTH_METRICS_TOKEN) as `Authorization: Bearer <token>`\n",
        )
            .into_response();
    }
    scrape(State(state)).await
}

/// `GET /metrics` on the metrics listener (`HEARTH_METRICS_BIND`): anyone who can reach it.
pub async fn scrape(State(state): State<AppState>) -> Response {
    match render(&state).await {
        Some(text) => ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response(),
        None => (StatusCode::SERVICE_UNAVAILABLE, "metrics are not available in this process (see its log)\n")
            .into_response(),
    }
}

/// Compares digests, so the time taken says nothing about how much of the token was right.
fn same_secret(presented: &str, expected: &str) -> bool {
    use crate::auth::session::sha256_hex;
    sha256_hex(presented) == sha256_hex(expected)
}

/// The router of the metrics listener: `/metrics` and nothing else.
pub fn listener_router(state: AppState) -> axum::Router {
    axum::Router::new().route("/metrics", axum::routing::get(scrape)).with_state(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_is_named_for_prometheus_and_counters_end_in_total() {
        for (name, kind, _, help) in METRICS {
            assert!(name.starts_with("hearth_") && name.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{name}");
            assert_eq!(*kind == Counter, name.ends_with("_total"), "{name}");
            assert_eq!(*kind == Histogram, name.ends_with("_seconds"), "{name}");
            assert!(!help.is_empty());
        }
    }

    #[test]
    fn readme_documents_every_metric() {
        let readme = include_str!("../README.md");
        for (name, kind, ..) in METRICS {
            assert!(readme.contains(&format!("| `{name}` | {} |", kind.as_str())), "README has no row for {name}");
        }
    }

    #[test]
    fn tokens_match_only_when_identical() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abd", "abc"));
        assert!(!same_secret("", "abc"));
    }
}
