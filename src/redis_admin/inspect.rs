//! The inspector: one exact key (never a pattern), type-aware and paged: strings (pretty JSON
//! when they parse, truncated beyond a limit), hashes, lists, sets, sorted sets, streams; with
//! TTL, memory and encoding. Plus the single-key actions: change its TTL, delete it. Each asks
//! the tab's [`Lane`] first.

use super::lane::Lane;
use super::patterns::validate_key;
use crate::auth::audit::{Act, Done, audited};
use crate::error::AppError;
use crate::model::audit::AuditAction;
use crate::model::input::Ttl;
use crate::model::redis::{KeyDetail, KeyValue, StreamEntry};
use crate::redis_conn::RedisResultExt;
use crate::state::AppState;

/// Bytes of a string value shown at most.
pub const STRING_LIMIT: usize = 64 * 1024;
/// Bytes of one element shown at most.
const ELEMENT_LIMIT: usize = 4096;
pub const PAGE_MAX: u64 = 500;

fn shorten(mut s: String) -> String {
    if s.len() > ELEMENT_LIMIT {
        let mut cut = ELEMENT_LIMIT;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push_str(" …");
    }
    s
}

fn text(bytes: Vec<u8>) -> String {
    shorten(String::from_utf8_lossy(&bytes).into_owned())
}

fn not_found(key: &str) -> AppError {
    AppError::not_found(format!("no key named `{key}` under the prefix"))
}

/// A stream entry as XRANGE returns it: id and field/value pairs.
type RawEntry = (String, Vec<(Vec<u8>, Vec<u8>)>);

/// Where a list or sorted-set page starts: an index Redis can take with `count` added (a start
/// past `i64::MAX` would overflow the page's end, and Redis refuses it as out of range).
fn list_index(start: &str, count: u64) -> Result<u64, AppError> {
    if start.is_empty() {
        return Ok(0);
    }
    start
        .parse::<u64>()
        .ok()
        .filter(|from| from.checked_add(count).is_some_and(|end| end <= i64::MAX as u64))
        .ok_or_else(|| {
            AppError::validation(format!(
                "start must be a whole number from 0 to {} for this type",
                i64::MAX as u64 - count
            ))
        })
}

/// Where a hash or set page starts: a SCAN cursor, the unsigned number a previous page returned
/// (Redis refuses anything else as an error of its own).
fn scan_cursor(start: &str) -> Result<String, AppError> {
    if start.is_empty() {
        return Ok("0".to_string());
    }
    start
        .parse::<u64>()
        .map(|c| c.to_string())
        .map_err(|_| AppError::validation(format!("start must be the cursor a previous page returned, not `{start}`")))
}

