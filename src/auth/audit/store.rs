//! The audit stream: one entry per stream item (its JSON in field `e`), trimmed by count and
//! age as it is appended; read newest first in pages, filtered by user, action, source,
//! outcome and time, with the stream id as the cursor (a time range is a range of ids).

use crate::error::AppError;
use crate::model::audit::{AuditAction, AuditEntry, AuditOutcome, AuditPage, AuditQuery};
use crate::redis_conn::RedisResultExt;
use crate::state::AppState;

/// Stream items read per round trip.
const PAGE: usize = 500;
/// Items one request examines at most; a narrow filter over a long trail then answers with a
/// short page and a cursor to go on from, instead of reading the whole stream at once.
const MAX_EXAMINED: usize = 20_000;
pub const DEFAULT_LIMIT: usize = 50;
pub const MAX_LIMIT: usize = 500;

/// Appends `entry`, trimming the stream to its cap and retention on the way.
pub async fn append(state: &AppState, entry: &AuditEntry) -> Result<(), AppError> {
    let json = serde_json::to_string(entry).map_err(|e| AppError::internal(format!("encoding an audit entry: {e}")))?;
    let key = state.keys.audit_log();
    let mut pipe = redis::pipe();
    pipe.cmd("XADD").arg(&key).arg("MAXLEN").arg("~").arg(state.config.audit_max_entries).arg("*").arg("e").arg(json);
    if state.config.audit_retention_days > 0 {
        let oldest = crate::time::now_ms() - state.config.audit_retention_days as i64 * 86_400_000;
        pipe.cmd("XTRIM").arg(&key).arg("MINID").arg("~").arg(oldest.max(0)).ignore();
    }
    let mut conn = state.redis.conn().await?;
    let _: (String,) = pipe.query_async(&mut conn).await.ctx("appending to the audit trail")?;
    Ok(())
}

/// The checked form of an [`AuditQuery`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    pub user: Option<String>,
    pub action: Option<AuditAction>,
    pub source: Option<i64>,
    pub outcome: Option<AuditOutcome>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    /// Exclusive: the page starts below this id.
    pub cursor: Option<String>,
    pub limit: usize,
}

impl Filter {
    /// Checks every field, naming the one that is wrong.
    pub fn parse(q: &AuditQuery) -> Result<Filter, AppError> {
        let text = |v: &Option<String>| v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_string);
        let user = text(&q.user);
        if user.as_ref().is_some_and(|u| u.len() > 256) {
            return Err(AppError::validation("user is longer than 256 characters"));
        }
        let action = text(&q.action)
            .map(|a| {
                AuditAction::parse(&a).ok_or_else(|| {
                    AppError::validation(format!("action `{a}` is not an audit action (e.g. cache_warm_initiated)"))
                })
            })
            .transpose()?;
        let source = text(&q.source)
            .map(|s| match s.parse::<i64>() {
                Ok(id) if id > 0 => Ok(id),
                _ => Err(AppError::validation(format!("source `{s}` is not a source id (a positive whole number)"))),
            })
            .transpose()?;
        let outcome = text(&q.outcome)
            .map(|o| {
                AuditOutcome::parse(&o).ok_or_else(|| {
                    AppError::validation(format!("outcome `{o}` is not one of ok, refused, rejected, failed"))
                })
            })
            .transpose()?;
        let from_ms = text(&q.from).map(|t| parse_time(&t, "from", false)).transpose()?;
        let to_ms = text(&q.to).map(|t| parse_time(&t, "to", true)).transpose()?;
        if let (Some(f), Some(t)) = (from_ms, to_ms)
            && f > t
        {
            return Err(AppError::validation("from is after to"));
        }
        let cursor = text(&q.cursor)
            .map(|c| {
                if is_stream_id(&c) {
                    Ok(c)
                } else {
                    Err(AppError::validation("cursor is not one this API returned (expected `<ms>-<n>`)"))
                }
            })
            .transpose()?;
        let limit = match text(&q.limit) {
            None => DEFAULT_LIMIT,
            Some(l) => match l.parse::<usize>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
                _ => return Err(AppError::validation(format!("limit must be a whole number from 1 to {MAX_LIMIT}"))),
            },
        };
        Ok(Filter { user, action, source, outcome, from_ms, to_ms, cursor, limit })
    }

    pub fn matches(&self, e: &AuditEntry) -> bool {
        self.user.as_ref().is_none_or(|u| *u == e.user_id)
            && self.action.is_none_or(|a| a == e.action)
            && self.source.is_none_or(|s| Some(s) == e.source_id)
            && self.outcome.is_none_or(|o| o == e.outcome)
    }
}

/// `<ms>-<n>`, both parts whole numbers.
fn is_stream_id(text: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit());
    text.split_once('-').is_some_and(|(ms, n)| digits(ms) && digits(n) && ms.parse::<u64>().is_ok())
}

/// Epoch milliseconds, RFC 3339, or (as date and time inputs send them, read as UTC)
/// `YYYY-MM-DD` and `YYYY-MM-DDTHH:MM[:SS]`. A bare date as `to` means the end of that day.
pub fn parse_time(text: &str, field: &str, end_of_day: bool) -> Result<i64, AppError> {
    use chrono::{NaiveDate, NaiveDateTime};
    let bad = || {
        AppError::validation(format!(
            "{field} `{text}` is not a time: use ISO 8601 (2026-12-03T17:00:00Z), a date (2026-12-03) or epoch milliseconds"
        ))
    };
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse::<i64>().map_err(|_| bad());
    }
    if let Some(ms) = crate::time::parse_iso_ms(text) {
        return Ok(ms);
    }
    for format in ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
            return Ok(t.and_utc().timestamp_millis());
        }
    }
    let day = NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| bad())?;
    let start = day.and_hms_opt(0, 0, 0).ok_or_else(bad)?.and_utc().timestamp_millis();
    Ok(if end_of_day { start + 86_400_000 - 1 } else { start })
}

