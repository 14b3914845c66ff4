//! Shapes of the analytics cache: per-source metrics and summary (SPEC §3), health, invalidation,
//! cached queries and trends.

use serde::{Deserialize, Serialize};

use super::input::{DatasourceId, Reason};

/// Where a warm is; stored in a job's `phase` field as [`WarmPhase::as_str`] (= its JSON name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WarmPhase {
    /// Its job waits for a worker.
    Queued,
    Preparing,
    Reading,
    Cutover,
    Cleanup,
    Done,
}

impl WarmPhase {
    pub fn as_str(self) -> &'static str {
        match self {
            WarmPhase::Queued => "queued",
            WarmPhase::Preparing => "preparing",
            WarmPhase::Reading => "reading",
            WarmPhase::Cutover => "cutover",
            WarmPhase::Cleanup => "cleanup",
            WarmPhase::Done => "done",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HealthLabel {
    Cold,
    Stale,
    Degraded,
    Good,
    Excellent,
}

impl HealthLabel {
    pub fn as_str(self) -> &'static str {
        match self {
            HealthLabel::Cold => "cold",
            HealthLabel::Stale => "stale",
            HealthLabel::Degraded => "degraded",
            HealthLabel::Good => "good",
            HealthLabel::Excellent => "excellent",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DatasourceCacheMetrics {
    pub datasource_id: i64,
    pub datasource_name: String,
    pub is_warm: bool,
    pub last_warmed: Option<String>,
    pub age_minutes: Option<f64>,
    pub total_entries: u64,
    pub index_count: u64,
    /// SPEC §3 spells it `…MB`; serde's camelCase would write `…Mb`.
    #[serde(rename = "estimatedMemoryMB")]
    pub estimated_memory_mb: f64,
    pub unique_measures: u64,
    pub unique_practices: u64,
    pub unique_providers: u64,
    pub unique_frequencies: Vec<String>,
    pub avg_query_time_ms: f64,
    pub cache_hit_rate: f64,
    /// Queries since the last warm.
    pub total_queries: u64,
    pub health: HealthLabel,
    pub health_score: u32,
    pub warnings: Vec<String>,
    // Hearth's additions.
    pub recommendations: Vec<String>,
    /// The score's four parts (SPEC §4: age, hit rate, measures, practices); their points sum
    /// to `healthScore`, and each carries its own warning beside its own recommendation.
    pub health_parts: Vec<HealthPart>,
    /// Warm, but no query since the warm: the hit-rate part is not measured (SPEC §4), and
    /// every view of the label or score says "no traffic yet".
    pub no_traffic_yet: bool,
    /// When the whole source was last invalidated (ISO-8601); `lastWarmed` still says when it
    /// was last warmed, so a cold source does not read "never warmed".
    pub invalidated_at: Option<String>,
    pub hits: u64,
    pub misses: u64,
    pub p95_query_time_ms: f64,
    pub total_rows: u64,
    pub last_duration_ms: Option<u64>,
    pub last_run_id: Option<String>,
    /// Who holds the warm lock right now, if anyone.
    pub locked_by: Option<String>,
    /// Seconds until the cache expires (the metadata key's TTL); `None` when cold or persistent.
    pub ttl_left_secs: Option<u64>,
    /// The data source itself is broken (unreachable, missing table…).
    pub source_error: Option<String>,
}

/// One part of a source's health score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthPart {
    /// `age`, `hitRate`, `measures` or `practices`.
    pub part: String,
    /// What an admin reads, e.g. "Cache age".
    pub label: String,
    pub points: u32,
    pub max: u32,
    /// `false` when the part could not be measured (hit rate with no traffic, a cold source):
    /// its points are the SPEC's default, not a measurement.
    pub measured: bool,
    pub warning: Option<String>,
    pub recommendation: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HealthDistribution {
    pub excellent: u64,
    pub good: u64,
    pub degraded: u64,
    pub stale: u64,
    pub cold: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CacheSummary {
    pub total_datasources: u64,
    pub warm_datasources: u64,
    pub cold_datasources: u64,
    pub total_cache_entries: u64,
    pub total_indexes: u64,
    #[serde(rename = "totalMemoryMB")]
    pub total_memory_mb: f64,
    pub overall_cache_hit_rate: f64,
    /// Mean age of the warm sources' caches, minutes.
    pub avg_cache_age: Option<f64>,
    /// When the oldest warm cache was written (ISO-8601).
    pub oldest_cache: Option<String>,
    pub health_distribution: HealthDistribution,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CacheStats {
    pub summary: CacheSummary,
    pub datasources: Vec<DatasourceCacheMetrics>,
    pub timestamp: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthIssue {
    pub datasource_id: i64,
    pub datasource_name: String,
    pub severity: Severity,
    pub issue: String,
    pub recommendation: String,
    /// Hearth's: a warm is the fix (cold or old cache), so the console offers one beside it.
    #[serde(default)]
    pub warm_fixes: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OverallHealth {
    Excellent,
    Good,
    Degraded,
    Critical,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthReport {
    pub overall: OverallHealth,
    pub issues: Vec<HealthIssue>,
    pub recommendations: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvalidateRequest {
    pub datasource_id: Option<DatasourceId>,
    pub measure: Option<String>,
    pub practice: Option<String>,
    pub frequency: Option<String>,
    pub reason: Option<Reason>,
    pub dry_run: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SkippedSource {
    pub datasource_id: i64,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvalidateResult {
    pub dry_run: bool,
    /// Data keys (and Hearth/legacy leftovers) deleted, or that would be.
    pub keys_deleted: u64,
    /// Index sets deleted, or that would be.
    pub indexes_deleted: u64,
    /// Index sets that lose members but stay (slice invalidation).
    pub indexes_updated: u64,
    #[serde(rename = "memoryFreedMB")]
    pub memory_freed_mb: f64,
    pub datasources_invalidated: Vec<i64>,
    pub skipped: Vec<SkippedSource>,
    /// Milliseconds.
    pub duration: u64,
    pub message: String,
    /// The first keys concerned (at most 100).
    pub keys: Vec<String>,
    /// The first index sets concerned (at most 100).
    pub index_sets: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrendPoint {
    /// Start of the bucket (ISO-8601).
    pub t: String,
    pub hits: u64,
    pub misses: u64,
    pub avg_ms: f64,
    pub p95_ms: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Trends {
    pub datasource_id: i64,
    /// `1h` (per minute), `24h` or `7d` (per hour).
    pub range: String,
    pub points: Vec<TrendPoint>,
}

/// One source's page: its metrics and its jobs, newest first (the completed ones give the
/// per-warm series: entries, memory, rows, duration).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceDetails {
    pub metrics: DatasourceCacheMetrics,
    /// Active first, then finished ones from the history, newest first (at most 50).
    pub jobs: Vec<super::jobs::Job>,
    pub timestamp: String,
}