/// `start` is a SCAN cursor (hash, set), an index (list, zset) or a stream id.
pub async fn inspect(state: &AppState, key: &str, start: &str, count: u64, who: &str) -> Result<KeyDetail, AppError> {
    validate_key(key)?;
    Lane::of(state).check_read(key)?;
    if !(1..=PAGE_MAX).contains(&count) {
        return Err(AppError::validation(format!("count must be between 1 and {PAGE_MAX}")));
    }
    let full = state.keys.key(key);
    let mut conn = state.redis.conn().await?;
    let (kind, ttl, size, encoding): (String, i64, Option<u64>, Option<String>) = redis::pipe()
        .cmd("TYPE")
        .arg(&full)
        .cmd("TTL")
        .arg(&full)
        .cmd("MEMORY")
        .arg("USAGE")
        .arg(&full)
        .cmd("OBJECT")
        .arg("ENCODING")
        .arg(&full)
        .query_async(&mut conn)
        .await
        .ctx("inspecting a key")?;
    if kind == "none" {
        return Err(not_found(key));
    }
    let index = |s: &str| list_index(s, count);
    let cursor = scan_cursor;
    let (length, value) = match kind.as_str() {
        "string" => {
            let total: u64 = redis::cmd("STRLEN").arg(&full).query_async(&mut conn).await.ctx("reading a string")?;
            let shown: Vec<u8> = redis::cmd("GETRANGE")
                .arg(&full)
                .arg(0)
                .arg(STRING_LIMIT as i64 - 1)
                .query_async(&mut conn)
                .await
                .ctx("reading a string")?;
            let truncated = total as usize > shown.len();
            let raw = String::from_utf8_lossy(&shown).into_owned();
            let pretty = if truncated {
                None
            } else {
                serde_json::from_str::<serde_json::Value>(&raw).ok().and_then(|v| serde_json::to_string_pretty(&v).ok())
            };
            let json = pretty.is_some();
            (total, KeyValue::String { text: pretty.unwrap_or(raw), json, truncated, total_bytes: total })
        }
        "hash" => {
            let (next, flat): (String, Vec<Vec<u8>>) = redis::cmd("HSCAN")
                .arg(&full)
                .arg(cursor(start)?)
                .arg("COUNT")
                .arg(count)
                .query_async(&mut conn)
                .await
                .ctx("reading a hash")?;
            let len: u64 = redis::cmd("HLEN").arg(&full).query_async(&mut conn).await.ctx("reading a hash")?;
            let mut it = flat.into_iter();
            let mut fields = Vec::new();
            while let (Some(f), Some(v)) = (it.next(), it.next()) {
                fields.push((text(f), text(v)));
            }
            (len, KeyValue::Hash { fields, cursor: next })
        }
        "list" => {
            let from = index(start)?;
            let items: Vec<Vec<u8>> = redis::cmd("LRANGE")
                .arg(&full)
                .arg(from)
                .arg(from + count - 1)
                .query_async(&mut conn)
                .await
                .ctx("reading a list")?;
            let len: u64 = redis::cmd("LLEN").arg(&full).query_async(&mut conn).await.ctx("reading a list")?;
            (len, KeyValue::List { items: items.into_iter().map(text).collect(), start: from })
        }
        "set" => {
            let (next, members): (String, Vec<Vec<u8>>) = redis::cmd("SSCAN")
                .arg(&full)
                .arg(cursor(start)?)
                .arg("COUNT")
                .arg(count)
                .query_async(&mut conn)
                .await
                .ctx("reading a set")?;
            let len: u64 = redis::cmd("SCARD").arg(&full).query_async(&mut conn).await.ctx("reading a set")?;
            (len, KeyValue::Set { members: members.into_iter().map(text).collect(), cursor: next })
        }
        "zset" => {
            let from = index(start)?;
            let flat: Vec<(Vec<u8>, f64)> = redis::cmd("ZRANGE")
                .arg(&full)
                .arg(from)
                .arg(from + count - 1)
                .arg("WITHSCORES")
                .query_async(&mut conn)
                .await
                .ctx("reading a sorted set")?;
            let len: u64 = redis::cmd("ZCARD").arg(&full).query_async(&mut conn).await.ctx("reading a sorted set")?;
            (len, KeyValue::Zset { members: flat.into_iter().map(|(m, s)| (text(m), s)).collect(), start: from })
        }
        "stream" => {
            let from = if start.is_empty() { "-".to_string() } else { format!("({start}") };
            let raw: Vec<RawEntry> = redis::cmd("XRANGE")
                .arg(&full)
                .arg(&from)
                .arg("+")
                .arg("COUNT")
                .arg(count)
                .query_async(&mut conn)
                .await
                .map_err(|_| AppError::validation("start must be a stream entry id"))?;
            let len: u64 = redis::cmd("XLEN").arg(&full).query_async(&mut conn).await.ctx("reading a stream")?;
            let next = (raw.len() as u64 == count).then(|| raw.last().map(|e| e.0.clone())).flatten();
            let entries = raw
                .into_iter()
                .map(|(id, fields)| StreamEntry {
                    id,
                    fields: fields.into_iter().map(|(f, v)| (text(f), text(v))).collect(),
                })
                .collect();
            (len, KeyValue::Stream { entries, next })
        }
        _ => (0, KeyValue::Other),
    };
    tracing::info!(action = "redis_key_inspected", who, key, kind = %kind, "key inspected");
    Ok(KeyDetail { key: key.to_string(), kind, ttl, size, encoding: encoding.unwrap_or_default(), length, value })
}

/// [`set_key_ttl`] on behalf of a signed-in caller, counted against their TTL budget (given back
/// when the key does not exist).
pub async fn set_key_ttl_as(
    state: &AppState,
    key: &str,
    ttl: Ttl,
    who: &crate::auth::Principal,
) -> Result<i64, AppError> {
    let act = Act::new(AuditAction::RedisTtlUpdated, format!("key {key}"));
    let run = async {
        validate_key(key)?;
        refuse_protected(state, key)?;
        let op = set_key_ttl(state, key, ttl, &who.id);
        crate::auth::limits::metered(state, who, crate::model::limits::LimitClass::Ttl, op, |_| true).await
    };
    audited(state, who, act, run, |now| {
        Done::detail(if *now < 0 { "persisted".to_string() } else { format!("expires in {now} s") }).count("updated", 1)
    })
    .await
}

