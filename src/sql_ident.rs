//! SQL identifiers from configuration or the registry are checked against one strict pattern
//! and always double-quoted, so a source definition can never inject SQL.

/// `^[A-Za-z_][A-Za-z0-9_]*$`, at most 63 bytes (PostgreSQL's limit).
pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && s.len() <= 63
}

/// The identifier double-quoted; only call on names that passed [`is_identifier`].
pub fn quote(s: &str) -> String {
    debug_assert!(is_identifier(s));
    format!("\"{s}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_identifiers_pass() {
        for ok in ["ih", "agg_app_measures", "_x1", "Time_Period"] {
            assert!(is_identifier(ok), "{ok}");
        }
        for bad in ["", "1abc", "a-b", "a b", "x\"; drop table y; --", "é", &"a".repeat(64)] {
            assert!(!is_identifier(bad), "{bad}");
        }
    }
}
