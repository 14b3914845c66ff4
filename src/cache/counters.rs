//! Query counters in Redis, so every instance reports the same hit rate and latency: per source,
//! per minute and per hour (kept HEARTH_STATS_RETENTION_DAYS), and since the last warm (reset by
//! the cutover). Each field is a hits/misses/latency-sum/histogram counter; queries are tallied in
//! memory and flushed once a second, one pipeline for all sources.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::error::AppError;
use crate::model::cache::TrendPoint;
use crate::redis_conn::RedisResultExt;
use crate::state::AppState;

/// Upper bounds of the latency histogram, microseconds.
pub const BUCKETS_US: [u64; 16] =
    [250, 500, 750, 1000, 1500, 2000, 3000, 5000, 7500, 10_000, 20_000, 50_000, 100_000, 250_000, 1_000_000, u64::MAX];

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    pub hits: u64,
    pub misses: u64,
    pub sum_us: u64,
    pub histogram: [u64; 16],
}

impl Tally {
    pub fn add(&mut self, hit: bool, micros: u64) {
        if hit {
            self.hits += 1;
        } else {
            self.misses += 1;
        }
        self.sum_us += micros;
        let bucket = BUCKETS_US.iter().position(|b| micros <= *b).unwrap_or(BUCKETS_US.len() - 1);
        self.histogram[bucket] += 1;
    }

    pub fn merge(&mut self, other: &Tally) {
        self.hits += other.hits;
        self.misses += other.misses;
        self.sum_us += other.sum_us;
        for (a, b) in self.histogram.iter_mut().zip(other.histogram) {
            *a += b;
        }
    }

    pub fn queries(&self) -> u64 {
        self.hits + self.misses
    }

    /// Percent of queries that hit; `None` without queries.
    pub fn hit_rate(&self) -> Option<f64> {
        (self.queries() > 0).then(|| self.hits as f64 * 100.0 / self.queries() as f64)
    }

    pub fn avg_ms(&self) -> f64 {
        if self.queries() == 0 { 0.0 } else { self.sum_us as f64 / self.queries() as f64 / 1000.0 }
    }

    /// The upper bound of the histogram bucket holding the 95th percentile, ms.
    pub fn p95_ms(&self) -> f64 {
        let n = self.queries();
        if n == 0 {
            return 0.0;
        }
        let target = (n as f64 * 0.95).ceil() as u64;
        let mut seen = 0;
        for (i, count) in self.histogram.iter().enumerate() {
            seen += count;
            if seen >= target {
                let bound = BUCKETS_US[i];
                // The open last bucket reports the mean of what fell in it instead of infinity.
                return if bound == u64::MAX { self.avg_ms().max(1000.0) } else { bound as f64 / 1000.0 };
            }
        }
        0.0
    }

    fn fields(&self) -> Vec<(String, u64)> {
        let mut out =
            vec![("h".to_string(), self.hits), ("m".to_string(), self.misses), ("s".to_string(), self.sum_us)];
        for (i, n) in self.histogram.iter().enumerate().filter(|(_, n)| **n > 0) {
            out.push((format!("b{i}"), *n));
        }
        out
    }

    pub fn from_fields(fields: &HashMap<String, u64>) -> Tally {
        let get = |k: &str| fields.get(k).copied().unwrap_or(0);
        let mut t = Tally { hits: get("h"), misses: get("m"), sum_us: get("s"), histogram: [0; 16] };
        for (i, slot) in t.histogram.iter_mut().enumerate() {
            *slot = get(&format!("b{i}"));
        }
        t
    }
}

/// In-process tallies waiting to be flushed, per (source, epoch minute).
#[derive(Default)]
pub struct QueryRecorder {
    pending: Mutex<HashMap<(i64, i64), Tally>>,
}

impl QueryRecorder {
    pub fn record(&self, ds: i64, hit: bool, micros: u64) {
        crate::metrics::query(ds, hit, micros);
        let minute = crate::time::now_ms() / 60_000;
        self.pending.lock().expect("recorder lock").entry((ds, minute)).or_default().add(hit, micros);
    }

