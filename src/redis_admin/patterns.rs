//! Checks on what an admin types into the Redis tab: SCAN patterns, key names, TTLs.

use crate::error::AppError;

pub const MAX_PATTERN: usize = 256;
pub const MAX_KEY: usize = 1024;

/// A glob pattern for SCAN MATCH: not empty, at most 256 characters, no control characters,
/// brackets closed and no dangling escape.
pub fn validate_pattern(pattern: &str) -> Result<(), AppError> {
    if pattern.is_empty() {
        return Err(AppError::validation("pattern is required (use * for every key under the prefix)"));
    }
    if pattern.chars().count() > MAX_PATTERN {
        return Err(AppError::validation(format!("pattern is longer than {MAX_PATTERN} characters")));
    }
    if pattern.chars().any(char::is_control) {
        return Err(AppError::validation("pattern contains control characters"));
    }
    let mut in_class = false;
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.next().is_none() => {
                return Err(AppError::validation("pattern is malformed: it ends with a lone backslash"));
            }
            '[' if !in_class => in_class = true,
            ']' if in_class => in_class = false,
            _ => {}
        }
    }
    if in_class {
        return Err(AppError::validation("pattern is malformed: a [ is never closed"));
    }
    Ok(())
}

/// True for a pattern that matches every key (`*`, `**`…).
pub fn matches_everything(pattern: &str) -> bool {
    pattern.chars().all(|c| c == '*')
}

pub fn validate_key(key: &str) -> Result<(), AppError> {
    if key.is_empty() {
        return Err(AppError::validation("key is required"));
    }
    if key.len() > MAX_KEY {
        return Err(AppError::validation(format!("key is longer than {MAX_KEY} bytes")));
    }
    Ok(())
}

/// A TTL in seconds from JSON (a number or a numeric string): positive, or -1 to persist.
pub fn parse_ttl(value: &serde_json::Value) -> Result<i64, AppError> {
    let bad = || AppError::validation("ttl must be a whole number of seconds (at least 1), or -1 to remove the expiry");
    let ttl = match value {
        serde_json::Value::Number(n) => n.as_i64().ok_or_else(bad)?,
        serde_json::Value::String(s) => s.trim().parse::<i64>().map_err(|_| bad())?,
        _ => return Err(bad()),
    };
    if ttl == -1 || (1..=10 * 365 * 86_400).contains(&ttl) { Ok(ttl) } else { Err(bad()) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn patterns_are_checked() {
        for ok in ["*", "cache:{ds:1}:*", "a?b", "[abc]*", "x\\*y", "idx:*:m:Cash: Transfer:*"] {
            assert!(validate_pattern(ok).is_ok(), "{ok}");
        }
        for bad in ["", "[abc", "abc\\", "a\u{7}b", &"x".repeat(257)] {
            assert!(validate_pattern(bad).is_err(), "{bad}");
        }
        assert!(matches_everything("**") && !matches_everything("*x"));
    }

    #[test]
    fn ttls_are_positive_or_minus_one() {
        assert_eq!(parse_ttl(&json!(60)).unwrap(), 60);
        assert_eq!(parse_ttl(&json!("3600")).unwrap(), 3600);
        assert_eq!(parse_ttl(&json!(-1)).unwrap(), -1);
        for bad in [json!(0), json!(-5), json!("soon"), json!(1.5), json!(null), json!(true)] {
            assert!(parse_ttl(&bad).is_err(), "{bad}");
        }
    }
}