/// [`delete_key`] on behalf of a signed-in caller, counted against their purge budget (given
/// back when the key does not exist).
pub async fn delete_key_as(
    state: &AppState,
    key: &str,
    reason: Option<&str>,
    who: &crate::auth::Principal,
) -> Result<(), AppError> {
    let act = Act::new(AuditAction::RedisKeyDeleted, format!("key {key}")).reason(reason);
    let run = async {
        validate_key(key)?;
        refuse_protected(state, key)?;
        let op = delete_key(state, key, reason, &who.id);
        crate::auth::limits::metered(state, who, crate::model::limits::LimitClass::Purge, op, |_| true).await
    };
    audited(state, who, act, run, |()| Done::detail("deleted").count("deleted", 1)).await
}

/// [`inspect`] for a signed-in caller, audited (SPEC §5: every key inspection is recorded).
pub async fn inspect_as(
    state: &AppState,
    key: &str,
    start: &str,
    count: u64,
    who: &crate::auth::Principal,
) -> Result<KeyDetail, AppError> {
    let act = Act::new(AuditAction::RedisKeyInspected, format!("key {key}"));
    audited(state, who, act, inspect(state, key, start, count, &who.id), |d| {
        Done::detail(format!("{} of {} elements", d.kind, d.length))
    })
    .await
}

/// Sets (ttl ≥ 1) or removes (-1) the expiry of one exact key.
pub async fn set_key_ttl(state: &AppState, key: &str, ttl: Ttl, who: &str) -> Result<i64, AppError> {
    validate_key(key)?;
    refuse_protected(state, key)?;
    let full = state.keys.key(key);
    let mut conn = state.redis.conn().await?;
    let changed: i64 = if ttl.is_persist() {
        let exists: bool = redis::cmd("EXISTS").arg(&full).query_async(&mut conn).await.ctx("changing a TTL")?;
        if !exists {
            return Err(not_found(key));
        }
        redis::cmd("PERSIST").arg(&full).query_async(&mut conn).await.ctx("changing a TTL")?
    } else {
        redis::cmd("EXPIRE").arg(&full).arg(ttl.get()).query_async(&mut conn).await.ctx("changing a TTL")?
    };
    if !ttl.is_persist() && changed == 0 {
        return Err(not_found(key));
    }
    tracing::info!(action = "redis_ttl_updated", who, key, ttl = ttl.get(), "TTL of one key changed");
    redis::cmd("TTL").arg(&full).query_async(&mut conn).await.ctx("reading a TTL")
}

/// Refuses a key the tab may not change: outside its namespaces, read-only, or Hearth's own
/// state or a warm lock (see [`Lane::check_write`]).
fn refuse_protected(state: &AppState, key: &str) -> Result<(), AppError> {
    Lane::of(state).check_write(key)
}

/// Deletes exactly this key (its name is never read as a pattern).
pub async fn delete_key(state: &AppState, key: &str, reason: Option<&str>, who: &str) -> Result<(), AppError> {
    validate_key(key)?;
    refuse_protected(state, key)?;
    let mut conn = state.redis.conn().await?;
    let removed: i64 =
        redis::cmd("UNLINK").arg(state.keys.key(key)).query_async(&mut conn).await.ctx("deleting a key")?;
    if removed == 0 {
        return Err(not_found(key));
    }
    tracing::info!(action = "redis_key_deleted", who, key, reason = reason.unwrap_or(""), "key deleted");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_pages_start_where_redis_can_add_the_count() {
        assert_eq!(list_index("", 100).unwrap(), 0);
        assert_eq!(list_index("7", 100).unwrap(), 7);
        assert_eq!(list_index(&(i64::MAX as u64 - 100).to_string(), 100).unwrap(), i64::MAX as u64 - 100);
        for bad in ["-1", "abc", "1.5", "18446744073709551615", &(i64::MAX as u64 - 99).to_string()] {
            let e = list_index(bad, 100).unwrap_err();
            assert_eq!(e.code, crate::error::ErrorCode::ValidationError, "{bad}");
        }
    }

    #[test]
    fn scan_cursors_are_unsigned_numbers() {
        assert_eq!(scan_cursor("").unwrap(), "0");
        assert_eq!(scan_cursor("18446744073709551615").unwrap(), "18446744073709551615");
        for bad in ["abc", "-1", "18446744073709551616", " 1"] {
            assert!(scan_cursor(bad).is_err(), "{bad}");
        }
    }
}