/// One raw page of the stream below `end` (an id, `(id` for exclusive, or `+`) down to `start`.
async fn read_page(
    conn: &mut crate::redis_conn::Conn,
    key: &str,
    end: &str,
    start: &str,
    count: usize,
) -> Result<Vec<(String, Option<AuditEntry>)>, AppError> {
    // Each item is `[id, [field, value, …]]`.
    let items: Vec<(String, Vec<String>)> = redis::cmd("XREVRANGE")
        .arg(key)
        .arg(end)
        .arg(start)
        .arg("COUNT")
        .arg(count)
        .query_async(conn)
        .await
        .ctx("reading the audit trail")?;
    Ok(items
        .into_iter()
        .map(|(id, fields)| {
            let json = fields.chunks(2).find(|kv| kv[0] == "e").and_then(|kv| kv.get(1));
            let entry = json.and_then(|j| serde_json::from_str::<AuditEntry>(j).ok());
            let entry = entry.map(|e| AuditEntry { id: id.clone(), ..e });
            (id, entry)
        })
        .collect())
}

/// One page of entries, newest first, that match `filter`.
pub async fn list(state: &AppState, filter: &Filter) -> Result<AuditPage, AppError> {
    let key = state.keys.audit_log();
    let mut conn = state.redis.conn().await?;
    let mut end = match (&filter.cursor, filter.to_ms) {
        (Some(c), _) => format!("({c}"),
        (None, Some(to)) => format!("{to}-18446744073709551615"),
        (None, None) => "+".to_string(),
    };
    let start = filter.from_ms.map(|f| f.max(0).to_string()).unwrap_or_else(|| "-".to_string());
    let (mut entries, mut examined, mut next_cursor) = (Vec::new(), 0usize, None);
    'pages: loop {
        let page = read_page(&mut conn, &key, &end, &start, PAGE).await?;
        let full = page.len() == PAGE;
        for (id, entry) in page {
            examined += 1;
            // An item this version cannot read (written by a newer one) is skipped, not fatal.
            if let Some(e) = entry.filter(|e| filter.matches(e)) {
                entries.push(e);
            }
            if entries.len() == filter.limit || examined >= MAX_EXAMINED {
                next_cursor = Some(id);
                break 'pages;
            }
            end = format!("({id}");
        }
        if !full {
            break;
        }
    }
    // A cursor at the very last item leads to an empty page: say there is no more.
    if let Some(c) = &next_cursor
        && read_page(&mut conn, &key, &format!("({c}"), &start, 1).await?.is_empty()
    {
        next_cursor = None;
    }
    let stored: u64 = redis::cmd("XLEN").arg(&key).query_async(&mut conn).await.ctx("counting the audit trail")?;
    Ok(AuditPage {
        entries,
        next_cursor,
        write_failures: state.audit_failures.load(std::sync::atomic::Ordering::Relaxed),
        stored,
        capacity: state.config.audit_max_entries,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> AuditQuery {
        let map: serde_json::Map<_, _> = pairs.iter().map(|(k, v)| (k.to_string(), serde_json::json!(v))).collect();
        serde_json::from_value(serde_json::Value::Object(map)).unwrap()
    }

    #[test]
    fn filters_are_checked_field_by_field() {
        let f = Filter::parse(&query(&[
            ("user", "alice"),
            ("action", "cache_warm_initiated"),
            ("source", "3"),
            ("outcome", "refused"),
            ("from", "2026-12-01"),
            ("to", "2026-12-01"),
            ("limit", "10"),
        ]))
        .unwrap();
        assert_eq!(f.action, Some(AuditAction::CacheWarmInitiated));
        assert_eq!(f.source, Some(3));
        assert_eq!(f.outcome, Some(AuditOutcome::Refused));
        assert_eq!(f.to_ms.unwrap() - f.from_ms.unwrap(), 86_400_000 - 1);
        assert_eq!(f.limit, 10);
        for (field, bad) in [
            ("action", "warm"),
            ("source", "0"),
            ("source", "x"),
            ("outcome", "maybe"),
            ("from", "yesterday"),
            ("cursor", "abc"),
            ("cursor", "1-"),
            ("limit", "0"),
            ("limit", "501"),
            ("limit", "1e9"),
        ] {
            let e = Filter::parse(&query(&[(field, bad)])).unwrap_err();
            assert!(e.message.contains(field), "{field}={bad}: {}", e.message);
        }
        let e = Filter::parse(&query(&[("from", "2026-12-02"), ("to", "2026-12-01")])).unwrap_err();
        assert!(e.message.contains("after"));
        assert_eq!(Filter::parse(&AuditQuery::default()).unwrap().limit, DEFAULT_LIMIT);
    }

    #[test]
    fn times_read_as_people_and_browsers_write_them() {
        assert_eq!(parse_time("1700000000000", "from", false).unwrap(), 1_700_000_000_000);
        let iso = parse_time("2026-12-03T17:00:00Z", "from", false).unwrap();
        assert_eq!(parse_time("2026-12-03T17:00", "from", false).unwrap(), iso);
        assert_eq!(parse_time("2026-12-03T18:00:00+01:00", "from", false).unwrap(), iso);
        assert_eq!(parse_time("2026-12-03", "to", true).unwrap() + 1, parse_time("2026-12-04", "from", false).unwrap());
    }
}
