//! The finished jobs a page at a time, newest first, filtered by source, status and time; the
//! cursor goes past the Warming tab's last 50 to the end of the capped history.

use super::store;
use crate::auth::audit::store::parse_time;
use crate::error::AppError;
use crate::model::jobs::{Job, JobHistoryPage, JobHistoryQuery, JobStatus};
use crate::redis_conn::RedisResultExt;
use crate::state::AppState;

const DEFAULT_LIMIT: usize = 50;
const MAX_LIMIT: usize = 200;
/// History entries read per round trip while looking for matches.
const BATCH: usize = 200;

/// A checked [`JobHistoryQuery`].
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryFilter {
    pub source: Option<i64>,
    pub status: Option<JobStatus>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    /// (finish time ms, job id) of the last job of the previous page.
    pub cursor: Option<(i64, String)>,
    pub limit: usize,
}

fn blank(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

impl HistoryFilter {
    pub fn parse(q: &JobHistoryQuery) -> Result<Self, AppError> {
        let source = match blank(&q.source) {
            Some(s) => Some(s.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| {
                AppError::validation(format!("source `{s}` is not a source id (a positive integer)"))
            })?),
            None => None,
        };
        let status = match blank(&q.status) {
            Some(s) => Some(JobStatus::parse(s).filter(|st| st.is_terminal()).ok_or_else(|| {
                AppError::validation(format!(
                    "status `{s}` is not a finished job's status (completed, failed, cancelled)"
                ))
            })?),
            None => None,
        };
        let from_ms = blank(&q.from).map(|t| parse_time(t, "from", false)).transpose()?;
        let to_ms = blank(&q.to).map(|t| parse_time(t, "to", true)).transpose()?;
        if let (Some(f), Some(t)) = (from_ms, to_ms)
            && f > t
        {
            return Err(AppError::validation("from is after to"));
        }
        let cursor = match blank(&q.cursor) {
            Some(c) => {
                let bad = || AppError::validation(format!("cursor `{c}` is not one this list gave"));
                let (score, id) = c.split_once('-').ok_or_else(bad)?;
                let score = score.parse::<i64>().map_err(|_| bad())?;
                if id.is_empty() || id.len() > 40 || !id.chars().all(|ch| ch.is_ascii_alphanumeric()) {
                    return Err(bad());
                }
                Some((score, id.to_string()))
            }
            None => None,
        };
        let limit =
            match blank(&q.limit) {
                Some(l) => l.parse::<usize>().ok().filter(|n| (1..=MAX_LIMIT).contains(n)).ok_or_else(|| {
                    AppError::validation(format!("limit must be a whole number from 1 to {MAX_LIMIT}"))
                })?,
                None => DEFAULT_LIMIT,
            };
        Ok(HistoryFilter { source, status, from_ms, to_ms, cursor, limit })
    }

    fn matches(&self, job: &Job) -> bool {
        self.source.is_none_or(|s| job.datasource_id == s) && self.status.is_none_or(|s| job.status == s)
    }

    /// Whether (score, id) comes after the cursor in newest-first order (ZREVRANGE's: score
    /// descending, then id descending).
    fn after_cursor(&self, score: i64, id: &str) -> bool {
        match &self.cursor {
            Some((s, c)) => score < *s || (score == *s && id < c.as_str()),
            None => true,
        }
    }
}

/// One page of finished jobs, newest first, and the cursor of the next when there is more.
pub async fn page(state: &AppState, f: &HistoryFilter) -> Result<JobHistoryPage, AppError> {
    let max = match (f.cursor.as_ref().map(|c| c.0), f.to_ms) {
        (Some(c), Some(t)) => c.min(t).to_string(),
        (Some(c), None) => c.to_string(),
        (None, Some(t)) => t.to_string(),
        (None, None) => "+inf".to_string(),
    };
    let min = f.from_ms.map(|m| m.to_string()).unwrap_or_else(|| "-inf".to_string());
    let mut found: Vec<(i64, Job)> = Vec::new();
    let mut offset = 0usize;
    // One more than the page: whether it exists says if there is a next page.
    while found.len() <= f.limit {
        let batch: Vec<(String, f64)> = {
            let mut conn = state.redis.conn().await?;
            redis::cmd("ZREVRANGEBYSCORE")
                .arg(state.keys.jobs_history())
                .arg(&max)
                .arg(&min)
                .arg("WITHSCORES")
                .arg("LIMIT")
                .arg(offset)
                .arg(BATCH)
                .query_async(&mut conn)
                .await
                .ctx("listing finished jobs")?
        };
        if batch.is_empty() {
            break;
        }
        offset += batch.len();
        let batch: Vec<(String, i64)> =
            batch.into_iter().map(|(id, s)| (id, s as i64)).filter(|(id, s)| f.after_cursor(*s, id)).collect();
        let ids: Vec<String> = batch.iter().map(|(id, _)| id.clone()).collect();
        let records = store::get_many(state, &ids).await?;
        for (id, score) in &batch {
            if let Some(r) = records.iter().find(|r| &r.job.job_id == id)
                && f.matches(&r.job)
            {
                found.push((*score, r.job.clone()));
                if found.len() > f.limit {
                    break;
                }
            }
        }
    }
    let next_cursor = if found.len() > f.limit {
        found.truncate(f.limit);
        found.last().map(|(score, job)| format!("{score}-{}", job.job_id))
    } else {
        None
    };
    Ok(JobHistoryPage { jobs: found.into_iter().map(|(_, j)| j).collect(), next_cursor })
}

/// Reads and checks the query, then [`page`]: what REST and the server function both call.
pub async fn list(state: &AppState, q: &JobHistoryQuery) -> Result<JobHistoryPage, AppError> {
    page(state, &HistoryFilter::parse(q)?).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_filters_are_refused_with_the_parameter_named() {
        let q = |f: fn(&mut JobHistoryQuery)| {
            let mut q = JobHistoryQuery::default();
            f(&mut q);
            HistoryFilter::parse(&q)
        };
        assert!(q(|q| q.source = Some("-3".into())).unwrap_err().message.contains("source"));
        assert!(q(|q| q.status = Some("warming".into())).unwrap_err().message.contains("status"));
        assert!(q(|q| q.cursor = Some("x".into())).unwrap_err().message.contains("cursor"));
        assert!(q(|q| q.limit = Some("0".into())).unwrap_err().message.contains("limit"));
        assert!(
            q(|q| {
                q.from = Some("2026-12-03".into());
                q.to = Some("2026-12-01".into())
            })
            .is_err()
        );
        let ok = q(|q| {
            q.source = Some("7".into());
            q.status = Some("failed".into());
            q.cursor = Some("1700-jabc".into())
        })
        .unwrap();
        assert_eq!(
            (ok.source, ok.status, ok.cursor, ok.limit),
            (Some(7), Some(JobStatus::Failed), Some((1700, "jabc".into())), 50)
        );
    }
}
