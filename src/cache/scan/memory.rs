//! The memory sampler: `MEMORY USAGE` of a few keys of each batch a caller meets, averaged and
//! scaled to every key it counted. Deleting callers measure a batch before they delete it.

use crate::error::AppError;
use crate::redis_conn::{Conn, RedisResultExt, per_key};

/// A running size estimate over batches of (prefixed) keys.
#[derive(Debug, Clone)]
pub struct MemorySample {
    per_batch: usize,
    limit: usize,
    keys: u64,
    measured: u64,
    bytes: u64,
}

impl MemorySample {
    /// Measures at most `per_batch` keys of each batch, evenly spread, and `limit` in all.
    pub fn new(per_batch: usize, limit: usize) -> MemorySample {
        MemorySample { per_batch, limit, keys: 0, measured: 0, bytes: 0 }
    }

    /// Counts `batch` and measures a few of its keys (one pipeline; keys gone meanwhile are
    /// counted but not measured).
    pub async fn add(&mut self, conn: &mut Conn, batch: &[String]) -> Result<(), AppError> {
        self.keys += batch.len() as u64;
        let quota = self.per_batch.min(self.limit.saturating_sub(self.measured as usize));
        if batch.is_empty() || quota == 0 {
            return Ok(());
        }
        let step = (batch.len() / quota).max(1);
        let cmds = batch.iter().step_by(step).take(quota).map(|key| redis::cmd("MEMORY").arg("USAGE").arg(key).clone());
        let sizes: Vec<Option<u64>> = per_key(conn, cmds.collect()).await.ctx("sampling memory usage")?;
        for size in sizes.into_iter().flatten() {
            self.measured += 1;
            self.bytes += size;
        }
        Ok(())
    }

    /// Average bytes of the keys measured; `None` when none was.
    pub fn average(&self) -> Option<f64> {
        (self.measured > 0).then(|| self.bytes as f64 / self.measured as f64)
    }

    /// Estimated bytes of every key counted.
    pub fn estimate(&self) -> f64 {
        if self.measured == 0 { 0.0 } else { self.bytes as f64 * self.keys as f64 / self.measured as f64 }
    }

    /// Keys counted.
    pub fn keys(&self) -> u64 {
        self.keys
    }
}
