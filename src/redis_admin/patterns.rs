//! Checks on what an admin types into the Redis tab: SCAN patterns and key names (a TTL is a
//! [`crate::model::input::Ttl`], checked when the request is read).

use crate::error::AppError;

pub const MAX_PATTERN: usize = 256;
pub const MAX_KEY: usize = 1024;
/// Wildcards (`*`, `?`, `[…]`) a pattern may hold. Redis matches a SCAN pattern against every
/// key it examines, and its glob matcher backtracks: a pattern of many `*` against long keys can
/// pin Redis's one thread (CVE-2022-36021; Redis before 6.0.18, 6.2.11 and 7.0.9 had no bound at
/// all). The cache's own keys need at most five (`cache:{ds:*}:m:*:p:*:prov:*:freq:*`); eight
/// leaves room for a question mark or a class and stays far from the exponential cases.
pub const MAX_WILDCARDS: usize = 8;

/// A glob pattern for SCAN MATCH: not empty, at most 256 characters, no control characters,
/// brackets closed, no dangling escape and at most [`MAX_WILDCARDS`] wildcards.
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
    let (mut in_class, mut wildcards) = (false, 0usize);
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.next().is_none() => {
                return Err(AppError::validation("pattern is malformed: it ends with a lone backslash"));
            }
            '[' if !in_class => {
                in_class = true;
                wildcards += 1;
            }
            ']' if in_class => in_class = false,
            '*' | '?' if !in_class => wildcards += 1,
            _ => {}
        }
    }
    if in_class {
        return Err(AppError::validation("pattern is malformed: a [ is never closed"));
    }
    if wildcards > MAX_WILDCARDS {
        return Err(AppError::validation(format!(
            "pattern has {wildcards} wildcards (* ? [); at most {MAX_WILDCARDS} are allowed, so that matching it cannot stall Redis"
        )));
    }
    Ok(())
}

/// The literal text every key matching `pattern` starts with (escapes resolved), and whether
/// that is the whole pattern (then it matches that one name only).
pub fn literal_head(pattern: &str) -> (String, bool) {
    let mut head = String::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '*' | '?' | '[' => return (head, false),
            '\\' => head.extend(chars.next()),
            c => head.push(c),
        }
    }
    (head, true)
}

/// Whether `confirm` confirms a change by `pattern` that previewed first: `true` (or the text
/// `true`, or the pattern itself) for a pattern, the text `all_text` for one matching everything.
pub fn confirmed(pattern: &str, confirm: Option<&serde_json::Value>, all_text: &str) -> bool {
    let everything = matches_everything(pattern);
    match confirm {
        Some(serde_json::Value::String(s)) if everything => s.trim().eq_ignore_ascii_case(all_text),
        Some(serde_json::Value::Bool(true)) => !everything,
        Some(serde_json::Value::String(s)) => s == "true" || s == pattern,
        _ => false,
    }
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn many_wildcards_are_refused_before_redis_sees_them() {
        assert!(validate_pattern("cache:{ds:*}:m:*:p:*:prov:*:freq:*").is_ok());
        assert!(validate_pattern("*a*a*a*a*a*a*a*").is_ok(), "eight");
        let e = validate_pattern("*a*a*a*a*a*a*a*a*a*a*").unwrap_err();
        assert!(e.message.contains("11 wildcards"), "{}", e.message);
        assert!(validate_pattern("??????????").is_err());
        // Escaped characters are literal; a class counts once, whatever it holds.
        assert!(validate_pattern("\\*\\*\\*\\*\\*\\*\\*\\*\\*\\*").is_ok());
        assert!(validate_pattern("[*?*?*?*?*?]").is_ok());
    }

    #[test]
    fn the_literal_head_stops_at_the_first_wildcard() {
        assert_eq!(literal_head("cache:{ds:1}:*"), ("cache:{ds:1}:".to_string(), false));
        assert_eq!(literal_head("idx:\\*x?"), ("idx:*x".to_string(), false));
        assert_eq!(literal_head("session:abc"), ("session:abc".to_string(), true));
        assert_eq!(literal_head("[ci]ache:*"), (String::new(), false));
    }

    #[test]
    fn everything_needs_the_typed_text_and_a_pattern_needs_true() {
        use serde_json::json;
        assert!(confirmed("cache:*", Some(&json!(true)), "purge all"));
        assert!(confirmed("cache:*", Some(&json!("cache:*")), "purge all"));
        assert!(!confirmed("cache:*", None, "purge all"));
        assert!(!confirmed("*", Some(&json!(true)), "purge all"));
        assert!(confirmed("**", Some(&json!(" Purge All ")), "purge all"));
        assert!(!confirmed("*", Some(&json!("change all")), "purge all"));
    }
}
