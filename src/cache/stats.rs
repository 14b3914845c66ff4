//! Per-source statistics and health (SPEC §3–§4), every field real and O(1) round trips per
//! source: the metadata (with the bytes the warm wrote), the master index's size and measured
//! memory, the query counters since the last warm. No keyspace SCAN.

use std::collections::HashMap;

use super::counters::{self, Tally};
use super::health::{self, Concern, Finding, HealthInput};
use super::lock::describe_holder;
use super::meta::Meta;
use super::scan::memory::MemorySample;
use crate::error::AppError;
use crate::model::cache::{
    CacheStats, CacheSummary, DatasourceCacheMetrics, HealthDistribution, HealthIssue, HealthLabel, HealthReport,
    OverallHealth, Severity, SourceDetails,
};
use crate::redis_conn::RedisResultExt;
use crate::source::catalog::DefEntry;
use crate::state::AppState;

const SAMPLES: usize = 3;

struct Raw {
    meta: Option<String>,
    entries: u64,
    index_list: u64,
    totals: HashMap<String, u64>,
    samples: Vec<String>,
    master_bytes: Option<u64>,
    lock: Option<String>,
    invalidated: Option<String>,
    meta_pttl: i64,
}

type RawReply =
    (Option<String>, u64, u64, HashMap<String, u64>, Vec<String>, Option<u64>, Option<String>, Option<String>, i64);

async fn read_raw(state: &AppState, ds: i64) -> Result<Raw, AppError> {
    let keys = &state.keys;
    let mut conn = state.redis.conn().await?;
    let (meta, entries, index_list, totals, samples, master_bytes, lock, invalidated, meta_pttl): RawReply =
        redis::pipe()
            .cmd("GET")
            .arg(keys.meta(ds))
            .cmd("SCARD")
            .arg(keys.master(ds))
            .cmd("SCARD")
            .arg(keys.index_list(ds))
            .cmd("HGETALL")
            .arg(keys.query_totals(ds))
            .cmd("SRANDMEMBER")
            .arg(keys.master(ds))
            .arg(SAMPLES)
            .cmd("MEMORY")
            .arg("USAGE")
            .arg(keys.master(ds))
            // Every member, not Redis's default sample of five: the same set reads the same size.
            .arg("SAMPLES")
            .arg(0)
            .cmd("GET")
            .arg(keys.lock(ds))
            .cmd("GET")
            .arg(keys.invalidated(ds))
            .cmd("PTTL")
            .arg(keys.meta(ds))
            .query_async(&mut conn)
            .await
            .ctx("reading cache statistics")?;
    Ok(Raw { meta, entries, index_list, totals, samples, master_bytes, lock, invalidated, meta_pttl })
}

/// Average size of the data keys named by the master index's random members (unprefixed).
async fn average_entry_bytes(state: &AppState, names: &[String]) -> Result<f64, AppError> {
    let keys: Vec<String> = names.iter().map(|n| state.keys.key(n)).collect();
    let mut sample = MemorySample::new(SAMPLES, SAMPLES);
    sample.add(&mut state.redis.conn().await?, &keys).await?;
    Ok(sample.average().unwrap_or(0.0))
}

/// One source's metrics and what each of its warnings is about, with its own recommendation.
pub struct SourceReading {
    pub metrics: DatasourceCacheMetrics,
    /// In the order of `metrics.warnings`.
    pub findings: Vec<Finding>,
}

