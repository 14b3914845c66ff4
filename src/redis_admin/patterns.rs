//! Checks on what an admin types into the Redis tab: SCAN patterns and key names (a TTL is a
//! [`crate::model::input::Ttl`], checked when the request is read).

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
}
