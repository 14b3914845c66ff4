//! Per-source statistics and health (SPEC §3–§4), every field real and O(1) Redis work per
//! source: the metadata, the master index's size, the query counters since the last warm and a
//! few sampled `MEMORY USAGE` readings. No keyspace SCAN.

use std::collections::HashMap;

use super::counters::{self, Tally};
use super::health::{self, Concern, HealthInput};
use super::lock::describe_holder;
use super::meta::Meta;
use super::scan::memory::MemorySample;
use crate::error::AppError;
use crate::model::cache::{
    CacheStats, CacheSummary, DatasourceCacheMetrics, HealthDistribution, HealthIssue, HealthLabel, HealthReport,
    OverallHealth, Severity,
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
}

type RawReply = (Option<String>, u64, u64, HashMap<String, u64>, Vec<String>, Option<u64>, Option<String>);

async fn read_raw(state: &AppState, ds: i64) -> Result<Raw, AppError> {
    let keys = &state.keys;
    let mut conn = state.redis.conn().await?;
    let (meta, entries, index_list, totals, samples, master_bytes, lock): RawReply = redis::pipe()
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
        .cmd("GET")
        .arg(keys.lock(ds))
        .query_async(&mut conn)
        .await
        .ctx("reading cache statistics")?;
    Ok(Raw { meta, entries, index_list, totals, samples, master_bytes, lock })
}

/// Average size of the data keys named by the master index's random members (unprefixed).
async fn average_entry_bytes(state: &AppState, names: &[String]) -> Result<f64, AppError> {
    let keys: Vec<String> = names.iter().map(|n| state.keys.key(n)).collect();
    let mut sample = MemorySample::new(SAMPLES, SAMPLES);
    sample.add(&mut state.redis.conn().await?, &keys).await?;
    Ok(sample.average().unwrap_or(0.0))
}

/// One source's metrics and what each of its warnings is about (which the metrics, as shown to
/// clients, carry only as text).
pub struct SourceReading {
    pub metrics: DatasourceCacheMetrics,
    /// In the order of `metrics.warnings`.
    pub concerns: Vec<Concern>,
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
    let avg_sample = average_entry_bytes(state, &raw.samples).await?;
    let tally = Tally::from_fields(&raw.totals);
    let now = crate::time::now_ms();
    let last_ms = meta.as_ref().and_then(|m| crate::time::parse_iso_ms(&m.timestamp));
    let age_minutes = last_ms.map(|t| ((now - t).max(0) as f64 / 60_000.0 * 10.0).round() / 10.0);
    let index_count =
        if raw.index_list > 0 { raw.index_list } else { meta.as_ref().map(|m| m.index_count).unwrap_or(0) };
    // Data keys from the sampled average; the four other index kinds each hold about as many
    // members as the master set; plus a small per-key overhead for every index set.
    let estimated_bytes =
        avg_sample * raw.entries as f64 + raw.master_bytes.unwrap_or(0) as f64 * 5.0 + index_count as f64 * 90.0;
    let h = health::health(&HealthInput {
        is_warm: meta.is_some(),
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
        last_warmed: meta.as_ref().map(|m| m.timestamp.clone()),
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
        hits: tally.hits,
        misses: tally.misses,
        p95_query_time_ms: tally.p95_ms(),
        total_rows: m.total_rows,
        last_duration_ms: m.duration_ms,
        last_run_id: m.run_id,
        locked_by: raw.lock.as_deref().map(describe_holder),
        source_error,
    };
    Ok(SourceReading { metrics, concerns: h.concerns })
}

/// `GET /api/admin/analytics/cache/stats`: every source's metrics and the summary.
pub async fn cache_stats(state: &AppState) -> Result<CacheStats, AppError> {
    let datasources: Vec<DatasourceCacheMetrics> = read_sources(state).await?.into_iter().map(|r| r.metrics).collect();
    Ok(CacheStats { summary: summarize(&datasources), datasources, timestamp: crate::time::now_iso() })
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
    for SourceReading { metrics: s, concerns } in readings {
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
            });
        }
        for (i, (w, concern)) in s.warnings.iter().zip(concerns).enumerate() {
            let recommendation = s.recommendations.get(i).or(s.recommendations.last()).cloned().unwrap_or_default();
            issues.push(HealthIssue {
                datasource_id: s.datasource_id,
                datasource_name: s.datasource_name.clone(),
                severity: if *concern == Concern::NoTraffic { Severity::Warning } else { severity },
                issue: w.clone(),
                recommendation,
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