/// Metrics of one source; `source_error` is the catalog's complaint about it, if any.
pub async fn source_reading(
    state: &AppState,
    ds: i64,
    name: &str,
    source_error: Option<String>,
) -> Result<SourceReading, AppError> {
    let raw = read_raw(state, ds).await?;
    let meta = Meta::parse(raw.meta.as_deref());
    let tally = Tally::from_fields(&raw.totals);
    let now = crate::time::now_ms();
    let last_ms = meta.as_ref().and_then(|m| crate::time::parse_iso_ms(&m.timestamp));
    let age_minutes = last_ms.map(|t| ((now - t).max(0) as f64 / 60_000.0 * 10.0).round() / 10.0);
    let index_count =
        if raw.index_list > 0 { raw.index_list } else { meta.as_ref().map(|m| m.index_count).unwrap_or(0) };
    let estimated_bytes = match meta.as_ref().map(|m| m.bytes) {
        None => 0.0,
        Some(Some(written)) => memory_bytes(written, raw.master_bytes.unwrap_or(0), index_count),
        // Metadata the command center wrote has no byte count: sample a few entries.
        Some(None) => {
            let avg_sample = average_entry_bytes(state, &raw.samples).await?;
            avg_sample * raw.entries as f64 + memory_bytes(0, raw.master_bytes.unwrap_or(0), index_count)
        }
    };
    let invalidated = super::meta::Invalidated::parse(raw.invalidated.as_deref())
        // A warm since then makes the record history.
        .filter(|i| meta.as_ref().is_none_or(|m| i.at > m.timestamp));
    let h = health::health(&HealthInput {
        is_warm: meta.is_some(),
        invalidated: invalidated.is_some(),
        age_minutes: age_minutes.unwrap_or(0.0),
        hit_rate: tally.hit_rate(),
        unique_measures: meta.as_ref().map(|m| m.unique_measures).unwrap_or(0),
        unique_practices: meta.as_ref().map(|m| m.unique_practices).unwrap_or(0),
    });
    let m = meta.clone().unwrap_or_default();
    let metrics = DatasourceCacheMetrics {
        datasource_id: ds,
        datasource_name: name.to_string(),
        is_warm: meta.is_some(),
        last_warmed: meta
            .as_ref()
            .map(|m| m.timestamp.clone())
            .or_else(|| invalidated.as_ref().and_then(|i| i.last_warmed.clone())),
        age_minutes: meta.as_ref().and(age_minutes),
        total_entries: if meta.is_some() { raw.entries } else { 0 },
        index_count: if meta.is_some() { index_count } else { 0 },
        estimated_memory_mb: (estimated_bytes / 1_048_576.0 * 100.0).round() / 100.0,
        unique_measures: m.unique_measures,
        unique_practices: m.unique_practices,
        unique_providers: m.unique_providers,
        unique_frequencies: m.unique_frequencies,
        avg_query_time_ms: (tally.avg_ms() * 1000.0).round() / 1000.0,
        cache_hit_rate: (tally.hit_rate().unwrap_or(0.0) * 10.0).round() / 10.0,
        total_queries: tally.queries(),
        health: h.label,
        health_score: h.score,
        warnings: h.warnings,
        recommendations: h.recommendations,
        health_parts: h.parts,
        no_traffic_yet: meta.is_some() && tally.queries() == 0,
        invalidated_at: invalidated.map(|i| i.at),
        hits: tally.hits,
        misses: tally.misses,
        p95_query_time_ms: tally.p95_ms(),
        total_rows: m.total_rows,
        last_duration_ms: m.duration_ms,
        last_run_id: m.run_id,
        locked_by: raw.lock.as_deref().map(describe_holder),
        // PTTL is -1 for a key without a TTL and -2 for none at all.
        ttl_left_secs: (meta.is_some() && raw.meta_pttl >= 0).then_some(raw.meta_pttl as u64 / 1000),
        source_error,
    };
    Ok(SourceReading { metrics, findings: h.findings })
}

/// Memory of a warm source: the entry bytes the warm wrote (kept in its metadata, lowered by
/// slice invalidations), plus the index overhead measured on the master set (every member,
/// so the same set always reads the same): the four other index kinds hold about as many
/// members, and each data key's name and bookkeeping cost about what one member does; plus a
/// small header per index set. Stable between refreshes, unlike a random sample.
pub fn memory_bytes(written: u64, master_bytes: u64, index_count: u64) -> f64 {
    written as f64 + master_bytes as f64 * 6.0 + index_count as f64 * 90.0
}

/// `GET /api/admin/analytics/cache/stats`: every source's metrics and the summary.
pub async fn cache_stats(state: &AppState) -> Result<CacheStats, AppError> {
    let datasources: Vec<DatasourceCacheMetrics> = read_sources(state).await?.into_iter().map(|r| r.metrics).collect();
    Ok(CacheStats { summary: summarize(&datasources), datasources, timestamp: crate::time::now_iso() })
}

/// Jobs a source's page lists.
const SOURCE_JOBS: usize = 50;

/// `GET …/cache/source?datasourceId=`: one source's metrics and its jobs (active, then the
/// history's, newest first). 404 for a source the catalog does not list.
pub async fn source_details(state: &AppState, ds: i64) -> Result<SourceDetails, AppError> {
    if let Err(e) = state.query_stats.flush(state).await {
        tracing::debug!(error = %e.message, "source read before pending counters were flushed");
    }
    let entries = state.catalog.entries().await?;
    let (name, error) = match entries.iter().find(|e| e.id() == ds) {
        Some(DefEntry::Ok(d)) => (d.name.clone(), None),
        Some(DefEntry::Failed { header, error }) => (header.name.clone(), Some(error.message.clone())),
        None => return Err(AppError::not_found(format!("no data source with id {ds}"))),
    };
    let metrics = source_reading(state, ds, &name, error).await?.metrics;
    let active = crate::jobs::store::active(state).await?;
    let recent = crate::jobs::store::recent(state, state.config.job_history).await?;
    let jobs =
        active.into_iter().chain(recent).map(|r| r.job).filter(|j| j.datasource_id == ds).take(SOURCE_JOBS).collect();
    Ok(SourceDetails { metrics, jobs, timestamp: crate::time::now_iso() })
}