    /// Writes the pending tallies to Redis, one pipeline per source (a source's counters share
    /// its `{ds:N}` slot; a cluster refuses a pipeline across slots). A source whose write fails
    /// keeps its tallies for the next flush.
    pub async fn flush(&self, state: &AppState) -> Result<(), AppError> {
        let pending: HashMap<(i64, i64), Tally> = std::mem::take(&mut *self.pending.lock().expect("recorder lock"));
        if pending.is_empty() {
            return Ok(());
        }
        let mut by_source: HashMap<i64, Vec<(i64, Tally)>> = HashMap::new();
        for ((ds, minute), t) in pending {
            by_source.entry(ds).or_default().push((minute, t));
        }
        let mut first_error = None;
        for (ds, tallies) in by_source {
            let written = self.write(state, ds, &tallies).await;
            if let Err(e) = written {
                first_error.get_or_insert(e);
                let mut back = self.pending.lock().expect("recorder lock");
                // Keep a bounded backlog while Redis is away: an hour of minutes per source at most.
                for (minute, t) in tallies {
                    if back.len() < 10_000 {
                        back.entry((ds, minute)).or_default().merge(&t);
                    }
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// One source's tallies (per minute), into its minute, hour and totals hashes.
    async fn write(&self, state: &AppState, ds: i64, tallies: &[(i64, Tally)]) -> Result<(), AppError> {
        let keys = &state.keys;
        let retention_ms = state.config.stats_retention_days * 86_400_000;
        let mut pipe = redis::pipe();
        for (minute, tally) in tallies {
            let targets = [
                (keys.query_minute(ds, *minute), retention_ms),
                (keys.query_hour(ds, minute / 60), retention_ms),
                (keys.query_totals(ds), state.config.cache_ttl_secs * 1000),
            ];
            for (key, ttl) in targets {
                for (field, n) in tally.fields() {
                    pipe.cmd("HINCRBY").arg(&key).arg(field).arg(n).ignore();
                }
                pipe.cmd("PEXPIRE").arg(&key).arg(ttl).ignore();
            }
        }
        let mut conn = state.redis.conn().await?;
        pipe.query_async::<()>(&mut conn).await.ctx("recording query counters")
    }
}

/// Flushes the recorder every second until `shutdown` flips, then once more.
pub async fn run_flusher(state: AppState, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => {
                let _ = state.query_stats.flush(&state).await;
                return;
            }
        }
        if let Err(e) = state.query_stats.flush(&state).await {
            tracing::debug!(error = %e.message, "query counters not flushed yet");
        }
    }
}

async fn read(state: &AppState, keys: &[String]) -> Result<Vec<Tally>, AppError> {
    let mut pipe = redis::pipe();
    for k in keys {
        pipe.cmd("HGETALL").arg(k);
    }
    let mut conn = state.redis.conn().await?;
    let maps: Vec<HashMap<String, u64>> = pipe.query_async(&mut conn).await.ctx("reading query counters")?;
    Ok(maps.iter().map(Tally::from_fields).collect())
}

/// Queries of source `ds` since its last warm.
pub async fn since_last_warm(state: &AppState, ds: i64) -> Result<Tally, AppError> {
    Ok(read(state, &[state.keys.query_totals(ds)]).await?.pop().unwrap_or_default())
}

/// Hit/miss/latency series: `1h` per minute, `24h` and `7d` per hour.
pub async fn trend(state: &AppState, ds: i64, range: &str) -> Result<Vec<TrendPoint>, AppError> {
    let now_minute = crate::time::now_ms() / 60_000;
    let (starts, keys): (Vec<i64>, Vec<String>) = match range {
        "1h" => (now_minute - 59..=now_minute).map(|m| (m * 60_000, state.keys.query_minute(ds, m))).unzip(),
        "24h" | "7d" => {
            let hours = if range == "24h" { 24 } else { 168 };
            let now_hour = now_minute / 60;
            (now_hour - hours + 1..=now_hour).map(|h| (h * 3_600_000, state.keys.query_hour(ds, h))).unzip()
        }
        other => return Err(AppError::validation(format!("range must be 1h, 24h or 7d, not `{other}`"))),
    };
    let tallies = read(state, &keys).await?;
    Ok(starts
        .into_iter()
        .zip(tallies)
        .map(|(start, t)| TrendPoint {
            t: crate::time::iso_from_ms(start),
            hits: t.hits,
            misses: t.misses,
            avg_ms: t.avg_ms(),
            p95_ms: t.p95_ms(),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tallies_compute_rate_mean_and_p95() {
        let mut t = Tally::default();
        for _ in 0..90 {
            t.add(true, 400);
        }
        for _ in 0..10 {
            t.add(false, 4000);
        }
        assert_eq!(t.hit_rate(), Some(90.0));
        assert!((t.avg_ms() - 0.76).abs() < 1e-9);
        assert_eq!(t.p95_ms(), 5.0);
        let round_trip = Tally::from_fields(&t.fields().into_iter().collect());
        assert_eq!(round_trip, t);
        assert_eq!(Tally::default().hit_rate(), None);
    }
}