/// Every source's reading, in catalog order.
async fn read_sources(state: &AppState) -> Result<Vec<SourceReading>, AppError> {
    if let Err(e) = state.query_stats.flush(state).await {
        tracing::debug!(error = %e.message, "stats read before pending counters were flushed");
    }
    let entries = state.catalog.entries().await?;
    let mut datasources = Vec::with_capacity(entries.len());
    for entry in entries.iter() {
        let (id, name, error) = match entry {
            DefEntry::Ok(d) => (d.id, d.name.clone(), None),
            DefEntry::Failed { header, error } => (header.id, header.name.clone(), Some(error.message.clone())),
        };
        datasources.push(source_reading(state, id, &name, error).await?);
    }
    Ok(datasources)
}

pub fn summarize(sources: &[DatasourceCacheMetrics]) -> CacheSummary {
    let warm: Vec<&DatasourceCacheMetrics> = sources.iter().filter(|s| s.is_warm).collect();
    let (hits, misses) = sources.iter().fold((0, 0), |(h, m), s| (h + s.hits, m + s.misses));
    let mut dist = HealthDistribution::default();
    for s in sources {
        match s.health {
            HealthLabel::Excellent => dist.excellent += 1,
            HealthLabel::Good => dist.good += 1,
            HealthLabel::Degraded => dist.degraded += 1,
            HealthLabel::Stale => dist.stale += 1,
            HealthLabel::Cold => dist.cold += 1,
        }
    }
    let ages: Vec<f64> = warm.iter().filter_map(|s| s.age_minutes).collect();
    CacheSummary {
        total_datasources: sources.len() as u64,
        warm_datasources: warm.len() as u64,
        cold_datasources: (sources.len() - warm.len()) as u64,
        total_cache_entries: sources.iter().map(|s| s.total_entries).sum(),
        total_indexes: sources.iter().map(|s| s.index_count).sum(),
        total_memory_mb: (sources.iter().map(|s| s.estimated_memory_mb).sum::<f64>() * 100.0).round() / 100.0,
        overall_cache_hit_rate: if hits + misses == 0 {
            0.0
        } else {
            (hits as f64 * 1000.0 / (hits + misses) as f64).round() / 10.0
        },
        avg_cache_age: (!ages.is_empty()).then(|| (ages.iter().sum::<f64>() / ages.len() as f64 * 10.0).round() / 10.0),
        oldest_cache: warm.iter().filter_map(|s| s.last_warmed.clone()).min(),
        health_distribution: dist,
    }
}

/// `GET /api/admin/analytics/cache/health`: overall label, issues and recommendations.
pub async fn health_report(state: &AppState) -> Result<HealthReport, AppError> {
    Ok(report_from(&read_sources(state).await?))
}

pub fn report_from(readings: &[SourceReading]) -> HealthReport {
    let mut issues = Vec::new();
    let mut recommendations = Vec::new();
    for SourceReading { metrics: s, findings } in readings {
        let severity = if matches!(s.health, HealthLabel::Cold | HealthLabel::Stale) {
            Severity::Error
        } else {
            Severity::Warning
        };
        if let Some(e) = &s.source_error {
            issues.push(HealthIssue {
                datasource_id: s.datasource_id,
                datasource_name: s.datasource_name.clone(),
                severity: Severity::Error,
                issue: e.clone(),
                recommendation: "Fix the data source definition or its database; it cannot be warmed until then."
                    .into(),
                warm_fixes: false,
            });
        }
        // Each issue carries the recommendation made for it, never one paired by position.
        for f in findings {
            issues.push(HealthIssue {
                datasource_id: s.datasource_id,
                datasource_name: s.datasource_name.clone(),
                severity: if f.concern == Concern::NoTraffic { Severity::Warning } else { severity },
                issue: f.warning.clone(),
                recommendation: f.recommendation.clone(),
                warm_fixes: matches!(f.concern, Concern::NeverWarmed | Concern::Age),
            });
        }
        for r in &s.recommendations {
            recommendations.push(format!("{}: {r}", s.datasource_name));
        }
    }
    let overall = if readings.is_empty() {
        OverallHealth::Good
    } else {
        let avg = readings.iter().map(|r| r.metrics.health_score as f64).sum::<f64>() / readings.len() as f64;
        let base = match avg {
            a if a >= 90.0 => OverallHealth::Excellent,
            a if a >= 75.0 => OverallHealth::Good,
            a if a >= 50.0 => OverallHealth::Degraded,
            _ => OverallHealth::Critical,
        };
        let has_error = issues.iter().any(|i| i.severity == Severity::Error);
        match (base, has_error) {
            (OverallHealth::Excellent | OverallHealth::Good, true) => OverallHealth::Degraded,
            (b, _) => b,
        }
    };
    HealthReport { overall, issues, recommendations }
}

/// Per-minute or per-hour series of one source (see [`counters::trend`]).
pub async fn trends(state: &AppState, ds: i64, range: &str) -> Result<crate::model::cache::Trends, AppError> {
    if let Err(e) = state.query_stats.flush(state).await {
        tracing::debug!(error = %e.message, "trends read before pending counters were flushed");
    }
    Ok(crate::model::cache::Trends {
        datasource_id: ds,
        range: range.to_string(),
        points: counters::trend(state, ds, range).await?,
    })
}
